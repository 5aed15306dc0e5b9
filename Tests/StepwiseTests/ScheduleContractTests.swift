import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// One row per bundled scheduler, and contract tests that walk the table: it builds
/// without touching the optimizer, runs a loop with finite values, and resumes mid-epoch
/// exactly. A new scheduler gets every test by adding its row (a missing row fails).
final class ScheduleContractTests: XCTestCase {
    static let sgd = #""optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.001}"#

    static func mmengine(_ family: String, _ keys: String, momentum: Bool = true, paramName: String = "weight_decay")
        -> [(String, String)] {
        let sep = keys.isEmpty ? "" : ", "
        var rows = [(family + "LR", "{\(sgd), \"param_scheduler\": {\"type\": \"\(family)LR\"\(sep)\(keys)}}"),
                    (family + "ParamScheduler", "{\(sgd), \"param_scheduler\": {\"type\": \"\(family)ParamScheduler\", "
                        + "\"param_name\": \"\(paramName)\"\(sep)\(keys)}}")]
        if momentum { rows.append((family + "Momentum", "{\(sgd), \"param_scheduler\": {\"type\": \"\(family)Momentum\"\(sep)\(keys)}}")) }
        return rows
    }

    static func torch(_ type: String, _ keys: String) -> (String, String) {
        ("torch_" + type, "{\"dialect\": \"torch\", \(sgd), \"param_scheduler\": {\"type\": \"\(type)\"\(keys.isEmpty ? "" : ", ")\(keys)}}")
    }

    static func mmcv(_ policy: String, _ keys: String, momentum: Bool = false) -> (String, String) {
        let key = momentum ? "momentum_config" : "lr_config", suffix = momentum ? "MomentumUpdaterHook" : "LrUpdaterHook"
        return (policy + suffix, "{\(sgd), \"\(key)\": {\"policy\": \"\(policy)\"\(keys.isEmpty ? "" : ", ")\(keys)}}")
    }

    static func mindspore(_ type: String, _ keys: String) -> (String, String) {
        (type, "{\"dialect\": \"mindspore\", \"param_scheduler\": {\"type\": \"\(type)\", \(keys)}}")
    }

    static let decayFn = #""learning_rate": 0.1, "decay_rate": 0.9, "total_step": 12, "step_per_epoch": 4, "decay_epoch": 1"#
    static let decayClass = #""learning_rate": 0.1, "decay_rate": 0.9, "decay_steps": 4"#

    /// (component type, schedule document for a loop of 3 epochs of 4 iterations).
    static func table(lambdas: String) -> [(String, String)] {
        let lambda = #""lr_lambda": {"symbol": "\#(lambdas):constant_factor", "signature": "double(int32,float)", "args": [0.9]}"#
        return mmengine("Step", #""step_size": 1"#) + mmengine("MultiStep", #""milestones": [1, 2]"#)
            + mmengine("Constant", "") + mmengine("Exponential", #""gamma": 0.9"#) + mmengine("Linear", "")
            + mmengine("Poly", "") + mmengine("CosineAnnealing", "")
            + mmengine("CosineRestart", #""periods": [1, 2], "restart_weights": [1, 0.5], "eta_min": 0"#)
            + mmengine("OneCycle", #""eta_max": 0.5, "by_epoch": false"#, momentum: false, paramName: "lr")
            + mmengine("ReduceOnPlateau", #""patience": 0"#)
            + [
                torch("StepLR", #""step_size": 3"#), torch("MultiStepLR", #""milestones": [3, 6]"#), torch("ConstantLR", ""),
                torch("LinearLR", ""), torch("ExponentialLR", #""gamma": 0.9"#), torch("PolynomialLR", ""),
                torch("CosineAnnealingLR", #""T_max": 5"#), torch("CosineAnnealingWarmRestarts", #""T_0": 3, "T_mult": 2"#),
                torch("CyclicLR", #""base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3"#),
                torch("OneCycleLR", #""max_lr": 0.1, "total_steps": 12"#), torch("LambdaLR", lambda),
                torch("MultiplicativeLR", lambda),
                torch("SequentialLR", #""milestones": [4], "schedulers": [{"type": "ConstantLR"}, {"type": "ExponentialLR", "gamma": 0.9}]"#),
                torch("ChainedScheduler", #""schedulers": [{"type": "ConstantLR"}, {"type": "ExponentialLR", "gamma": 0.9}]"#),
                torch("ReduceLROnPlateau", #""patience": 0"#),
                mmcv("Fixed", #""warmup": "exp", "warmup_iters": 3"#), mmcv("Step", #""step": 1"#), mmcv("Exp", #""gamma": 0.9"#),
                mmcv("Poly", ""), mmcv("Inv", #""gamma": 0.1"#), mmcv("CosineAnnealing", #""min_lr": 0"#),
                mmcv("FlatCosineAnnealing", #""min_lr_ratio": 0.1"#), mmcv("CosineRestart", #""periods": [2, 1], "restart_weights": [1, 0.5], "min_lr": 0"#),
                mmcv("Cyclic", ""), mmcv("OneCycle", #""max_lr": 0.1"#), mmcv("LinearAnnealing", #""min_lr": 0"#),
                mmcv("Step", #""step": [1, 2], "warmup": "linear", "warmup_iters": 2"#, momentum: true),
                mmcv("CosineAnnealing", #""min_momentum": 0.8"#, momentum: true),
                mmcv("LinearAnnealing", #""min_momentum_ratio": 0.9"#, momentum: true),
                mmcv("Cyclic", "", momentum: true), mmcv("OneCycle", "", momentum: true),
                mindspore("piecewise_constant_lr", #""milestone": [6, 12], "learning_rates": [0.1, 0.01]"#),
                mindspore("exponential_decay_lr", decayFn), mindspore("natural_exp_decay_lr", decayFn),
                mindspore("inverse_decay_lr", decayFn),
                mindspore("cosine_decay_lr", #""min_lr": 0.0, "max_lr": 0.1, "total_step": 12, "step_per_epoch": 4, "decay_epoch": 2"#),
                mindspore("polynomial_decay_lr", #""learning_rate": 0.1, "end_learning_rate": 0.0, "total_step": 12, "step_per_epoch": 4, "decay_epoch": 2, "power": 1.0"#),
                mindspore("warmup_lr", #""learning_rate": 0.1, "total_step": 12, "step_per_epoch": 4, "warmup_epoch": 2"#),
                mindspore("ExponentialDecayLR", decayClass), mindspore("NaturalExpDecayLR", decayClass),
                mindspore("InverseDecayLR", decayClass),
                mindspore("CosineDecayLR", #""min_lr": 0.0, "max_lr": 0.1, "decay_steps": 10"#),
                mindspore("PolynomialDecayLR", #""learning_rate": 0.1, "end_learning_rate": 0.0, "decay_steps": 10, "power": 1.0"#),
                mindspore("WarmUpLR", #""learning_rate": 0.1, "warmup_steps": 5"#),
            ]
    }

    static let loop = ScheduleLoopShape(epochs: 3, itersPerEpoch: 4)
    static let metrics = ["loss": [1.0, 1.0, 1.0]]

    func rows() throws -> [(String, String)] {
        Self.table(lambdas: try ScheduleSupport.compile(ScheduleBehaviorTests.lambdas, name: "lambdas"))
    }

    func testEveryBundledSchedulerHasARow() throws {
        let bundled = ScheduleSupport.registry.components(kind: .scheduler)
            .filter { $0.plugin.fileName == "libStepwisePluginSchedulers.so" }.map(\.typeName)
        let covered = Set(try rows().map(\.0))
        XCTAssertEqual(bundled.count, 73)
        XCTAssertEqual(Set(bundled).subtracting(covered), [], "schedulers without a contract row")
        XCTAssertEqual(covered.subtracting(bundled), [], "rows of no bundled scheduler")
    }

    func testEachBuildsWithoutSideEffectsRunsFiniteAndResumesExactly() throws {
        for (type, json) in try rows() {
            do { try checkContract(type, json) } catch { XCTFail("\(type): \(error)") }
        }
    }

    func checkContract(_ type: String, _ json: String) throws {
        let document = try scheduleDocument(json)
        func fresh() throws -> ScheduleSimulation {
            try ScheduleSimulation(registry: ScheduleSupport.registry, document: document, loop: Self.loop,
                                   valMetrics: type.contains("Plateau") ? Self.metrics : [:])
        }
        let whole = try fresh()
        // The same optimizer without schedulers holds the values building must keep.
        var bareDocument = document
        for key in ["param_scheduler", "lr_config", "momentum_config"] { bareDocument[key] = nil }
        let bare = try ScheduleSimulation(registry: ScheduleSupport.registry, document: bareDocument, loop: Self.loop)
        for slot in whole.schedulers.drivenSlots {
            let original = try XCTUnwrap(try bare.schedulers.source.slot(named: slot.key), type)
            for g in 0..<whole.schedulers.source.groupCount {
                XCTAssertEqual(whole.schedulers.source.value(slot, group: g).bitPattern,
                               bare.schedulers.source.value(original, group: g).bitPattern, "\(type): building changed \(slot)")
            }
        }
        try whole.start()
        let reference = try whole.run()
        XCTAssertEqual(reference.iterationCount, 12, type)
        for (key, groups) in reference.values {
            XCTAssertTrue(groups.allSatisfy { $0.allSatisfy(\.isFinite) }, "\(type): non-finite \(key)")
        }
        let first = try fresh()
        try first.start()
        var trace = try first.run(iterations: 5)
        let resumed = try fresh()
        try resumed.restore(try first.checkpoint())
        trace.append(try resumed.run())
        XCTAssertEqual(trace.values, reference.values, "\(type): resuming at iteration 5 changed the values")
    }
}
