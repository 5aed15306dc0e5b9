import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// Records every hook point it sees, to check order and priorities.
final class RecordingHook: RunnerHook {
    let name: String
    let priority: Int
    let log: (String) -> Void
    init(_ name: String, priority: Int, log: @escaping (String) -> Void) {
        self.name = name; self.priority = priority; self.log = log
    }
    func handles(_ point: HookPoint) -> Bool { true }
    func call(_ point: HookPoint, _ runner: Runner) throws { log("\(name).\(point)@\(runner.iter)") }
}

final class RunnerTests: XCTestCase {
    static let registry = PluginRegistry.load(.init(includeEnvironment: false))

    func hook(_ config: [(String, ConfigValue)]) throws -> PluginHook {
        try PluginHook(registry: Self.registry, config: ConfigDict(config.map { ConfigDict.Entry(key: $0.0, value: $0.1) }))
    }

    func testHooksRunAtEveryPointInLoopOrderByPriorityThenRegistration() throws {
        var events: [String] = []
        let runner = Runner(maxEpochs: 2, itersPerEpoch: 2, valInterval: 2, workDir: NSTemporaryDirectory())
        runner.valStep = { _ in [("acc", 1)] }
        runner.register(RecordingHook("low", priority: 70) { events.append($0) })
        runner.register(RecordingHook("high", priority: 30) { events.append($0) })
        runner.register(RecordingHook("low2", priority: 70) { events.append($0) })
        try runner.run()
        let order = events.filter { $0.hasPrefix("high.") }.map { String($0.dropFirst(5)) }
        XCTAssertEqual(order, [
            "beforeRun@0", "beforeTrainEpoch@0", "beforeTrainIter@0", "afterTrainIter@0", "beforeTrainIter@1",
            "afterTrainIter@1", "afterTrainEpoch@2", "beforeTrainEpoch@2", "beforeTrainIter@2", "afterTrainIter@2",
            "beforeTrainIter@3", "afterTrainIter@3", "afterTrainEpoch@4", "beforeValEpoch@4", "afterValEpoch@4",
            "afterRun@4",
        ])
        XCTAssertEqual(Array(events.prefix(3)), ["high.beforeRun@0", "low.beforeRun@0", "low2.beforeRun@0"])
    }

    func testPluginHookPriorityComesFromConfigByNameOrNumber() throws {
        XCTAssertEqual(try hook([("type", .string("LoggerHook"))]).priority, 60)
        XCTAssertEqual(try hook([("type", .string("LoggerHook")), ("priority", .string("HIGHEST"))]).priority, 0)
        XCTAssertEqual(try hook([("type", .string("EMAHook")), ("priority", .int(42))]).priority, 42)
        XCTAssertThrowsError(try hook([("type", .string("EMAHook")), ("priority", .string("SOON"))]))
    }

    func testCheckpointHookSavesAtIntervalAndLastAndKeepsTheNewest() throws {
        let dir = NSTemporaryDirectory() + "ckpt-\(UUID().uuidString)"
        let runner = Runner(maxEpochs: 1, itersPerEpoch: 7, workDir: dir)
        runner.saveCheckpoint = { path, runner in try "\(runner.iter)".write(toFile: path, atomically: true, encoding: .utf8) }
        runner.register(try hook([("type", .string("CheckpointHook")), ("interval", .int(2)), ("by_epoch", .bool(false)),
                                  ("max_keep_ckpts", .int(2))]))
        try runner.run()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        XCTAssertEqual(files, ["iter_6.safetensors", "iter_7.safetensors", "last_checkpoint"])
        XCTAssertEqual(try String(contentsOfFile: dir + "/last_checkpoint", encoding: .utf8), dir + "/iter_7.safetensors")
    }

    func testEMAHookAveragesLikeMMEngineAndSwapsForValidation() throws {
        let p = Parameter(name: "w", shape: [2], values: [0, 0])
        let runner = Runner(maxEpochs: 1, itersPerEpoch: 3, workDir: NSTemporaryDirectory())
        runner.params = [p]
        var seenInValidation: [Float] = []
        runner.trainStep = { runner in
            p.data[0] += 1
            p.data[1] -= 2
            return []
        }
        runner.valStep = { _ in seenInValidation = p.values; return [] }
        runner.register(try hook([("type", .string("EMAHook")), ("momentum", .float(0.5))]))
        try runner.run()
        // steps 0: copy (1,-2); then lerp with 0.5 toward (2,-4) and (3,-6).
        var ema: [Float] = [1, -2]
        for k in 2...3 { ema = [ema[0] + 0.5 * (Float(k) - ema[0]), ema[1] + 0.5 * (Float(-2 * k) - ema[1])] }
        XCTAssertEqual(seenInValidation, ema)
        XCTAssertEqual(p.values, [3, -6], "the training weights come back after validation")
    }

    func testEarlyStoppingStopsOnAPlateauOfTheMonitoredMetric() throws {
        let runner = Runner(maxEpochs: 50, itersPerEpoch: 1, workDir: NSTemporaryDirectory())
        // MMEngine's rule for 'less': a validation counts as a plateau when it is worse
        // than the pool's mean by more than delta.
        runner.valStep = { runner in [("loss", runner.epoch < 3 ? 1.0 : 2.0)] }
        runner.output = { _, _ in }
        runner.register(try hook([("type", .string("EarlyStoppingHook")), ("monitor", .string("loss")),
                                  ("pool_size", .int(3)), ("patience", .int(2))]))
        try runner.run()
        XCTAssertEqual(runner.iter, 5, "pool full after 3 validations; epochs 4 and 5 count; patience 2 stops")
        XCTAssertNotNil(runner.stopReason)
        XCTAssertThrowsError(try hook([("type", .string("EarlyStoppingHook")), ("monitor", .string("fid"))])) {
            XCTAssertTrue("\($0)".contains("`rule` should be either 'greater' or 'less'."), "\($0)")
        }
    }

    func testHookStateRoundTripsThroughTheABI() throws {
        let h = try hook([("type", .string("EarlyStoppingHook")), ("monitor", .string("acc"))])
        let bytes = try XCTUnwrap(h.saveState())
        let fresh = try hook([("type", .string("EarlyStoppingHook")), ("monitor", .string("acc"))])
        try fresh.loadState(bytes)
        XCTAssertEqual(try fresh.saveState(), bytes)
        XCTAssertThrowsError(try fresh.loadState(bytes + [1]), "trailing garbage is refused")
        XCTAssertThrowsError(try fresh.loadState(Array(bytes.prefix(3))), "truncated state is refused")
    }
}

/// Schedulers step where MMEngine's ParamSchedulerHook steps them: iteration-based ones
/// after every iteration, epoch-based ones after every epoch.
final class ParamSchedulerHookTests: XCTestCase {
    static let registry = PluginRegistry.load(.init(includeEnvironment: false))

    func testEpochAndIterationSchedulersStepAtTheRightPoints() throws {
        let p = Parameter(name: "w", shape: [1], values: [0])
        let optimizer = try Optimizer(registry: Self.registry,
                                      config: ConfigDict(["type": .string("SGD"), "lr": .float(1), "momentum": .float(0.9)]),
                                      params: [p])
        var document = ConfigDict()
        document["param_scheduler"] = .list([
            .dict(ConfigDict(["type": .string("StepLR"), "step_size": .int(1), "gamma": .float(0.5)])),
            .dict(ConfigDict(["type": .string("LinearMomentum"), "start_factor": .float(0.5), "by_epoch": .bool(false),
                              "end": .int(4)])),
        ])
        let schedulers = try ParamSchedulers(registry: Self.registry, config: ScheduleConfig(document: document),
                                             values: ResolvedGroupValues(groups: optimizer.paramGroups.map(\.values)),
                                             loop: ScheduleLoopShape(epochs: 3, itersPerEpoch: 2))
        let runner = Runner(maxEpochs: 3, itersPerEpoch: 2, workDir: NSTemporaryDirectory())
        runner.register(ParamSchedulerHook([schedulers]))
        var seen: [(lr: Double, momentum: Double)] = []
        runner.trainStep = { _ in
            let g = optimizer.paramGroups[0]
            seen.append((g.get(role: STEPWISE_ROLE_LR)!, g.get(role: STEPWISE_ROLE_MOMENTUM)!))
            return []
        }
        try runner.run()
        XCTAssertEqual(seen.map(\.lr), [1, 1, 0.5, 0.5, 0.25, 0.25])
        let m = seen.map(\.momentum)
        XCTAssertEqual(m[0], 0.45, accuracy: 1e-12)
        XCTAssertEqual(m[4], 0.9, accuracy: 1e-12)
        XCTAssertTrue(zip(m, m.dropFirst()).allSatisfy { $0 <= $1 }, "\(m)")
    }
}
