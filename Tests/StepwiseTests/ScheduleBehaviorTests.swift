import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// A schedule document written as JSON.
func scheduleDocument(_ json: String) throws -> ConfigDict {
    try ConfigLoader.parse(string: json, format: .json, origin: "test")
}

/// Runs a document through the whole loop.
func simulate(_ json: String, epochs: Int = 6, iters: Int = 4, metrics: [String: [Double]] = [:]) throws -> ScheduleTrace {
    let sim = try ScheduleSimulation(registry: ScheduleSupport.registry, document: scheduleDocument(json),
                                     loop: ScheduleLoopShape(epochs: epochs, itersPerEpoch: iters), valMetrics: metrics)
    try sim.start()
    return try sim.run()
}

func assertClose(_ got: [Double], _ want: [Double], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, message, file: file, line: line)
    for (i, (g, w)) in zip(got, want).enumerated() where abs(g - w) > 1e-12 + 1e-9 * abs(w) {
        XCTFail("\(message) at \(i): got \(g), want \(w)", file: file, line: line)
        return
    }
}

final class ScheduleBehaviorTests: XCTestCase {
    // MARK: LambdaLR / MultiplicativeLR through libffi

    static let lambdas = """
        #include <stdint.h>
        double warmup(int64_t step, int64_t warmup, double start) {
            return step < warmup ? start + (1.0 - start) * (double)step / (double)warmup : 1.0;
        }
        double constant_factor(int32_t step, float factor) { (void)step; return factor; }
        float halve_every(int64_t step, int64_t period) { return step % period == 0 && step > 0 ? 0.5f : 1.0f; }
        """

    func testLambdaLRCallsACFunctionWithTheStepAndBoundArguments() throws {
        let lib = try ScheduleSupport.compile(Self.lambdas, name: "lambdas")
        let trace = try simulate("""
            {"dialect": "torch", "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
             "param_scheduler": {"type": "LambdaLR",
                                 "lr_lambda": {"symbol": "\(lib):warmup", "signature": "double(int64,int64,double)",
                                               "args": [10, 0.01]}}}
            """)
        let want: [Double] = (0..<24).map { (i: Int) -> Double in
            let factor: Double = i < 10 ? 0.01 + 0.99 * Double(i) / 10 : 1.0
            return 0.1 * factor
        }
        assertClose(trace.values["lr"]![0], want, "LambdaLR")
    }

    func testMultiplicativeLRChainsAFloatFunctionPerGroup() throws {
        let lib = try ScheduleSupport.compile(Self.lambdas, name: "lambdas")
        let trace = try simulate("""
            {"dialect": "torch", "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
             "param_groups": [{"lr": 0.1}, {"lr": 0.02}],
             "param_scheduler": {"type": "MultiplicativeLR", "lr_lambda": [
                 {"symbol": "\(lib):constant_factor", "signature": "double(int32, float)", "args": [0.95]},
                 {"symbol": "\(lib):halve_every", "signature": "float(int64,int64)", "args": [8]}]}}
            """)
        let g = Double(Float(0.95))
        assertClose(trace.values["lr"]![0], (0..<24).map { 0.1 * pow(g, Double($0)) }, "group 0")
        assertClose(trace.values["lr"]![1], (0..<24).map { 0.02 * pow(0.5, Double($0 / 8)) }, "group 1")
    }

    // MARK: Composition the references' users ask for

    /// A warmup and a plateau reduction in one list: metrics reach the plateau scheduler,
    /// the warmup never double-steps, and after the warmup the plateau behaves alone.
    func testReduceOnPlateauComposesWithAWarmupInOneList() throws {
        let loss = [1.0, 0.8, 0.81, 0.82, 0.7, 0.71, 0.72, 0.73, 0.69, 0.7]
        let plateau = #"{"type": "ReduceOnPlateauLR", "monitor": "loss", "patience": 1, "factor": 0.5}"#
        let optimizer = #""optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}"#
        let alone = try simulate("{\(optimizer), \"param_scheduler\": \(plateau)}", epochs: 10, iters: 2, metrics: ["loss": loss])
        let both = try simulate("""
            {\(optimizer), "param_scheduler": [
                {"type": "LinearLR", "start_factor": 0.25, "by_epoch": false, "end": 3}, \(plateau)]}
            """, epochs: 10, iters: 2, metrics: ["loss": loss])
        let lr = both.values["lr"]![0]
        assertClose(Array(lr[..<3]), [0.025, 0.0625, 0.1], "warmup")
        assertClose(Array(lr[3...]), Array(alone.values["lr"]![0][3...]), "after the warmup")
        XCTAssertLessThan(lr.last!, 0.1, "the plateau never reduced")
    }

    func testTorchReduceLROnPlateauBesideAWarmup() throws {
        let trace = try simulate("""
            {"dialect": "torch", "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
             "param_scheduler": [{"type": "LinearLR", "start_factor": 0.5, "total_iters": 2},
                                 {"type": "ReduceLROnPlateau", "patience": 0, "factor": 0.1}]}
            """, epochs: 3, iters: 2, metrics: ["loss": [1, 2, 3]])
        assertClose(trace.values["lr"]![0], [0.05, 0.075, 0.1, 0.1, 0.01, 0.01], "warmup then plateau")
    }

    // MARK: MindSpore per-group dynamic lr

    func testMindSporeScheduleAsOneGroupsLearningRate() throws {
        let trace = try simulate("""
            {"dialect": "mindspore", "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
             "param_groups": [{"lr": {"type": "warmup_lr", "learning_rate": 0.1, "total_step": 8,
                                      "step_per_epoch": 2, "warmup_epoch": 2}},
                              {"lr": [0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]}, {"lr": 0.01}]}
            """, epochs: 4, iters: 2)
        assertClose(trace.values["lr"]![0], [0, 0, 0.05, 0.05, 0.1, 0.1, 0.1, 0.1], "warmup_lr group")
        assertClose(trace.values["lr"]![1], [0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "list group")
        assertClose(trace.values["lr"]![2], Array(repeating: 0.01, count: 8), "fixed group")
    }

    // MARK: Purity

    func testBuildingChangesNothingAndReadingNeverAdvances() throws {
        let document = try scheduleDocument("""
            {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
             "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "end": 5},
                                 {"type": "CosineAnnealingMomentum", "eta_min": 0.5}]}
            """)
        let sim = try ScheduleSimulation(registry: ScheduleSupport.registry, document: document,
                                         loop: ScheduleLoopShape(epochs: 3, itersPerEpoch: 2))
        let source = sim.schedulers.source
        let lr = try XCTUnwrap(source.slot(role: STEPWISE_ROLE_LR))
        let momentum = try XCTUnwrap(source.slot(role: STEPWISE_ROLE_MOMENTUM))
        XCTAssertEqual(source.value(lr, group: 0), 0.1, "building set the lr")
        XCTAssertEqual(source.value(momentum, group: 0), 0.9, "building set the momentum")
        try sim.start()
        XCTAssertEqual(source.value(lr, group: 0), 0.1 * 0.1, accuracy: 1e-15)
        let state = try sim.schedulers.stateDict()
        XCTAssertEqual(try sim.schedulers.stateDict(), state, "saving state changed it")
        XCTAssertEqual(source.value(lr, group: 0), 0.1 * 0.1, accuracy: 1e-15, "reading advanced the schedule")
    }
}
