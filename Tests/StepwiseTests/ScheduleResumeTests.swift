import Foundation
import XCTest

@testable import Stepwise

/// Saving mid-run and loading into freshly built schedulers continues exactly: the same
/// remaining values, and no scheduler takes a step when it is built from a checkpoint.
final class ScheduleResumeTests: XCTestCase {
    static let metrics = ["loss": [1.0, 0.8, 0.81, 0.82, 0.7, 0.71]]

    /// One config per family of state: windows and chains, plateau counters, torch
    /// containers and restarts, cycled momentum, MMCV warmup by epoch, MindSpore.
    static let configs: [(name: String, json: String)] = [
        ("mmengine list", """
            {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
             "param_groups": [{"lr": 0.1}, {"lr": 0.01, "momentum": 0.8}],
             "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "end": 5},
                                 {"type": "CosineAnnealingLR", "T_max": 4, "begin": 1, "eta_min_ratio": 0.1,
                                  "convert_to_iter_based": true},
                                 {"type": "StepMomentum", "step_size": 2, "gamma": 0.9}]}
            """),
        ("mmengine plateau", """
            {"optimizer": {"type": "AdamW", "lr": 0.01},
             "param_scheduler": [{"type": "ReduceOnPlateauLR", "patience": 0, "factor": 0.5, "cooldown": 1},
                                 {"type": "OneCycleParamScheduler", "param_name": "lr", "eta_max": 0.05,
                                  "by_epoch": false}]}
            """),
        ("torch containers", """
            {"dialect": "torch", "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
             "param_scheduler": [{"type": "SequentialLR", "milestones": [7], "schedulers": [
                                    {"type": "LinearLR", "start_factor": 0.2, "total_iters": 7},
                                    {"type": "CosineAnnealingWarmRestarts", "T_0": 3, "T_mult": 2}]},
                                 {"type": "ReduceLROnPlateau", "patience": 0}]}
            """),
        ("torch cyclic momentum", """
            {"dialect": "torch", "optimizer": {"type": "Adam", "lr": 0.01},
             "param_scheduler": {"type": "CyclicLR", "base_lr": 0.001, "max_lr": 0.01, "step_size_up": 5,
                                 "mode": "triangular2"}}
            """),
        ("mmcv warmup", """
            {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
             "lr_config": {"policy": "step", "step": [3, 5], "warmup": "linear", "warmup_iters": 2,
                           "warmup_ratio": 0.2, "warmup_by_epoch": true},
             "momentum_config": {"policy": "cyclic", "cyclic_times": 2}}
            """),
        ("mindspore", """
            {"dialect": "mindspore", "param_scheduler": {"type": "PolynomialDecayLR", "learning_rate": 0.1,
             "end_learning_rate": 0.001, "decay_steps": 5, "power": 2.0, "update_decay_steps": true}}
            """),
    ]

    func testResumeAtEveryIterationContinuesIdentically() throws {
        let loop = ScheduleLoopShape(epochs: 6, itersPerEpoch: 4)
        for (name, json) in Self.configs {
            let document = try scheduleDocument(json)
            let metrics = name.contains("plateau") || name.contains("containers") ? Self.metrics : [:]
            func fresh() throws -> ScheduleSimulation {
                try ScheduleSimulation(registry: ScheduleSupport.registry, document: document, loop: loop, valMetrics: metrics)
            }
            let whole = try fresh()
            try whole.start()
            let reference = try whole.run()
            for cut in [1, 3, 4, 9, 12, 23] {
                let first = try fresh()
                try first.start()
                var trace = try first.run(iterations: cut)
                // Through bytes, as a checkpoint file would carry it.
                let saved = try JSONEncoder().encode(try first.checkpoint())
                let resumed = try fresh()
                try resumed.restore(try JSONDecoder().decode(ScheduleCheckpoint.self, from: saved))
                trace.append(try resumed.run())
                XCTAssertEqual(trace.values, reference.values, "\(name): resumed at iteration \(cut) differs")
            }
        }
    }

    func testStateOfAnotherConfigIsRefused() throws {
        let loop = ScheduleLoopShape(epochs: 2, itersPerEpoch: 2)
        let a = try ScheduleSimulation(registry: ScheduleSupport.registry, document: scheduleDocument(Self.configs[0].json),
                                       loop: loop)
        try a.start()
        _ = try a.run(iterations: 1)
        let b = try ScheduleSimulation(registry: ScheduleSupport.registry, document: scheduleDocument(Self.configs[2].json),
                                       loop: loop, valMetrics: Self.metrics)
        XCTAssertThrowsError(try b.restore(try a.checkpoint())) { error in
            XCTAssertTrue("\(error)".contains("the saved schedule state holds 3 schedulers, but this config builds 4"), "\(error)")
        }
    }

    func testTruncatedStateIsRefused() throws {
        let loop = ScheduleLoopShape(epochs: 2, itersPerEpoch: 2)
        let document = try scheduleDocument(Self.configs[0].json)
        let a = try ScheduleSimulation(registry: ScheduleSupport.registry, document: document, loop: loop)
        try a.start()
        var checkpoint = try a.checkpoint()
        checkpoint.state.schedulers[1].bytes.removeLast(3)
        let b = try ScheduleSimulation(registry: ScheduleSupport.registry, document: document, loop: loop)
        XCTAssertThrowsError(try b.restore(checkpoint)) { error in
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
    }
}
