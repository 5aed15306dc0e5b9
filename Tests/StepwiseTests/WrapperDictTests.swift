import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// OptimWrapperDict with a generator and a discriminator, as a GAN uses it.
final class WrapperDictTests: XCTestCase {
    let registry = WrapperFixtures.registry

    static let yaml = """
        constructor: MultiOptimWrapperConstructor
        generator:
          optimizer: {type: SGD, lr: 0.1, momentum: 0.9}
          accumulative_counts: 2
          paramwise_cfg: {custom_keys: {fc2: {lr_mult: 0.5}}}
        discriminator:
          type: AmpOptimWrapper
          dtype: bfloat16
          loss_scale: {init_scale: 64.0, growth_interval: 1}
          optimizer: {type: SGD, lr: 0.2}
        """

    static func params() -> [Parameter] {
        [Parameter(name: "generator.fc1.weight", shape: [2, 2], values: [1, 2, 3, 4]),
         Parameter(name: "generator.fc2.weight", shape: [2], values: [1, -1]),
         Parameter(name: "discriminator.fc1.weight", shape: [3], values: [0.5, 0.5, 0.5])]
    }

    func build(_ params: [Parameter] = params()) throws -> (OptimWrapperDict, [Parameter]) {
        let config = try WrapperFixtures.config(Self.yaml)
        XCTAssertTrue(OptimWrapperDict.isMultiWrapperConfig(config))
        return (try OptimWrapperDict(registry: registry, config: config, params: params), params)
    }

    func testEachWrapperOwnsItsSubModelWithItsOwnSettings() throws {
        let (dict, params) = try build()
        XCTAssertEqual(dict.keys, ["generator", "discriminator"])
        XCTAssertEqual(dict.count, 2)
        let g = try dict.wrapper("generator"), d = try dict.wrapper("discriminator")
        XCTAssertEqual(g.optimizer.params.map(\.name), ["generator.fc1.weight", "generator.fc2.weight"])
        XCTAssertEqual(d.optimizer.params.map(\.name), ["discriminator.fc1.weight"])
        XCTAssertEqual(g.typeName, "OptimWrapper")
        XCTAssertEqual(d.typeName, "AmpOptimWrapper")
        XCTAssertEqual(d.precision.dtype, .bfloat16)
        XCTAssertEqual(g.precision.dtype, .float32)
        // Paramwise keys see names relative to the sub-model ("fc2.weight").
        XCTAssertEqual(g.plan.reasons["generator.fc2.weight"], ["custom_keys['fc2']"])
        XCTAssertEqual(Array(dict.map(\.name)), ["generator", "discriminator"], "iteration in config order")
        XCTAssertTrue(dict.contains("generator"))
        XCTAssertNil(dict["critic"])
        XCTAssertThrowsError(try dict.wrapper("critic")) { XCTAssertTrue("\($0)".contains("holds generator, discriminator"), "\($0)") }
        _ = params
    }

    func testPrefixedLearningRatesAndMomenta() throws {
        let (dict, _) = try build()
        XCTAssertEqual(dict.getLR(), ["generator.lr": [0.1, 0.05], "generator.base_lr": [0.1], "discriminator.lr": [0.2]])
        XCTAssertEqual(dict.getMomentum(), ["generator.momentum": [0.9, 0.9], "discriminator.momentum": [0]])
        XCTAssertEqual(dict.paramGroups["generator"]?.count, 2)
    }

    func testIndependentSchedulesAccumulationAndScalers() throws {
        let (dict, params) = try build()
        let g = try dict.wrapper("generator"), d = try dict.wrapper("discriminator")
        // A scheduler driving the generator's groups leaves the discriminator alone.
        for values in g.scheduleValues.groups { values.setDouble(at: values.index(of: "lr") ?? 0, 0.01) }
        XCTAssertEqual(dict.getLR()["generator.lr"], [0.01, 0.01])
        XCTAssertEqual(dict.getLR()["discriminator.lr"], [0.2])

        let gParams = Array(params.prefix(2)), dParams = [params[2]]
        var gSteps: [Bool] = [], dScales: [Double] = []
        for _ in 0..<4 {
            let dr = try d.updateParams(loss: 0, backward: WrapperFixtures.backward(dParams, ["discriminator.fc1.weight": [1, 1, 1]]))
            XCTAssertEqual(dr.step?.stepped, true)
            dScales.append(d.lossScale)
            let gr = try g.updateParams(loss: 0, backward: WrapperFixtures.backward(gParams, ["generator.fc1.weight": [1, 1, 1, 1], "generator.fc2.weight": [1, 1]]))
            gSteps.append(gr.step != nil)
        }
        XCTAssertEqual(gSteps, [false, true, false, true], "the generator accumulates two iterations")
        XCTAssertEqual(dScales, [128, 256, 512, 1024], "the discriminator's scale grows every clean step")
        XCTAssertEqual(g.lossScale, 1)
        XCTAssertEqual(params[2].values, [0.5 - 0.8, 0.5 - 0.8, 0.5 - 0.8].map { Float($0) })
    }

    /// Each wrapper gets its own parameter schedulers (MMEngine's dict-of-lists
    /// param_scheduler for multiple optimizers): a linear warmup on the generator, a cosine
    /// decay on the discriminator, stepped every iteration, each touching only its wrapper.
    func testParamSchedulersDriveEachWrapperIndependently() throws {
        let (dict, params) = try build()
        let g = try dict.wrapper("generator"), d = try dict.wrapper("discriminator")
        let loop = ScheduleLoopShape(epochs: 1, itersPerEpoch: 8)
        func schedulers(_ w: OptimWrapper, _ yaml: String) throws -> ParamSchedulers {
            try ParamSchedulers(registry: registry, config: ScheduleConfig(dialect: .mmengine, schedulers: [try WrapperFixtures.config(yaml)]),
                                values: w.scheduleValues, loop: loop)
        }
        let gs = try schedulers(g, "{type: LinearLR, start_factor: 0.5, by_epoch: false, begin: 0, end: 4}")
        let ds = try schedulers(d, "{type: CosineAnnealingLR, T_max: 8, eta_min: 0.0, by_epoch: false, begin: 0, end: 8}")
        try gs.start()
        try ds.start()
        var gLR: [[Double]] = [], dLR: [Double] = []
        for it in 0..<8 {
            gLR.append(g.getLR()["lr"] ?? [])
            dLR.append(d.getLR()["lr"]?.first ?? .nan)
            try d.updateParams(loss: 0, backward: WrapperFixtures.backward([params[2]], ["discriminator.fc1.weight": [1, 1, 1]]))
            try g.updateParams(loss: 0, backward: WrapperFixtures.backward(Array(params.prefix(2)), ["generator.fc1.weight": [1, 1, 1, 1]]))
            try gs.afterIter(epoch: 0, iter: it)
            try ds.afterIter(epoch: 0, iter: it)
        }
        // Warmup of each group's own base (0.1, and 0.05 from custom_keys): MMEngine's LinearLR
        // reaches the end factor after end - begin - 1 = 3 steps.
        for (it, lrs) in gLR.enumerated() {
            let factor = 0.5 + 0.5 * Double(min(it, 3)) / 3
            XCTAssertEqual(lrs[0], 0.1 * factor, accuracy: 1e-12, "generator iter \(it)")
            XCTAssertEqual(lrs[1], 0.05 * factor, accuracy: 1e-12, "generator iter \(it)")
        }
        for (it, lr) in dLR.enumerated() {
            XCTAssertEqual(lr, 0.2 * (1 + cos(Double.pi * Double(it) / 8)) / 2, accuracy: 1e-12, "discriminator iter \(it)")
        }
        XCTAssertEqual(try dict.stateDict()["discriminator"]?.optimizer.groups.first?["lr"]?.double, dLR.last,
                       "the wrapper state holds the scheduled lr (the window ended at iteration 8)")
    }

    func testStateRoundTripOfEveryWrapper() throws {
        let (dict, params) = try build()
        for _ in 0..<3 {
            try dict.wrapper("generator").updateParams(loss: 0, backward: WrapperFixtures.backward(params, ["generator.fc1.weight": [1, 2, 3, 4]]))
            try dict.wrapper("discriminator").updateParams(loss: 0, backward: WrapperFixtures.backward(params, ["discriminator.fc1.weight": [1, 0, -1]]))
        }
        let state = try dict.stateDict()
        XCTAssertEqual(Set(state.keys), ["generator", "discriminator"])
        XCTAssertEqual(state["discriminator"]?.lossScale, 512)
        let (fresh, _) = try build()
        try fresh.loadStateDict(state)
        XCTAssertEqual(try fresh.stateDict(), state)
        XCTAssertEqual(try fresh.wrapper("discriminator").lossScale, 512)

        var unknown = state
        unknown["critic"] = state["generator"]
        XCTAssertThrowsError(try fresh.loadStateDict(unknown)) { XCTAssertTrue("\($0)".contains("cannot find 'critic'"), "\($0)") }
    }

    func testAmbiguousCallsAreRefusedWithWhatToDoInstead() throws {
        let (dict, params) = try build()
        let refusals: [(String, () throws -> Void)] = [
            ("updateParams", { _ = try dict.updateParams(loss: 0) { _ in } }),
            ("backward", { try dict.backward { _ in } }),
            ("step", { _ = try dict.step() }),
            ("optimContext", { _ = try dict.optimContext { _ in 0 } }),
        ]
        for (call, body) in refusals {
            XCTAssertThrowsError(try body(), call) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("`\(call)` should be called by each optimizer wrapper separately"), text)
                XCTAssertTrue(text.contains("optimWrappers[\"generator\"].\(call)"), text)
            }
        }
        params[0].setGrad([1, 1, 1, 1])
        params[2].setGrad([1, 1, 1])
        dict.zeroGrad()
        XCTAssertFalse(params[0].hasGrad)
        XCTAssertFalse(params[2].hasGrad)
        dict.initializeCountStatus(maxCounts: 10)
        XCTAssertNil(try dict.wrapper("generator").maxCounts, "as MMEngine's: each wrapper is initialized separately")
    }

    func testConfigErrors() throws {
        XCTAssertThrowsError(try OptimWrapperDict(registry: registry, config: try WrapperFixtures.config(
            "{generator: {optimizer: {type: SGD}}, critic: {optimizer: {type: SGD}}}"), params: Self.params())) { error in
            XCTAssertTrue("\(error)".contains("'critic' matches no parameter named 'critic.*'"), "\(error)")
            XCTAssertTrue("\(error)".contains("discriminator, generator"), "\(error)")
        }
        XCTAssertThrowsError(try OptimWrapperDict(registry: registry, config: try WrapperFixtures.config(
            "{generator: {optimizer: {type: SGD, lr: -1}}}"), params: Self.params())) { error in
            XCTAssertTrue("\(error)".contains("optim_wrapper 'generator'"), "\(error)")
        }
        XCTAssertFalse(OptimWrapperDict.isMultiWrapperConfig(try WrapperFixtures.config("{optimizer: {type: SGD}}")))
        XCTAssertFalse(OptimWrapperDict.isMultiWrapperConfig(try WrapperFixtures.config("{type: OptimWrapper, optimizer: {type: SGD}}")))
        XCTAssertThrowsError(try OptimWrapperDict([("g", try OptimWrapper(registry: registry, config: try WrapperFixtures.config("{optimizer: {type: SGD}}"), params: [])),
                                                   ("g", try OptimWrapper(registry: registry, config: try WrapperFixtures.config("{optimizer: {type: SGD}}"), params: []))]))
    }
}
