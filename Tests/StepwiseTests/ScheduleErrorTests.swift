import Foundation
import XCTest

@testable import Stepwise

/// Bad schedule configs, one row each: the config and words the error must contain.
final class ScheduleErrorTests: XCTestCase {
    static let sgd = #""optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}"#

    static let table: [(what: String, json: String, metrics: [String: [Double]], expect: String)] = [
        ("unknown MMCV policy", "{\(sgd), \"lr_config\": {\"policy\": \"stepp\"}}", [:],
         "unknown policy 'Stepp'"),
        ("MMCV config without a policy", "{\(sgd), \"lr_config\": {\"step\": [2]}}", [:], "lr_config needs a 'policy'"),
        ("begin >= end", "{\(sgd), \"param_scheduler\": {\"type\": \"StepLR\", \"step_size\": 2, \"begin\": 5, \"end\": 5}}", [:],
         "end should be larger than begin, but got begin=5, end=5"),
        ("missing T_max", "{\"dialect\": \"torch\", \(sgd), \"param_scheduler\": {\"type\": \"CosineAnnealingLR\"}}", [:],
         "missing required key 'T_max'"),
        ("metric never given",
         "{\(sgd), \"param_scheduler\": {\"type\": \"ReduceOnPlateauLR\", \"monitor\": \"loss\"}}", [:],
         "the loop never validates"),
        ("monitored metric missing",
         "{\(sgd), \"param_scheduler\": {\"type\": \"ReduceOnPlateauMomentum\", \"monitor\": \"acc\"}}",
         ["loss": [1, 1, 1, 1, 1, 1]], "monitors 'acc', but the loop's validation reports only loss"),
        ("torch plateau without metrics",
         "{\"dialect\": \"torch\", \(sgd), \"param_scheduler\": {\"type\": \"ReduceLROnPlateau\"}}", [:],
         "never validates"),
        ("torch plateau with several metrics",
         "{\"dialect\": \"torch\", \(sgd), \"param_scheduler\": {\"type\": \"ReduceLROnPlateau\"}}",
         ["loss": [1, 1, 1, 1, 1, 1], "acc": [1, 1, 1, 1, 1, 1]], "watches one metric, but the loop reports acc, loss"),
        ("momentum scheduler on an optimizer without momentum", """
            {"optimizer": {"type": "Adagrad", "lr": 0.1}, "param_scheduler": {"type": "StepMomentum", "step_size": 2}}
            """, [:], "the optimizer must support momentum"),
        ("cycle_momentum without momentum", """
            {"dialect": "torch", "optimizer": {"type": "Adagrad", "lr": 0.1},
             "param_scheduler": {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1}}
            """, [:], "must support momentum or beta1 with cycle_momentum enabled; set cycle_momentum=False"),
        ("a division by zero", "{\(sgd), \"param_scheduler\": {\"type\": \"LinearLR\", \"start_factor\": 0, \"end\": 3}}",
         [:], "LinearLR computed"),
        ("misspelled key", "{\(sgd), \"param_scheduler\": {\"type\": \"StepLR\", \"step_size\": 2, \"gama\": 0.5}}", [:],
         "did you mean 'gamma'"),
        ("torch name in an MMEngine config", "{\(sgd), \"param_scheduler\": {\"type\": \"CyclicLR\"}}", [:],
         "is a torch scheduler, but this config's dialect is mmengine"),
        ("unknown scheduler", "{\(sgd), \"param_scheduler\": {\"type\": \"CosineAnealingLR\"}}", [:],
         "Did you mean 'CosineAnnealingLR'?"),
        ("iteration-based config converted", """
            {\(sgd), "param_scheduler": {"type": "StepLR", "step_size": 2, "by_epoch": false, "convert_to_iter_based": true}}
            """, [:], "only an epoch-based scheduler (by_epoch=True) can be converted"),
        ("unknown param_name", "{\(sgd), \"param_scheduler\": {\"type\": \"StepParamScheduler\", \"param_name\": \"decay\", \"step_size\": 1}}",
         [:], "param_name 'decay' is not a hyperparameter"),
        ("OneCycle of the momentum", """
            {\(sgd), "param_scheduler": {"type": "OneCycleParamScheduler", "param_name": "momentum", "eta_max": 0.9}}
            """, [:], "OneCycle only works for learning rate updating"),
        ("plateau inside SequentialLR", """
            {"dialect": "torch", \(sgd), "param_scheduler": {"type": "SequentialLR", "milestones": [2],
             "schedulers": [{"type": "ConstantLR"}, {"type": "ReduceLROnPlateau"}]}}
            """, ["loss": [1, 1, 1, 1, 1, 1]], "SequentialLR cannot contain torch_ReduceLROnPlateau"),
        ("milestones of SequentialLR", """
            {"dialect": "torch", \(sgd), "param_scheduler": {"type": "SequentialLR", "milestones": [2, 4],
             "schedulers": [{"type": "ConstantLR"}, {"type": "ExponentialLR", "gamma": 0.9}]}}
            """, [:], "expects one more scheduler than milestones"),
        ("OneCycleLR shorter than the loop", """
            {"dialect": "torch", \(sgd), "param_scheduler": {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 10}}
            """, [:], "tried to step 11 times; the specified number of total steps is 10"),
        ("OneCycleLR without a length", """
            {"dialect": "torch", \(sgd), "param_scheduler": {"type": "OneCycleLR", "max_lr": 0.1, "epochs": 3}}
            """, [:], "either total_steps OR (epochs AND steps_per_epoch)"),
        ("MindSpore list shorter than the loop", """
            {"dialect": "mindspore", "param_scheduler": {"type": "cosine_decay_lr", "min_lr": 0.0, "max_lr": 0.1,
             "total_step": 10, "step_per_epoch": 2, "decay_epoch": 5}}
            """, [:], "cosine_decay_lr yields 10 learning rates, but the loop reached step 11"),
        ("CosineRestart without a minimum", """
            {\(sgd), "param_scheduler": {"type": "CosineRestartLR", "periods": [2, 4], "restart_weights": [1, 0.5]}}
            """, [:], "exactly one of eta_min and eta_min_ratio"),
        ("MMCV warmup ratio", "{\(sgd), \"lr_config\": {\"policy\": \"fixed\", \"warmup\": \"linear\", \"warmup_iters\": 2, \"warmup_ratio\": 0}}",
         [:], "warmup_ratio must be in range (0,1]"),
        ("MMCV cyclic by epoch", "{\(sgd), \"lr_config\": {\"policy\": \"cyclic\", \"by_epoch\": true}}", [:],
         "currently only supports by_epoch=False"),
        ("LambdaLR missing library", """
            {"dialect": "torch", \(sgd), "param_scheduler": {"type": "LambdaLR",
             "lr_lambda": {"symbol": "/nonexistent/libnone.so:f", "signature": "double(int64)"}}}
            """, [:], "cannot open /nonexistent/libnone.so"),
        ("LambdaLR arity", """
            {"dialect": "torch", \(sgd), "param_scheduler": {"type": "LambdaLR",
             "lr_lambda": {"symbol": "libm.so.6:pow", "signature": "double(int64,double)", "args": []}}}
            """, [:], "takes 2 parameters: the step and 1 bound arguments, but args has 0"),
        ("schedule without an optimizer", "{\"param_scheduler\": {\"type\": \"StepLR\", \"step_size\": 1}}", [:],
         "needs the optimizer it schedules"),
        ("unknown dialect", "{\"dialect\": \"keras\", \(sgd)}", [:], "dialect must be one of mmengine, torch, mmcv, mindspore"),
    ]

    func testEachBadConfigGivesAClearError() throws {
        for row in Self.table {
            XCTAssertThrowsError(try simulate(row.json, metrics: row.metrics), row.what) { error in
                XCTAssertTrue("\(error)".contains(row.expect), "\(row.what): \(error)")
            }
        }
    }

    func testErrorsNameTheConfigEntry() throws {
        XCTAssertThrowsError(try simulate("""
            {\(Self.sgd), "param_scheduler": [{"type": "ConstantLR"}, {"type": "StepLR", "step_size": 0}]}
            """)) { error in
            XCTAssertTrue("\(error)".contains("step_size"), "\(error)")
            XCTAssertTrue("\(error)".contains("StepLR"), "\(error)")
        }
        XCTAssertThrowsError(try simulate("""
            {"dialect": "torch", \(Self.sgd), "param_scheduler": {"type": "ChainedScheduler",
             "schedulers": [{"type": "StepLR"}]}}
            """)) { error in
            XCTAssertTrue("\(error)".contains("param_scheduler.schedulers[0]"), "\(error)")
        }
    }
}
