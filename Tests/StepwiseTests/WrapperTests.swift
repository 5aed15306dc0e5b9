import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// Shared by the wrapper and paramwise tests.
enum WrapperFixtures {
    static let registry = PluginRegistry.load(.init(includeEnvironment: false))

    static func config(_ text: String) throws -> ConfigDict {
        try ConfigLoader.parse(string: text, format: .yaml, origin: "test.yaml")
    }

    /// `w` [2, 3] and `b` [3] with fixed values.
    static func params() -> [Parameter] {
        [Parameter(name: "w", shape: [2, 3], values: [0.5, -1, 2, 0.25, 1.5, -0.75]),
         Parameter(name: "b", shape: [3], tag: STEPWISE_PARAM_BIAS, values: [0.1, -0.2, 0.3])]
    }

    /// Adds `factor * g` to every parameter's gradient (the backward of sum(p * g)).
    static func backward(_ params: [Parameter], _ grads: [String: [Float]]) -> (Double) -> Void {
        { factor in
            for p in params {
                guard let g = grads[p.name] else { continue }
                g.withUnsafeBufferPointer { p.accumulateGrad($0, factor: Float(factor)) }
            }
        }
    }

    static func values(_ params: [Parameter]) -> [[Float]] { params.map(\.values) }
}

final class WrapperTests: XCTestCase {
    let registry = WrapperFixtures.registry

    func wrapper(_ yaml: String, params: [Parameter] = WrapperFixtures.params()) throws -> (OptimWrapper, [Parameter]) {
        try wrapper(config: try WrapperFixtures.config(yaml), params: params)
    }

    func wrapper(config: ConfigDict, params: [Parameter] = WrapperFixtures.params()) throws -> (OptimWrapper, [Parameter]) {
        (try OptimWrapper(registry: registry, config: config, params: params), params)
    }

    // MARK: Accumulation

    func testAccumulationFactorsAndUpdatesFollowMMEngineIncludingTheShortLastWindow() throws {
        // (accumulative_counts, max_iters or nil, loss divisor per iteration, update iterations)
        let table: [(Int, Int?, [Int], Set<Int>)] = [
            (1, 5, [1, 1, 1, 1, 1], [0, 1, 2, 3, 4]),
            (3, 10, [3, 3, 3, 3, 3, 3, 3, 3, 3, 1], [2, 5, 8, 9]),
            (4, 10, [4, 4, 4, 4, 4, 4, 4, 4, 2, 2], [3, 7, 9]),
            (2, 8, [2, 2, 2, 2, 2, 2, 2, 2], [1, 3, 5, 7]),
            (3, nil, [3, 3, 3, 3, 3, 3, 3], [2, 5]),
        ]
        for (k, maxIters, divisors, updates) in table {
            let (w, params) = try wrapper("{type: OptimWrapper, accumulative_counts: \(k), optimizer: {type: SGD, lr: 0.1}}")
            if let maxIters { try w.initializeCountStatus(maxCounts: maxIters) }
            for (i, d) in divisors.enumerated() {
                XCTAssertEqual(w.shouldSync(), updates.contains(i), "k=\(k) iter \(i) should_sync")
                let report = try w.updateParams(loss: 1, backward: WrapperFixtures.backward(params, ["w": [1, 1, 1, 1, 1, 1]]))
                XCTAssertEqual(report.lossFactor, 1 / Double(d), "k=\(k) max=\(String(describing: maxIters)) iter \(i)")
                XCTAssertEqual(report.step != nil, updates.contains(i), "k=\(k) iter \(i) update")
            }
        }
    }

    func testAccumulatedGradientIsTheAverageOfTheWindow() throws {
        let (w, params) = try wrapper("{optimizer: {type: SGD, lr: 1.0}, accumulative_counts: 2}")
        try w.initializeCountStatus(maxCounts: 2)
        let before = params[0].values
        try w.updateParams(loss: 0, backward: WrapperFixtures.backward(params, ["w": [2, 2, 2, 2, 2, 2]]))
        XCTAssertEqual(params[0].values, before, "no step inside the window")
        XCTAssertEqual(params[0].grad[0], 1, "first half of the average")
        try w.updateParams(loss: 0, backward: WrapperFixtures.backward(params, ["w": [4, 4, 4, 4, 4, 4]]))
        XCTAssertEqual(params[0].values, before.map { $0 - 3 }, "lr 1 times the mean gradient 3")
        XCTAssertFalse(params[0].hasGrad, "zero_grad after the step")
        XCTAssertFalse(params[1].hasGrad)
    }

    func testManualBackwardStepZeroGradMatchesUpdateParams() throws {
        let grads: [[String: [Float]]] = [["w": [1, 2, 3, 4, 5, 6], "b": [1, 0, -1]], ["w": [-1, 0, 1, 0, -1, 0]]]
        let (a, pa) = try wrapper("{optimizer: {type: SGD, lr: 0.1, momentum: 0.9}}")
        let (b, pb) = try wrapper("{optimizer: {type: SGD, lr: 0.1, momentum: 0.9}}")
        for g in grads {
            try a.updateParams(loss: 0, backward: WrapperFixtures.backward(pa, g))
            b.backward(WrapperFixtures.backward(pb, g))
            XCTAssertTrue(b.shouldUpdate())
            try b.step()
            b.zeroGrad()
        }
        XCTAssertEqual(WrapperFixtures.values(pa), WrapperFixtures.values(pb))
        XCTAssertEqual(a.innerCount, 2)
        XCTAssertEqual(b.innerCount, 2)
    }

    // MARK: Clipping

    /// torch's clip_grad_norm_ computed here in double from the definition.
    static func referenceNorm(_ grads: [[Float]], _ p: Double) -> Float {
        func norm(_ xs: [Double]) -> Double {
            switch p {
            case .infinity: return xs.map(abs).max() ?? 0
            case -.infinity: return xs.map(abs).min() ?? 0
            case 0: return Double(xs.filter { $0 != 0 }.count)
            default: return pow(xs.map { pow(abs($0), p) }.reduce(0, +), 1 / p)
            }
        }
        let perTensor = grads.map { Double(Float(norm($0.map(Double.init)))) }
        return Float(norm(perTensor))
    }

    func testClipByNormForEveryNormTypeReturnsTheTotalNormAndScales() throws {
        let g: [String: [Float]] = ["w": [3, -4, 0, 1, 2, -2], "b": [0.5, 0, -6]]
        for (normType, text) in [(2.0, "2"), (1.0, "1"), (3.0, "3"), (.infinity, "inf"), (-.infinity, "-inf"), (0.0, "0")] {
            let maxNorm = 1.5
            let (w, params) = try wrapper("{optimizer: {type: SGD, lr: 1.0}, clip_grad: {max_norm: \(maxNorm), norm_type: '\(text)'}}")
            let before = WrapperFixtures.values(params)
            let report = try w.updateParams(loss: 0, backward: WrapperFixtures.backward(params, g))
            let want = Self.referenceNorm([g["w"]!, g["b"]!], normType)
            let got = try XCTUnwrap(report.step?.gradNorm, "norm_type \(text)")
            XCTAssertEqual(Float(got), want, accuracy: want * 1e-6, "norm_type \(text)")
            let coef = min((1 / (want + Float(1e-6))) * Float(maxNorm), 1)
            for (k, p) in params.enumerated() {
                for i in 0..<p.count {
                    XCTAssertEqual(p.data[i], before[k][i] - coef * g[p.name]![i], accuracy: 1e-5, "norm_type \(text) \(p.name)[\(i)]")
                }
            }
        }
    }

    func testClipNormOfLargeTensorsMatchesADoubleReference() throws {
        // Large enough for the blocked and the multi-threaded reduction paths.
        let sizes = [5_003, 300_017]
        let params = sizes.enumerated().map { Parameter(name: "p\($0.offset)", shape: [$0.element]) }
        let grads = sizes.enumerated().map { k, n in (0..<n).map { Float(sin(Double($0 * (k + 3)))) * 0.01 } }
        for (normType, text) in [(2.0, "2"), (1.0, "1"), (.infinity, "inf")] {
            let w = try OptimWrapper(registry: registry, config: try WrapperFixtures.config(
                "{optimizer: {type: SGD, lr: 0.0}, clip_grad: {max_norm: 0.5, norm_type: '\(text)'}}"), params: params)
            let report = try w.updateParams(loss: 0) { f in
                for (p, g) in zip(params, grads) { g.withUnsafeBufferPointer { p.accumulateGrad($0, factor: Float(f)) } }
            }
            let want = Double(Self.referenceNorm(grads, normType))
            XCTAssertEqual(try XCTUnwrap(report.step?.gradNorm), want, accuracy: want * 2e-6, "norm_type \(text)")
        }
    }

    func testClipByValueClampsAndKeepsNaN() throws {
        let (w, params) = try wrapper("{optimizer: {type: SGD, lr: 1.0}, nonfinite: ignore, clip_grad: {type: value, clip_value: 0.5}}")
        let before = WrapperFixtures.values(params)
        let g: [Float] = [2, -3, 0.25, -0.5, .nan, 0.75]
        let report = try w.updateParams(loss: 0, backward: WrapperFixtures.backward(params, ["w": g]))
        XCTAssertNil(report.step?.gradNorm, "clip by value reports no norm")
        let clamped: [Float] = [0.5, -0.5, 0.25, -0.5, .nan, 0.5]
        for i in 0..<6 {
            if clamped[i].isNaN { XCTAssertTrue(params[0].data[i].isNaN) } else { XCTAssertEqual(params[0].data[i], before[0][i] - clamped[i]) }
        }
    }

    func testClipNormSkipsWhenNoParameterHasAGradient() throws {
        let (w, _) = try wrapper("{optimizer: {type: SGD, lr: 1.0}, clip_grad: {max_norm: 1.0}}")
        let report = try w.updateParams(loss: 0) { _ in }
        XCTAssertEqual(report.step?.stepped, true)
        XCTAssertNil(report.step?.gradNorm)
    }

    // MARK: Non-finite gradients on the plain OptimWrapper

    func testNonFinitePoliciesOfThePlainWrapper() throws {
        // (policy, steps?, reports non-finite?, parameters change?)
        let table: [(String, Bool, Bool, Bool)] = [
            ("warn", true, true, true),
            ("skip", false, true, false),
            ("ignore", true, false, true),
        ]
        for (policy, steps, reports, changes) in table {
            let (w, params) = try wrapper("{optimizer: {type: SGD, lr: 0.1}, nonfinite: \(policy)}")
            let before = WrapperFixtures.values(params)
            let report = try w.updateParams(loss: 1, backward: WrapperFixtures.backward(params, ["w": [1, .infinity, 1, 1, 1, 1], "b": [1, 1, 1]]))
            XCTAssertEqual(report.step?.stepped, steps, policy)
            XCTAssertEqual(report.step?.foundNonFinite, reports, policy)
            XCTAssertEqual(WrapperFixtures.values(params) != before, changes, policy)
            XCTAssertFalse(params[0].hasGrad, "\(policy): gradients are zeroed either way")
            XCTAssertEqual(w.nonFiniteSteps, reports ? 1 : 0, policy)
        }
        let (w, params) = try wrapper("{optimizer: {type: SGD, lr: 0.1}, nonfinite: error}")
        let before = WrapperFixtures.values(params)
        XCTAssertThrowsError(try w.updateParams(loss: 1, backward: WrapperFixtures.backward(params, ["b": [.nan, 1, 1]]))) { error in
            XCTAssertTrue("\(error)".contains("NaN or infinity"), "\(error)")
        }
        XCTAssertEqual(WrapperFixtures.values(params), before)
    }

    func testDefaultPolicyIsWarnAndANonFiniteLossSkipsUnderSkip() throws {
        let (w, _) = try wrapper("{optimizer: {type: SGD, lr: 0.1}}")
        XCTAssertEqual(w.nonFinitePolicy, "warn")
        let (s, params) = try wrapper("{optimizer: {type: SGD, lr: 0.1}, nonfinite: skip}")
        let before = WrapperFixtures.values(params)
        let report = try s.updateParams(loss: .nan, backward: WrapperFixtures.backward(params, ["w": [1, 1, 1, 1, 1, 1]]))
        XCTAssertEqual(report.step?.stepped, false)
        XCTAssertEqual(WrapperFixtures.values(params), before)
    }

    // MARK: Hyperparameters

    func testGetLRAndMomentumPerGroupWithBaseSettingsForSeveralGroups() throws {
        let (one, _) = try wrapper("{optimizer: {type: SGD, lr: 0.1, momentum: 0.9}}")
        XCTAssertEqual(one.getLR(), ["lr": [0.1]])
        XCTAssertEqual(one.getMomentum(), ["momentum": [0.9]])
        XCTAssertNil(one.baseParamSettings)
        XCTAssertEqual(one.scheduleValues.groupCount, 1)
        let (two, _) = try wrapper("{optimizer: {type: SGD, lr: 0.1, momentum: 0.9}, param_groups: [{params: [w]}, {params: [b], lr: 0.5, momentum: 0.0}]}")
        XCTAssertEqual(two.getLR(), ["lr": [0.1, 0.5], "base_lr": [0.1]])
        XCTAssertEqual(two.getMomentum(), ["momentum": [0.9, 0.0]])
        XCTAssertEqual(two.scheduleValues.groupCount, 3, "groups plus base_param_settings, as MMEngine's param_groups")
        XCTAssertEqual(two.scheduleValues.recordedGroupCount, 2)
    }

    // MARK: State

    func testAmpStateRoundTripContinuesBitIdenticallyAndAcceptsOneByteChunks() throws {
        let yaml = "{type: AmpOptimWrapper, optimizer: {type: SGD, lr: 0.05, momentum: 0.9}, loss_scale: {init_scale: 256.0, growth_interval: 2}}"
        let grads: [[String: [Float]]] = (0..<6).map { k in
            ["w": (0..<6).map { Float($0 - k) * 0.1 }, "b": k == 2 ? [3e38, 1, 1] : [0.5, -0.5, Float(k)]]
        }
        let (straight, ps) = try wrapper(yaml)
        for g in grads { try straight.updateParams(loss: 0, backward: WrapperFixtures.backward(ps, g)) }

        let (first, p1) = try wrapper(yaml)
        for g in grads.prefix(3) { try first.updateParams(loss: 0, backward: WrapperFixtures.backward(p1, g)) }
        let state = try first.stateDict()
        XCTAssertEqual(state.type, "AmpOptimWrapper")
        XCTAssertEqual(state.lossScale, 256, "256, grown to 512 after two clean steps, backed off at the overflow")
        let (second, p2) = try wrapper(yaml)
        for (a, b) in zip(p1, p2) { _ = b.data.initialize(from: a.values) }
        try second.loadStateDict(state, chunk: 1)
        XCTAssertEqual(second.lossScale, 256)
        for g in grads.dropFirst(3) { try second.updateParams(loss: 0, backward: WrapperFixtures.backward(p2, g)) }
        XCTAssertEqual(WrapperFixtures.values(p2), WrapperFixtures.values(ps))
        XCTAssertEqual(second.lossScale, straight.lossScale)
        XCTAssertEqual(try second.stateDict(), try straight.stateDict())
    }

    func testGarbageScalerStateIsRefusedAndChangesNothing() throws {
        let (w, params) = try wrapper("{type: AmpOptimWrapper, optimizer: {type: SGD, lr: 0.1, momentum: 0.5}}")
        try w.updateParams(loss: 0, backward: WrapperFixtures.backward(params, ["w": [1, 1, 1, 1, 1, 1]]))
        let good = try w.stateDict()
        for bad in [[UInt8](), [1, 2, 3], (good.wrapperState ?? []) + [0], [UInt8](repeating: 0xFF, count: 28)] {
            var state = good
            state.wrapperState = bad
            state.optimizer.scalars = []
            state.optimizer.tensors = []
            state.optimizer.initialized = []
            XCTAssertThrowsError(try w.loadStateDict(state), "\(bad.count) bytes")
            XCTAssertEqual(try w.stateDict(), good, "a refused state changes nothing")
        }
    }

    func testPlainStateLoadsIntoAmpKeepingItsScalerAndViceVersa() throws {
        let (plain, pp) = try wrapper("{optimizer: {type: SGD, lr: 0.1, momentum: 0.9}}")
        try plain.updateParams(loss: 0, backward: WrapperFixtures.backward(pp, ["w": [1, 2, 3, 4, 5, 6]]))
        let (amp, _) = try wrapper("{type: AmpOptimWrapper, optimizer: {type: SGD, lr: 0.1, momentum: 0.9}, loss_scale: 64.0}")
        try amp.loadStateDict(try plain.stateDict())
        XCTAssertEqual(amp.lossScale, 64)
        XCTAssertEqual(try amp.stateDict().optimizer, try plain.stateDict().optimizer)
        try plain.loadStateDict(try amp.stateDict())
    }

    func testInitializeCountStatusKeepsTheLossScale() throws {
        let (w, params) = try wrapper("{type: AmpOptimWrapper, optimizer: {type: SGD, lr: 0.01}, loss_scale: {init_scale: 8.0, growth_interval: 1}}")
        try w.updateParams(loss: 0, backward: WrapperFixtures.backward(params, ["w": [1, 1, 1, 1, 1, 1]]))
        XCTAssertEqual(w.lossScale, 16)
        try w.initializeCountStatus(initCounts: 1, maxCounts: 3)
        XCTAssertEqual(w.lossScale, 16, "rebuilding the instance for the run keeps the scaler state")
        XCTAssertEqual(w.innerCount, 1)
    }

    // MARK: Config errors

    func testConfigErrorsNameTheKeyAndWhatToDo() throws {
        let table: [(String, String)] = [
            ("{type: OptimWrapper}", "must contain an 'optimizer' dict"),
            ("{optimizer: {type: SGD}, clip_grad: [1.0]}", "clip_grad must be a non-empty dict"),
            ("{optimizer: {type: SGD}, clip_grad: {}}", "clip_grad must be a non-empty dict"),
            ("{optimizer: {type: SGD}, clip_grad: {type: norm}}", "needs arguments besides 'type'"),
            ("{optimizer: {type: SGD}, clip_grad: {type: l2, max_norm: 1}}", "should be \"norm\" or \"value\""),
            ("{optimizer: {type: SGD}, clip_grad: {max_nrom: 1}}", "unexpected key 'max_nrom'"),
            ("{optimizer: {type: SGD}, clip_grad: {type: value, max_norm: 1}}", "unexpected key 'max_norm'"),
            ("{optimizer: {type: SGD}, clip_grad: {norm_type: 2}}", "needs a number 'max_norm'"),
            ("{optimizer: {type: SGD}, accumulative_counts: 0}", "accumulative_counts"),
            ("{optimizer: {type: SGD}, acumulative_counts: 2}", "did you mean 'accumulative_counts'"),
            ("{type: AmpOptimWrapper, optimizer: {type: SGD}, loss_scale: static}", "loss_scale must be of type float, dict, or \"dynamic\""),
            ("{type: AmpOptimWrapper, optimizer: {type: SGD}, loss_scale: -4.0}", "positive finite number"),
            ("{type: AmpOptimWrapper, optimizer: {type: SGD}, loss_scale: {growth_factor: 0.5}}", "The growth factor must be > 1.0"),
            ("{type: AmpOptimWrapper, optimizer: {type: SGD}, loss_scale: {backoff_factor: 2.0}}", "The backoff factor must be < 1.0"),
            ("{type: AmpOptimWrapper, optimizer: {type: SGD}, loss_scale: {init: 2.0}}", "unknown loss_scale key 'init'"),
            ("{type: AmpOptimWrapper, optimizer: {type: SGD}, dtype: float64}", "must be one of"),
            ("{type: OptimWrapper, optimizer: {type: SGD}, nonfinite: crash}", "must be one of"),
            ("{type: AmpOptimWraper, optimizer: {type: SGD}}", "Did you mean 'AmpOptimWrapper'"),
            ("{constructor: Fancy, optimizer: {type: SGD}}", "constructor 'Fancy' is not supported"),
        ]
        for (yaml, message) in table {
            XCTAssertThrowsError(try wrapper(yaml), yaml) { error in
                XCTAssertTrue("\(error)".contains(message), "\(yaml): \(error)")
            }
        }
    }

    func testAmpConfigFormsAndDtype() throws {
        let table: [(String, Double, Precision)] = [
            ("{type: AmpOptimWrapper, optimizer: {type: SGD}}", 65536, .bfloat16),
            ("{type: AmpOptimWrapper, optimizer: {type: SGD}, loss_scale: dynamic, dtype: float16}", 65536, .float16),
            ("{type: AmpOptimWrapper, optimizer: {type: SGD}, loss_scale: 512.0}", 512, .bfloat16),
            ("{type: AmpOptimWrapper, optimizer: {type: SGD}, loss_scale: 512}", 512, .bfloat16),
            ("{type: AmpOptimWrapper, optimizer: {type: SGD}, loss_scale: {init_scale: 8.0, enabled: false}, dtype: float32}", 1, .float32),
            ("{optimizer: {type: SGD}}", 1, .float32),
        ]
        for (yaml, scale, dtype) in table {
            let (w, _) = try wrapper(yaml)
            XCTAssertEqual(w.lossScale, scale, yaml)
            XCTAssertEqual(w.precision.dtype, dtype, yaml)
        }
    }

    func testMMCVOptimizerConfigTranslatesToAnOptimWrapper() throws {
        let optimizer = try WrapperFixtures.config("{type: SGD, lr: 0.02, momentum: 0.9}")
        let hooks: [(String, String, Double?)] = [
            ("{grad_clip: {max_norm: 35, norm_type: 2}}", "OptimWrapper", nil),
            ("{type: GradientCumulativeOptimizerHook, cumulative_iters: 4}", "OptimWrapper", nil),
            ("{type: Fp16OptimizerHook}", "AmpOptimWrapper", 512),
            ("{type: Fp16OptimizerHook, loss_scale: dynamic}", "AmpOptimWrapper", 65536),
        ]
        for (text, type, scale) in hooks {
            let config = try OptimWrapperConfig.fromMMCV(optimizer: optimizer, optimizerConfig: try WrapperFixtures.config(text))
            let (w, _) = try wrapper(config: config)
            XCTAssertEqual(w.typeName, type, text)
            if let scale { XCTAssertEqual(w.lossScale, scale, text) }
        }
        let cumulative = try OptimWrapperConfig.fromMMCV(optimizer: optimizer, optimizerConfig: try WrapperFixtures.config("{type: GradientCumulativeOptimizerHook, cumulative_iters: 4}"))
        XCTAssertEqual(cumulative["accumulative_counts"], .int(4))
        XCTAssertThrowsError(try OptimWrapperConfig.fromMMCV(optimizer: optimizer, optimizerConfig: try WrapperFixtures.config("{type: EMAHook}")))
    }

    // MARK: Building either form

    func testAnyOptimWrapperBuildsOneOrNamedWrappersAndRoundTrips() throws {
        let single = try AnyOptimWrapper.build(registry: registry, config: try WrapperFixtures.config(
            "{optimizer: {type: SGD, lr: 0.1}, accumulative_counts: 2}"), params: WrapperFixtures.params())
        XCTAssertEqual(single.wrappers.map(\.name), [nil])
        try single.initializeCountStatus(maxCounts: 3)
        if case .single(let w) = single { XCTAssertEqual(w.maxCounts, 3) } else { XCTFail("expected one wrapper") }
        let state = try single.stateDict()
        XCTAssertEqual(Array(state.keys), [""])
        try single.loadStateDict(state)
        XCTAssertThrowsError(try single.loadStateDict(["generator": state[""]!]))

        let gan = [Parameter(name: "g.w", shape: [2]), Parameter(name: "d.w", shape: [2])]
        let named = try AnyOptimWrapper.build(registry: registry, config: try WrapperFixtures.config(
            "{g: {optimizer: {type: SGD, lr: 0.1}}, d: {type: AmpOptimWrapper, optimizer: {type: SGD, lr: 0.2}}}"), params: gan)
        XCTAssertEqual(named.wrappers.map(\.name), ["g", "d"])
        XCTAssertEqual(named.getLR(), ["g.lr": [0.1], "d.lr": [0.2]])
        try named.loadStateDict(try named.stateDict())
    }

    func testClosuresReachTheOptimizerButNotALossScaler() throws {
        let (w, params) = try wrapper("{optimizer: {type: SGD, lr: 0.5}}")
        var calls = 0
        params[0].setGrad([1, 1, 1, 1, 1, 1])
        try w.step { calls += 1; return 0 }
        XCTAssertEqual(params[0].data[0], 0, "0.5 - 0.5 * 1")
        let (amp, _) = try wrapper("{type: AmpOptimWrapper, optimizer: {type: SGD}}")
        XCTAssertThrowsError(try amp.step { 0 }) { XCTAssertTrue("\($0)".contains("closure use is not supported"), "\($0)") }
        _ = calls
    }
}
