import Foundation
import XCTest
@testable import Stepwise

/// ZeRO-1 optimizer-state sharding under `mpirun -n 2`: same parameters as unsharded,
/// half the state per rank, and a 2-rank sharded checkpoint resumes on one process.
final class DistributedZeroTests: XCTestCase {
    typealias Case = DistributedTests.Case
    static let registry = WrapperFixtures.registry

    static let cases: [Case] = [
        Case(name: "Adam, clip by norm", wrapper: "{optimizer: {type: Adam, lr: 0.05}, clip_grad: {max_norm: 0.5}}",
             iterations: 8, accumulation: 1),
        Case(name: "SGD momentum, accumulation 2", wrapper: DataParallelCheck.defaultWrapper, iterations: 8, accumulation: 2),
        Case(name: "AmpOptimWrapper + AdamW", wrapper: "{type: AmpOptimWrapper, optimizer: {type: AdamW, lr: 0.05}}",
             iterations: 6, accumulation: 1),
    ]

    func testShardedStateGivesTheSameParametersWithHalfTheStatePerRank() throws {
        let mpirun = try DistributedTests.mpirun()
        for c in Self.cases {
            let sharded = try DistributedTests.runUnderMPI(mpirun: mpirun, ranks: 2, c, extra: ["--zero"])
            let plain = try DistributedTests.runUnderMPI(mpirun: mpirun, ranks: 2, c)
            let single = try DataParallelCheck.run(registry: Self.registry, wrapperYAML: c.wrapper, iterations: c.iterations,
                                                   accumulation: c.accumulation, ranks: 2, communicator: nil)
            XCTAssertEqual(sharded[0].params, sharded[1].params, "\(c.name): ranks diverged")
            // The owner computes exactly what every rank computed unsharded.
            XCTAssertEqual(sharded[0].params, plain[0].params, c.name)
            for (a, b) in zip(single.params.joined(), sharded[0].params.joined()) {
                XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(a)), c.name)
            }
            let full = single.state.floats
            XCTAssertGreaterThan(full, 0, c.name)
            for r in sharded { XCTAssertEqual(r.state.floats * 2, full, "\(c.name): rank \(r.rank) state") }
            XCTAssertEqual(Set(sharded[0].state.initialized).intersection(sharded[1].state.initialized), [], c.name)
            XCTAssertEqual(sharded[0].gathers, single.stepsTaken, "\(c.name): one all-gather per step")
        }
    }

    func testATwoRankShardedCheckpointResumesOnOneProcess() throws {
        let mpirun = try DistributedTests.mpirun()
        let c = Self.cases[0]
        let dir = PluginBuilder.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try DistributedTests.runUnderMPI(mpirun: mpirun, ranks: 2, c, extra: ["--zero"], keepIn: dir)
        let resume = DataParallelCheck.Resume(iteration: c.iterations, params: first[0].params, shards: first.map(\.state))
        let resumed = try DataParallelCheck.run(registry: Self.registry, wrapperYAML: c.wrapper, iterations: 2 * c.iterations,
                                                accumulation: 1, ranks: 2, resume: resume, communicator: nil)
        let straight = try DataParallelCheck.run(registry: Self.registry, wrapperYAML: c.wrapper, iterations: 2 * c.iterations,
                                                 accumulation: 1, ranks: 2, communicator: nil)
        XCTAssertEqual(resumed.state.floats, straight.state.floats)
        for (a, b) in zip(straight.params.joined(), resumed.params.joined()) {
            XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(a)))
        }
        // And back onto two ranks, sharded again, from the same files.
        let prefix = (dir as NSString).appendingPathComponent("check")
        let again = try DistributedTests.runUnderMPI(mpirun: mpirun, ranks: 2, name: "resume on 2 ranks", arguments: [
            "--iterations", "\(2 * c.iterations)", "--wrapper", c.wrapper, "--zero", "--resume-from", prefix])
        XCTAssertEqual(again[0].params, again[1].params)
        for (a, b) in zip(straight.params.joined(), again[0].params.joined()) {
            XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(a)))
        }
        XCTAssertEqual(again[0].state.floats * 2, straight.state.floats)
    }

    func testPartitionFollowsTorchsGreedyRule() {
        // Largest first, each to the rank with the fewest elements so far, ties to the lower
        // rank; sizes carry over across groups.
        let plan = ZeroRedundancy.partition(groups: [[("a", 5), ("b", 3), ("c", 3), ("d", 1)], [("e", 4)]], ranks: 2)
        XCTAssertEqual(plan, [["a", "d", "e"], ["b", "c"]])
    }

    func testConsolidationRefusesShardsFromDifferentRuns() throws {
        var a = OptimizerState(type: "SGD")
        a.initialized = ["w"]
        a.tensors = [.init(key: "w.momentum_buffer", shape: [1], values: [1])]
        XCTAssertThrowsError(try ZeroRedundancy.consolidate([a, a])) { error in
            XCTAssertTrue("\(error)".contains("two shards"), "\(error)")
        }
        var b = OptimizerState(type: "Adam")
        b.initialized = ["v"]
        XCTAssertThrowsError(try ZeroRedundancy.consolidate([a, b]))
        XCTAssertEqual(try ZeroRedundancy.consolidate([a]).initialized, ["w"])
    }

    func testZeroRedundancyOptimizerConfigNamesItsInnerOptimizer() throws {
        let parts = try OptimWrapperConfig(WrapperFixtures.config("{optimizer: {type: ZeroRedundancyOptimizer, optimizer_type: AdamW, lr: 0.01}}"))
        XCTAssertTrue(parts.shardsOptimizerState)
        XCTAssertEqual(parts.optimizer["type"]?.string, "AdamW")
        XCTAssertNil(parts.optimizer["optimizer_type"])
        XCTAssertFalse(try OptimWrapperConfig(WrapperFixtures.config("{optimizer: {type: AdamW}}")).shardsOptimizerState)
        XCTAssertThrowsError(try OptimWrapperConfig(WrapperFixtures.config("{optimizer: {type: ZeroRedundancyOptimizer, lr: 0.01}}"))) {
            XCTAssertTrue("\($0)".contains("needs 'optimizer_type'"), "\($0)")
        }
    }

    func testAShardRoundTripsThroughItsBytesAndTruncatedBytesAreRefused() throws {
        var state = OptimizerState(type: "Adam")
        state.initialized = ["w", "b"]
        state.tensors = [.init(key: "w.exp_avg", shape: [2, 2], values: [1, -0.5, .infinity, 3e-40]),
                         .init(key: "b.exp_avg", shape: [1], values: [.nan])]
        state.scalars = [.init(key: "w.step", value: 7), .init(key: "b.step", value: -.infinity)]
        let bytes = try ShardCodec.encode(state)
        let back = try ShardCodec.decode(bytes, into: OptimizerState(type: "Adam"))
        XCTAssertEqual(back.initialized, state.initialized)
        XCTAssertEqual(back.scalars.map(\.value.bitPattern), state.scalars.map(\.value.bitPattern))
        XCTAssertEqual(back.tensors.map(\.key), state.tensors.map(\.key))
        XCTAssertEqual(back.tensors.map(\.shape), state.tensors.map(\.shape))
        XCTAssertEqual(back.tensors.flatMap(\.values).map(\.bitPattern), state.tensors.flatMap(\.values).map(\.bitPattern))
        for cut in [0, 7, bytes.count - 1] {
            XCTAssertThrowsError(try ShardCodec.decode(Array(bytes.prefix(cut)), into: OptimizerState(type: "Adam")), "\(cut) bytes")
        }
    }
}
