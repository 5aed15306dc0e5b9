import Foundation
import XCTest
@testable import Stepwise

/// `stepwise gan --ranks 2`: relaunches itself under mpirun; rank 0 alone logs and writes.
final class DistributedGANTests: XCTestCase {
    /// Runs `stepwise gan ARGS`; fails the test on a non-zero exit. Returns its output.
    @discardableResult
    static func gan(_ args: [String], line: UInt = #line) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: (DistributedTests.buildDir as NSString).appendingPathComponent("stepwise"))
        p.arguments = ["gan"] + args
        let log = Pipe()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        let out = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "stepwise gan \(args.joined(separator: " ")):\n\(out)", line: line)
        return out
    }

    func testGANRunsDataParallelWithRankZeroAloneWriting() throws {
        _ = try DistributedTests.mpirun() // skips without Open MPI
        let dir = PluginBuilder.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = PluginBuilder.root.appendingPathComponent("configs/gan.yaml").path
        let text = try Self.gan(["--ranks", "2", "--steps", "60", "--config", config, "--out", dir])
        XCTAssertEqual(text.components(separatedBy: "stepwise gan: 60 steps").count - 1, 1, "one banner, from rank 0:\n\(text)")
        XCTAssertTrue(text.contains("on 2 ranks"), text)
        for name in ["summary.json", "samples.svg", "losses.svg", "lr.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(name)), name)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        XCTAssertFalse(files.contains { $0.contains("rank") }, "other ranks write elsewhere: \(files)")
    }

    /// `optimizer: {type: ZeroRedundancyOptimizer, optimizer_type: Adam}` in the shipped
    /// config: on 2 ranks each keeps half the Adam state, the checkpoint (gathered) equals
    /// an unsharded run's bit for bit, and it resumes on 1 process exactly as the
    /// unsharded checkpoint does.
    func testZeroShardedGANCheckpointsWholeAndResumesOnOneProcess() throws {
        _ = try DistributedTests.mpirun()
        let dir = PluginBuilder.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let plain = PluginBuilder.root.appendingPathComponent("configs/gan.yaml").path
        let text = try String(contentsOfFile: plain, encoding: .utf8)
        let zeroText = text.replacingOccurrences(of: "optimizer: {type: Adam,", with: "optimizer: {type: ZeroRedundancyOptimizer, optimizer_type: Adam,")
        XCTAssertEqual(zeroText.components(separatedBy: "ZeroRedundancyOptimizer").count - 1, 2, "both wrappers sharded")
        let zero = dir + "/zero.yaml"
        try zeroText.write(toFile: zero, atomically: true, encoding: .utf8)

        let log = try Self.gan(["--ranks", "2", "--steps", "40", "--config", zero, "--out", dir + "/z"])
        XCTAssertTrue(log.contains("rank 0 holds that of: generator 1 of 6, discriminator 1 of 6 parameters"), log)
        _ = try Self.gan(["--ranks", "2", "--steps", "40", "--config", plain, "--out", dir + "/p"])
        let sharded = try Safetensors.load(dir + "/z/iter_40.safetensors")
        let unsharded = try Safetensors.load(dir + "/p/iter_40.safetensors")
        XCTAssertTrue(sharded.tensors.keys.contains("generator.state.2.weight.exp_avg"), "\(sharded.tensors.keys.sorted())")
        XCTAssertEqual(Set(sharded.tensors.keys), Set(unsharded.tensors.keys), "the gathered state is whole")
        for (name, t) in unsharded.tensors where name.contains(".params.") || name.contains(".state.") {
            XCTAssertEqual(sharded.tensors[name], t, name)
        }

        _ = try Self.gan(["--steps", "60", "--config", zero, "--resume", dir + "/z/iter_40.safetensors", "--out", dir + "/z1"])
        _ = try Self.gan(["--steps", "60", "--config", plain, "--resume", dir + "/p/iter_40.safetensors", "--out", dir + "/p1"])
        let a = try Safetensors.load(dir + "/z1/iter_60.safetensors"), b = try Safetensors.load(dir + "/p1/iter_60.safetensors")
        for (name, t) in b.tensors where name.contains(".params.") { XCTAssertEqual(a.tensors[name], t, name) }
    }
}
