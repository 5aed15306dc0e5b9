import Foundation
import XCTest
@testable import Stepwise

/// Data parallelism over MPI: the real thing under `mpirun -n 2` (the hidden `stepwise
/// dist-check` command), against one process trained on the union of both ranks' batches.
final class DistributedTests: XCTestCase {
    static let registry = WrapperFixtures.registry
    static let buildDir = PluginLoader.bundledDirectory() ?? "."

    struct Case {
        var name: String
        var wrapper: String
        var iterations: Int
        var accumulation: Int
        var bucketBytes = 25 << 20
        /// MPI_Allreduce calls per window end.
        var callsPerRound = 1
    }

    static let cases: [Case] = [
        Case(name: "SGD momentum, clip by norm, no accumulation", wrapper: DataParallelCheck.defaultWrapper,
             iterations: 8, accumulation: 1),
        Case(name: "SGD momentum, clip by norm, accumulation 3", wrapper: DataParallelCheck.defaultWrapper,
             iterations: 12, accumulation: 3),
        Case(name: "short last window (10 iterations, windows of 4)", wrapper: DataParallelCheck.defaultWrapper,
             iterations: 10, accumulation: 4),
        Case(name: "AmpOptimWrapper dynamic scale + Adam, accumulation 2",
             wrapper: "{type: AmpOptimWrapper, loss_scale: dynamic, optimizer: {type: Adam, lr: 0.05}, clip_grad: {max_norm: 1.0}}",
             iterations: 8, accumulation: 2),
        // 9 + 3 gradient values and 4 + 1 flags in buckets of 8 floats: 3 calls a step.
        Case(name: "buckets of 32 bytes", wrapper: DataParallelCheck.defaultWrapper, iterations: 6, accumulation: 2,
             bucketBytes: 32, callsPerRound: 3),
    ]

    func testTwoRanksHoldIdenticalParametersEqualToOneProcessOverTheUnionOfTheirBatches() throws {
        let mpirun = try Self.mpirun()
        for c in Self.cases {
            let ranks = try Self.runUnderMPI(mpirun: mpirun, ranks: 2, c)
            XCTAssertEqual(ranks.count, 2, c.name)
            guard ranks.count == 2 else { continue }
            XCTAssertEqual(ranks[0].params, ranks[1].params, "\(c.name): ranks diverged")
            let single = try DataParallelCheck.run(registry: Self.registry, wrapperYAML: c.wrapper, iterations: c.iterations,
                                                   accumulation: c.accumulation, ranks: 2, communicator: nil)
            XCTAssertEqual(single.stepsTaken, ranks[0].stepsTaken, c.name)
            for (a, b) in zip(single.params.joined(), ranks[0].params.joined()) {
                // Only the order of the float sums differs.
                XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(a)), c.name)
            }
            let windows = (c.iterations + c.accumulation - 1) / c.accumulation
            for r in ranks {
                XCTAssertEqual(r.rounds, windows, "\(c.name): one synchronization per optimizer step")
                XCTAssertEqual(r.calls, windows * c.callsPerRound, "\(c.name): all-reduce calls")
            }
        }
    }

    func testWithoutReductionRanksWouldDivergeSoTheComparisonCanFail() throws {
        // Each rank alone (its own batch only) ends elsewhere than the union: the check above
        // compares numbers that actually depend on the all-reduce.
        let union = try DataParallelCheck.run(registry: Self.registry, iterations: 8, accumulation: 1, ranks: 2, communicator: nil)
        let alone = try DataParallelCheck.run(registry: Self.registry, iterations: 8, accumulation: 1, ranks: 1, communicator: nil)
        let gap = zip(union.params.joined(), alone.params.joined()).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(gap, 1e-3)
    }

    func testReductionsStartedDuringBackwardGiveTheSameParameters() throws {
        let mpirun = try Self.mpirun()
        // 12 gradient floats in buckets of 4: three start during backward, the flags' two at the step.
        let c = Case(name: "overlap, buckets of 16 bytes", wrapper: DataParallelCheck.defaultWrapper,
                     iterations: 8, accumulation: 2, bucketBytes: 16)
        let plain = try Self.runUnderMPI(mpirun: mpirun, ranks: 2, c)
        let overlapped = try Self.runUnderMPI(mpirun: mpirun, ranks: 2, c, extra: ["--overlap"])
        XCTAssertEqual(overlapped[0].params, overlapped[1].params)
        XCTAssertEqual(overlapped[0].params, plain[0].params, "the same sums, started earlier")
        XCTAssertEqual(plain[0].overlappedCalls, 0)
        // 4 windows × 5 buckets; the first window learns the layout and does not overlap.
        XCTAssertEqual(overlapped[0].calls, 20)
        XCTAssertEqual(overlapped[0].overlappedCalls, 3 * 3)
    }

    func testAnOverflowOnOneRankIsSkippedOnEveryRank() throws {
        // The infinity is summed into every rank's gradient, so the loss scaler of each rank
        // sees it, skips the same step and backs off the same way.
        let mpirun = try Self.mpirun()
        let c = Case(name: "overflow on rank 1 at iteration 2",
                     wrapper: "{type: AmpOptimWrapper, loss_scale: dynamic, optimizer: {type: Adam, lr: 0.05}}",
                     iterations: 5, accumulation: 1)
        let ranks = try Self.runUnderMPI(mpirun: mpirun, ranks: 2, c, extra: ["--non-finite-at", "2:1"])
        let single = try DataParallelCheck.run(registry: Self.registry, wrapperYAML: c.wrapper, iterations: 5, accumulation: 1,
                                               ranks: 2, nonFiniteAt: (2, 1), communicator: nil)
        for r in ranks {
            XCTAssertEqual(r.stepsTaken, 4, "rank \(r.rank)")
            XCTAssertEqual(r.lossScale, single.lossScale, "rank \(r.rank)")
        }
        XCTAssertEqual(single.stepsTaken, 4)
        XCTAssertLessThan(single.lossScale, 65536, "the scale backed off")
        XCTAssertEqual(ranks[0].params, ranks[1].params)
        XCTAssertFalse(ranks[0].params.joined().contains { !$0.isFinite })
    }

    // MARK: In process (no MPI): where communication happens

    /// One rank of one: sums are the identity, calls are counted.
    final class CountingCommunicator: Communicator, @unchecked Sendable {
        let rank = 0, size = 1
        var calls = 0
        func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws { calls += 1 }
        func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws { calls += 1 }
        func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {}
        func allGather(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
            _ = receive.initialize(from: send)
        }
        func barrier() throws {}
    }

    func testNoCommunicationInsideAnAccumulationWindow() throws {
        let params = WrapperFixtures.params()
        let wrapper = try OptimWrapper(registry: Self.registry,
                                       config: try WrapperFixtures.config("{optimizer: {type: SGD, lr: 0.1}, accumulative_counts: 4}"),
                                       params: params)
        try wrapper.initializeCountStatus(maxCounts: 12)
        let comm = CountingCommunicator()
        let sync = GradientAllReduce(communicator: comm)
        wrapper.gradientSync = sync
        var callsAfter: [Int] = []
        for _ in 0..<12 {
            try wrapper.updateParams(loss: 1) { factor in
                for p in params { p.setGrad([Float](repeating: Float(factor), count: p.count)) }
            }
            callsAfter.append(comm.calls)
        }
        XCTAssertEqual(callsAfter, [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3])
        XCTAssertEqual(sync.rounds, 3)
    }

    func testAParameterWithoutAGradientStaysWithoutOneAndANonFiniteLossIsShared() throws {
        let params = WrapperFixtures.params()
        let sync = GradientAllReduce(communicator: CountingCommunicator())
        params[0].setGrad([Float](repeating: 2, count: params[0].count))
        for p in params.dropFirst() { p.hasGrad = false }
        XCTAssertTrue(try sync.synchronize(params, lossNonFinite: true))
        XCTAssertTrue(params[0].hasGrad)
        XCTAssertEqual(params[0].grad.first, 2)
        XCTAssertFalse(params.dropFirst().contains { $0.hasGrad })
        XCTAssertFalse(try sync.synchronize(params, lossNonFinite: false))
    }

    // MARK: Helpers

    static func mpirun() throws -> String {
        for dir in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/mpirun") {
            return dir + "/mpirun"
        }
        throw XCTSkip("mpirun is missing: bash scripts/setup.sh installs Open MPI (openmpi-bin, libopenmpi-dev)")
    }

    /// Runs `stepwise dist-check` on `ranks` processes over loopback shared memory and
    /// returns every rank's result.
    static func runUnderMPI(mpirun: String, ranks: Int, _ c: Case, extra: [String] = [],
                            keepIn dir: String? = nil) throws -> [DataParallelCheck.Result] {
        try runUnderMPI(mpirun: mpirun, ranks: ranks, name: c.name, arguments: [
            "--iterations", "\(c.iterations)", "--accumulation", "\(c.accumulation)",
            "--bucket-bytes", "\(c.bucketBytes)", "--wrapper", c.wrapper] + extra, keepIn: dir)
    }

    static func runUnderMPI(mpirun: String, ranks: Int, name: String, arguments: [String],
                            keepIn keep: String? = nil) throws -> [DataParallelCheck.Result] {
        let stepwise = (buildDir as NSString).appendingPathComponent("stepwise")
        guard FileManager.default.isExecutableFile(atPath: stepwise) else {
            throw StepwiseError.usage("no stepwise binary in \(buildDir): build the package with `swift build` first")
        }
        let dir = keep ?? PluginBuilder.folder()
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: dir) } }
        let out = (dir as NSString).appendingPathComponent("check")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mpirun)
        p.arguments = MPILaunch.arguments(ranks: ranks) + [stepwise, "dist-check", "--ranks", "\(ranks)", "--out", out] + arguments
        p.environment = MPILaunch.environment(ProcessInfo.processInfo.environment)
        let log = Pipe()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        let text = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw StepwiseError.usage("mpirun -n \(ranks) stepwise dist-check (\(name)) exited \(p.terminationStatus):\n\(text)")
        }
        return try (0..<ranks).map { r in
            try JSONDecoder().decode(DataParallelCheck.Result.self,
                                     from: Data(contentsOf: URL(fileURLWithPath: "\(out).rank\(r).json")))
        }
    }
}
