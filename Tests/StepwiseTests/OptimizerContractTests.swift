import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// The contract every registered optimizer keeps, walked over one table: a sane schema,
/// defaults that build, each documented bad hyperparameter refused with a message naming
/// it, state saved and loaded mid-run continuing bit for bit, and a small quadratic solved.
/// A new optimizer gets every test by adding one row. The SDK's example plugin (Signum,
/// sdk/examples/signum.c, built here with cc) is held to the same contract.
final class OptimizerContractTests: XCTestCase {
    static let registry: PluginRegistry = {
        let dir = PluginBuilder.folder()
        let path = try! PluginBuilder.build(sourcePath: PluginBuilder.root.appendingPathComponent("sdk/examples/signum.c").path,
                                            into: dir, name: "libsignum.so")
        return PluginRegistry.load(.init(includeEnvironment: false, files: [path]))
    }()

    struct Row {
        var type: String
        /// Keys a config must give (no default), added to every config of the row.
        var required: [String: ConfigValue] = [:]
        /// A config that solves the quadratic in `steps` steps.
        var solve: [String: ConfigValue]
        var steps = 300
        /// Bad values and a piece of the message each must produce.
        var bad: [(String, ConfigValue, String)]
    }

    static let lrBad: (String, ConfigValue, String) = ("lr", .float(-1), "Invalid learning rate: -1.0")
    static let betaBad: (String, ConfigValue, String) = ("betas", .list([.float(0.9), .float(1)]),
                                                         "Invalid beta parameter at index 1: 1.0")
    static let beta0Bad: (String, ConfigValue, String) = ("betas", .list([.float(-0.1), .float(0.9)]),
                                                          "Invalid beta parameter at index 0: -0.1")
    static let epsBad: (String, ConfigValue, String) = ("eps", .float(-1), "Invalid epsilon value: -1.0")
    static let wdBad: (String, ConfigValue, String) = ("weight_decay", .float(-1), "Invalid weight_decay value: -1.0")
    static let nesterovBad: (String, ConfigValue, String) = ("nesterov", .bool(true),
                                                             "Nesterov momentum requires a momentum and zero dampening")

    static let table: [Row] = [
        Row(type: "SGD", solve: ["lr": .float(0.1), "momentum": .float(0.9)],
            bad: [lrBad, ("momentum", .float(-0.5), "Invalid momentum value: -0.5"), wdBad, nesterovBad]),
        Row(type: "Adam", solve: ["lr": .float(0.05)], bad: [lrBad, betaBad, beta0Bad, epsBad, wdBad]),
        Row(type: "AdamW", solve: ["lr": .float(0.05), "weight_decay": .float(0), "amsgrad": .bool(true)],
            bad: [lrBad, betaBad, epsBad, wdBad]),
        Row(type: "Adamax", solve: ["lr": .float(0.05)], bad: [lrBad, betaBad, epsBad, wdBad]),
        Row(type: "NAdam", solve: ["lr": .float(0.05)],
            bad: [lrBad, betaBad, epsBad, wdBad, ("momentum_decay", .float(-1), "Invalid momentum_decay value: -1.0")]),
        Row(type: "RAdam", solve: ["lr": .float(0.05)], bad: [lrBad, betaBad, epsBad, wdBad]),
        Row(type: "Adagrad", solve: ["lr": .float(0.5)],
            bad: [lrBad, epsBad, wdBad, ("lr_decay", .float(-1), "Invalid lr_decay value: -1.0"),
                  ("initial_accumulator_value", .float(-1), "Invalid initial_accumulator_value value: -1.0")]),
        Row(type: "Adadelta", solve: ["lr": .float(10)], steps: 600,
            bad: [lrBad, epsBad, wdBad, ("rho", .float(1.5), "Invalid rho value: 1.5")]),
        Row(type: "RMSprop", solve: ["lr": .float(0.01), "centered": .bool(true), "momentum": .float(0.5)],
            bad: [lrBad, epsBad, wdBad, ("alpha", .float(-1), "Invalid alpha value: -1.0"),
                  ("momentum", .float(-1), "Invalid momentum value: -1.0")]),
        Row(type: "Rprop", solve: ["lr": .float(0.01)],
            bad: [lrBad, ("etas", .list([.float(1.5), .float(2)]), "Invalid eta values: 1.5, 2.0")]),
        Row(type: "ASGD", solve: ["lr": .float(0.2), "t0": .float(50)],
            bad: [lrBad, wdBad, ("lambd", .float(-1), "Invalid lambd value: -1.0"),
                  ("alpha", .float(-1), "Invalid alpha value: -1.0")]),
        Row(type: "Adafactor", solve: ["lr": .float(0.1)], steps: 400,
            bad: [lrBad, wdBad, ("beta2_decay", .float(0.5), "Invalid beta2_decay value: 0.5"),
                  ("d", .float(0.5), "Invalid clipping threshold d: 0.5"),
                  ("eps", .list([.null, .float(-1)]), "epsilon2 should be >= 0")]),
        Row(type: "LBFGS", solve: ["lr": .float(1), "line_search_fn": .string("strong_wolfe")], steps: 20,
            bad: [lrBad, ("history_size", .int(0), "Invalid history_size value: 0"),
                  ("line_search_fn", .string("armijo"), "must be one of 'strong_wolfe'")]),
        Row(type: "LARS", required: ["lr": .float(0.1)],
            solve: ["lr": .float(1), "momentum": .float(0.9), "eta": .float(0.02)],
            bad: [lrBad, wdBad, nesterovBad, ("eta", .float(-1), "Invalid LARS coefficient value: -1.0"),
                  ("momentum", .float(-1), "Invalid momentum value: -1.0")]),
        Row(type: "LAMB", solve: ["lr": .float(0.02), "weight_decay": .float(0), "always_adapt": .bool(true)],
            bad: [lrBad, betaBad, epsBad, wdBad, ("max_grad_norm", .float(0), "Invalid max_grad_norm value: 0.0")]),
        Row(type: "Lion", solve: ["lr": .float(0.02)], bad: [lrBad, betaBad, beta0Bad, wdBad]),
        Row(type: "Signum", solve: ["lr": .float(0.02)],
            bad: [lrBad, wdBad, ("momentum", .float(1), "Invalid momentum value: 1.0")]),
    ]

    func config(_ row: Row, _ extra: [String: ConfigValue] = [:]) -> ConfigDict {
        var c = ConfigDict(["type": .string(row.type)])
        for (k, v) in row.required.sorted(by: { $0.key < $1.key }) { c[k] = v }
        for (k, v) in extra.sorted(by: { $0.key < $1.key }) { c[k] = v }
        return c
    }

    /// A weight matrix, a bias vector and a 3-d tensor (Adafactor factors the first and last).
    func makeParams() -> [Parameter] {
        [Parameter(name: "w", shape: [4, 3], values: (0..<12).map { Float($0 % 5) * 0.3 - 0.6 }),
         Parameter(name: "b", shape: [3], tag: STEPWISE_PARAM_BIAS, values: [0.5, -0.25, 1]),
         Parameter(name: "v", shape: [2, 2, 2], values: (0..<8).map { Float($0) * 0.2 - 0.7 })]
    }

    /// ½ Σ c_i (θ_i − t_i)² with c_i in [0.5, 2]; writes the gradient, returns the loss.
    @discardableResult
    func quadratic(_ params: [Parameter]) -> Double {
        var loss = 0.0
        var k = 0
        for p in params {
            var g = [Float](repeating: 0, count: p.count)
            for i in 0..<p.count {
                let c = Float(0.5 + 1.5 * Double((k * 7) % 11) / 10), t = Float((k * 3) % 7) * 0.25 - 0.75
                let r = p.data[i] - t
                g[i] = c * r
                loss += 0.5 * Double(c * r * r)
                k += 1
            }
            p.setGrad(g)
        }
        return loss
    }

    /// Deterministic pseudo-gradients for step `k`; "b" has none on every third step.
    func feed(_ params: [Parameter], step k: Int) {
        for (j, p) in params.enumerated() {
            if p.name == "b" && k % 3 == 2 { p.hasGrad = false; continue }
            p.setGrad((0..<p.count).map { i in Float(sin(Double(i * 13 + j * 7 + k * 31))) })
        }
    }

    func step(_ o: Optimizer, _ params: [Parameter], _ k: Int) throws {
        if o.needsClosure {
            try o.step { self.quadratic(params) }
        } else {
            feed(params, step: k)
            try o.step()
        }
    }

    func testEveryRegisteredOptimizerHasARow() {
        let registered = Set(Self.registry.components(kind: .optimizer).map(\.typeName))
        XCTAssertEqual(registered, Set(Self.table.map(\.type)))
    }

    func testSchemasAreSane() throws {
        for row in Self.table {
            let c = try Self.registry.component(.optimizer, type: row.type)
            XCTAssertFalse(c.summary.isEmpty, row.type)
            XCTAssertFalse(c.reference.isEmpty, row.type)
            let names = c.hyperparams.map(\.name)
            XCTAssertEqual(Set(names).count, names.count, "\(row.type): duplicate keys")
            XCTAssertEqual(c.hyperparams.filter { $0.role == STEPWISE_ROLE_LR }.map(\.name), ["lr"], row.type)
            XCTAssertLessThanOrEqual(c.hyperparams.filter { $0.role == STEPWISE_ROLE_MOMENTUM }.count, 1, row.type)
            for h in c.hyperparams {
                XCTAssertFalse(h.doc.isEmpty, "\(row.type).\(h.name) has no doc")
                if ["foreach", "fused", "capturable", "differentiable"].contains(h.name) {
                    XCTAssertTrue(h.hasNoEffect, "\(row.type).\(h.name) should be documented as having no effect")
                }
            }
            let api = try XCTUnwrap(c.optimizerAPI, row.type)
            let slots = (0..<Int(api.pointee.slot_count)).map { String(cString: api.pointee.slots[$0]!.pointee.name) }
            XCTAssertEqual(Set(slots).count, slots.count, "\(row.type): duplicate slots")
        }
    }

    func testDefaultsBuildAndKernelSelectorsAreAccepted() throws {
        for row in Self.table {
            XCTAssertNoThrow(try Optimizer(registry: Self.registry, config: config(row), params: makeParams()), row.type)
            let c = try Self.registry.component(.optimizer, type: row.type)
            let selectors = c.hyperparams.filter(\.hasNoEffect).map(\.name)
            var extra: [String: ConfigValue] = [:]
            for s in selectors { extra[s] = s == "foreach" ? .bool(true) : .bool(false) }
            XCTAssertNoThrow(try Optimizer(registry: Self.registry, config: config(row, extra), params: makeParams()), row.type)
            XCTAssertThrowsError(try Optimizer(registry: Self.registry, config: config(row, ["warmup": .int(3)]),
                                               params: makeParams()), row.type) { error in
                XCTAssertTrue("\(error)".contains("unknown key 'warmup'"), "\(error)")
            }
        }
    }

    func testBadHyperparametersAreRefusedByName() {
        for row in Self.table {
            for (key, value, message) in row.bad {
                XCTAssertThrowsError(try Optimizer(registry: Self.registry, config: config(row, [key: value]),
                                                   params: makeParams()), "\(row.type).\(key)") { error in
                    let text = "\(error)"
                    XCTAssertTrue(text.contains(message), "\(row.type).\(key): \(text)")
                    XCTAssertTrue(text.contains(key) || text.lowercased().contains(key.lowercased().replacingOccurrences(of: "_", with: " ")),
                                  "\(row.type): message does not name \(key): \(text)")
                }
            }
            if row.type == "LARS" {
                XCTAssertThrowsError(try Optimizer(registry: Self.registry, config: ConfigDict(["type": .string("LARS")]),
                                                   params: [])) { XCTAssertTrue("\($0)".contains("missing required key 'lr'"), "\($0)") }
            }
        }
    }

    func testStateSavedAndLoadedMidRunContinuesBitForBit() throws {
        for row in Self.table {
            let cfg = config(row, row.solve)
            let a = makeParams()
            let first = try Optimizer(registry: Self.registry, config: cfg, params: a)
            for k in 0..<4 { try step(first, a, k) }
            let saved = try first.stateDict()

            let b = makeParams()
            for (p, q) in zip(a, b) { _ = q.data.initialize(from: p.values) }
            let second = try Optimizer(registry: Self.registry, config: cfg, params: b)
            try second.loadStateDict(saved, extraChunk: 3)
            for k in 4..<8 {
                try step(first, a, k)
                try step(second, b, k)
            }
            for (p, q) in zip(a, b) {
                XCTAssertEqual(p.values.map(\.bitPattern), q.values.map(\.bitPattern), "\(row.type): \(p.name) differs after reload")
            }
            XCTAssertEqual(try first.stateDict(), try second.stateDict(), row.type)
        }
    }

    func testQuadraticConverges() throws {
        for row in Self.table {
            let params = makeParams()
            let o = try Optimizer(registry: Self.registry, config: config(row, row.solve), params: params)
            let start = quadratic(params)
            for _ in 0..<row.steps {
                if o.needsClosure { try o.step { self.quadratic(params) } } else { quadratic(params); try o.step() }
            }
            let end = quadratic(params)
            XCTAssertLessThan(end, start * 1e-2, "\(row.type): loss \(start) -> \(end) after \(row.steps) steps")
        }
    }
}
