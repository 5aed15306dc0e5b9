import XCTest
import StepwiseABI
@testable import Stepwise

/// One optimization written three ways — an MMEngine `.py`, an MMCV 1.x `.py` and a YAML
/// file (configs/examples/equivalent) — builds the same wrapper and param groups, and,
/// driven by identical gradients through the runner, gives the same lr and momentum at
/// every iteration and the same parameters, bit for bit.
final class ConfigEquivalenceTests: XCTestCase {
    let registry = ConfigBuildFixtures.registry

    /// What a run did: per iteration, every wrapper's per-group lr and momentum as the
    /// step used them; the final parameters' bits; the gradient norms the clip saw.
    struct Trace: Equatable {
        var lr: [[Double]] = []
        var momentum: [[Double]] = []
        var steps = 0
        var gradNorms: [Double] = []
        var paramBits: [[UInt32]] = []
    }

    static let spec = "backbone.conv1.weight:4x3,backbone.bn1.weight:4:norm,backbone.bn1.bias:4:norm,"
        + "head.fc.weight:2x4,head.fc.bias:2"

    /// Parameters with the same starting values for every run.
    static func parameters() throws -> [Parameter] {
        try ParamSpec.parseList(spec).enumerated().map { k, s in
            let n = s.shape.reduce(1, *)
            return Parameter(name: s.name, shape: s.shape, tag: s.tag,
                             values: (0..<n).map { Float(sin(Double(k * 31 + $0) * 0.7)) * 0.5 })
        }
    }

    /// A fixed pseudo-random gradient per (iteration, parameter, element), large enough
    /// for a clip at norm 1 to bite.
    static func gradient(iter: Int, param: Int, count: Int) -> [Float] {
        (0..<count).map { i in
            var z = UInt64(iter &* 1_000_003 &+ param &* 10_007 &+ i) &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Float(Double(z % 2001) / 1000 - 1) * 0.6
        }
    }

    func run(_ name: String, itersPerEpoch: Int = 5) throws -> (ConfigBuild, Trace) {
        let config = try ConfigLoader.load(path: ConfigBuildFixtures.example("equivalent/\(name)"))
        let params = try Self.parameters()
        let build = try ConfigBuild.build(config: config, registry: registry, params: params,
                                          options: .init(itersPerEpoch: itersPerEpoch))
        let runner = try build.makeRunner(workDir: NSTemporaryDirectory())
        var trace = Trace()
        let wrapper = try XCTUnwrap(build.optimWrapper.wrappers.first?.wrapper)
        runner.trainStep = { r in
            trace.lr.append(wrapper.paramGroups.map { $0.get(role: STEPWISE_ROLE_LR) ?? .nan })
            trace.momentum.append(wrapper.paramGroups.map { $0.get(role: STEPWISE_ROLE_MOMENTUM) ?? .nan })
            let report = try wrapper.updateParams(loss: 1) { factor in
                for (k, p) in params.enumerated() {
                    let g = Self.gradient(iter: r.iter, param: k, count: p.count)
                    g.withUnsafeBufferPointer { p.accumulateGrad($0, factor: Float(factor)) }
                }
            }
            if let step = report.step {
                trace.steps += 1
                if let norm = step.gradNorm { trace.gradNorms.append(norm) }
            }
            return []
        }
        try runner.run()
        trace.paramBits = params.map { $0.values.map(\.bitPattern) }
        return (build, trace)
    }

    /// The same wrapper type, optimizer type, groups (members and every hyperparameter)
    /// and wrapper settings.
    func assertSameComponents(_ a: ConfigBuild, _ b: ConfigBuild, _ what: String) throws {
        let wa = try XCTUnwrap(a.optimWrapper.wrappers.first?.wrapper)
        let wb = try XCTUnwrap(b.optimWrapper.wrappers.first?.wrapper)
        XCTAssertEqual(wa.typeName, wb.typeName, what)
        XCTAssertEqual(wa.optimizer.component.typeName, wb.optimizer.component.typeName, what)
        XCTAssertEqual(wa.values.values, wb.values.values, "wrapper settings: \(what)")
        XCTAssertEqual(wa.paramGroups.map { $0.params.map(\.name) }, wb.paramGroups.map { $0.params.map(\.name) }, what)
        XCTAssertEqual(wa.paramGroups.map(\.values.values), wb.paramGroups.map(\.values.values), "group hyperparameters: \(what)")
        XCTAssertEqual(a.maxIters, b.maxIters, what)
    }

    func assertEquivalent(_ stem: String, file: StaticString = #filePath, line: UInt = #line) throws -> Trace {
        let (engine, reference) = try run("\(stem).mmengine.py")
        XCTAssertGreaterThan(reference.steps, 0, stem, file: file, line: line)
        for other in ["\(stem).mmcv.py", "\(stem).yaml"] {
            let (build, trace) = try run(other)
            try assertSameComponents(engine, build, other)
            XCTAssertEqual(trace.lr, reference.lr, "lr per iteration: \(other)", file: file, line: line)
            XCTAssertEqual(trace.momentum, reference.momentum, "momentum per iteration: \(other)", file: file, line: line)
            XCTAssertEqual(trace.steps, reference.steps, "optimizer steps: \(other)", file: file, line: line)
            XCTAssertEqual(trace.gradNorms, reference.gradNorms, "clipped norms: \(other)", file: file, line: line)
            XCTAssertEqual(trace.paramBits, reference.paramBits, "parameters, bit for bit: \(other)", file: file, line: line)
        }
        let initial = try Self.parameters().map { $0.values.map(\.bitPattern) }
        XCTAssertNotEqual(reference.paramBits, initial, "the run must move the parameters", file: file, line: line)
        return reference
    }

    func testSGDWithClippingWarmupAndSteps() throws {
        let t = try assertEquivalent("sgd_clip_step")
        XCTAssertEqual(t.lr.count, 20)
        XCTAssertEqual(t.steps, 20)
        // groups: weights (0.08), the plain bias (x2 lr), the norm's bias (no bias_lr_mult).
        let weights = t.lr.map { $0[0] }
        XCTAssertEqual(Array(weights[0..<3]), [0.02, 0.02, 0.02], "constant warmup at a quarter")
        XCTAssertEqual(Array(weights[3..<10]), Array(repeating: 0.08, count: 7))
        XCTAssertEqual(Array(weights[10..<15]), Array(repeating: 0.04, count: 5), "halved after epoch 2")
        XCTAssertEqual(Array(weights[15..<20]), Array(repeating: 0.02, count: 5), "halved again after epoch 3")
        XCTAssertEqual(t.lr[5].sorted(), [0.08, 0.08, 0.16])
        XCTAssertTrue(t.gradNorms.contains { $0 > 1 }, "the clip must have something to clip")
    }

    func testAdamWWithAccumulationAndMomentumSchedule() throws {
        let t = try assertEquivalent("adamw_accumulate_exp")
        XCTAssertEqual(t.steps, 8, "7 windows of 2 and a last one of 1 over 15 iterations")
        XCTAssertEqual(t.lr.map { $0[0] }, [0.004, 0.004, 0.004, 0.004, 0.004, 0.002, 0.002, 0.002, 0.002, 0.002,
                                            0.001, 0.001, 0.001, 0.001, 0.001])
        XCTAssertEqual(t.momentum.map { $0[0] }, Array(repeating: 0.9, count: 10) + Array(repeating: 0.45, count: 5))
    }

    func testLARSWithMixedPrecisionAccumulationIterationBased() throws {
        let t = try assertEquivalent("lars_fp16_iter")
        XCTAssertEqual(t.steps, 6)
        XCTAssertEqual(t.lr.map { $0[0] }, Array(repeating: 0.3, count: 6) + Array(repeating: 0.15, count: 3)
                       + Array(repeating: 0.075, count: 3))
    }

    /// The comparison must be able to fail: a different gamma changes both the lrs and
    /// the parameters.
    func testADifferentScheduleIsNotEquivalent() throws {
        let (_, reference) = try run("sgd_clip_step.mmengine.py")
        var config = try ConfigLoader.load(path: ConfigBuildFixtures.example("equivalent/sgd_clip_step.mmcv.py"))
        config = try ConfigLoader.applying(overrides: ["lr_config.gamma=0.25"], to: config)
        let params = try Self.parameters()
        let build = try ConfigBuild.build(config: config, registry: registry, params: params, options: .init(itersPerEpoch: 5))
        let runner = try build.makeRunner(workDir: NSTemporaryDirectory())
        let wrapper = try XCTUnwrap(build.optimWrapper.wrappers.first?.wrapper)
        var lr: [[Double]] = []
        runner.trainStep = { r in
            lr.append(wrapper.paramGroups.map { $0.get(role: STEPWISE_ROLE_LR) ?? .nan })
            try wrapper.updateParams(loss: 1) { factor in
                for (k, p) in params.enumerated() {
                    Self.gradient(iter: r.iter, param: k, count: p.count).withUnsafeBufferPointer { p.accumulateGrad($0, factor: Float(factor)) }
                }
            }
            return []
        }
        try runner.run()
        XCTAssertNotEqual(lr, reference.lr)
        XCTAssertNotEqual(params.map { $0.values.map(\.bitPattern) }, reference.paramBits)
    }
}
