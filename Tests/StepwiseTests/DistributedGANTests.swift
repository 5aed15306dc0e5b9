import Foundation
import XCTest
@testable import Stepwise

/// `stepwise gan --ranks 2`: relaunches itself under mpirun; rank 0 alone logs and writes.
final class DistributedGANTests: XCTestCase {
    func testGANRunsDataParallelWithRankZeroAloneWriting() throws {
        _ = try DistributedTests.mpirun() // skips without Open MPI
        let stepwise = (DistributedTests.buildDir as NSString).appendingPathComponent("stepwise")
        let dir = PluginBuilder.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = PluginBuilder.root.appendingPathComponent("configs/gan.yaml").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: stepwise)
        p.arguments = ["gan", "--ranks", "2", "--steps", "60", "--config", config, "--out", dir]
        p.environment = ProcessInfo.processInfo.environment
        let log = Pipe()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        let text = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertEqual(text.components(separatedBy: "stepwise gan: 60 steps").count - 1, 1, "one banner, from rank 0:\n\(text)")
        XCTAssertTrue(text.contains("on 2 ranks"), text)
        for name in ["summary.json", "samples.svg", "losses.svg", "lr.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(name)), name)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        XCTAssertFalse(files.contains { $0.contains("rank") }, "other ranks write elsewhere: \(files)")
    }
}
