import Foundation
import XCTest
@testable import Stepwise

/// A save that dies at any point leaves the previous checkpoint loadable, and its leftover
/// temporary file is removed by the next save.
final class CheckpointAtomicSaveTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        // The child process of the kill test works in its parent's folder.
        if ProcessInfo.processInfo.environment[Self.childEnvironmentKey] == nil {
            folder = try makeScratchFolder("\(type(of: self))")
        }
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    func partials() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".partial") }.sorted()
    }

    func testDyingAtAnyPointOfASaveKeepsThePreviousFile() throws {
        let path = folder + "/ckpt.safetensors"
        let old = ["w": SafetensorsTensor(shape: [4], float32: [1, 2, 3, 4])]
        try Safetensors.save(old, metadata: ["epoch": "1"], to: path)
        let new: [String: any SafetensorsSource] = [
            "w": SafetensorsTensor(shape: [4], float32: [5, 6, 7, 8]),
            "big": CheckpointSafetensorsTests.ChunkedRamp(count: 400_000, chunk: 1000),
        ]
        // In the length field, in the header, at the first data byte, deep inside the data.
        for cut in [0, 3, 8, 40, 200, 1_200_000] {
            XCTAssertThrowsError(try Safetensors.save(new, metadata: ["epoch": "2"], to: path,
                                                      fault: AtomicFile.Fault(dieAfterBytes: cut)))
            let loaded = try Safetensors.load(path)
            XCTAssertEqual(loaded.metadata, ["epoch": "1"], "cut at \(cut)")
            XCTAssertEqual(loaded.tensors, old, "cut at \(cut)")
            let leftovers = try partials()
            XCTAssertEqual(leftovers.count, 1, "cut at \(cut)")
            let size = try FileManager.default.attributesOfItem(atPath: "\(folder)/\(leftovers[0])")[.size] as? Int
            XCTAssertEqual(size, cut, "the temporary file holds exactly what was written before the cut")
            // Give the leftover a writer that no longer exists, as after a real crash.
            try FileManager.default.moveItem(atPath: "\(folder)/\(leftovers[0])",
                                             toPath: "\(folder)/.ckpt.safetensors.\(Int32.max).dead.partial")
            try Safetensors.save(old, metadata: ["epoch": "1"], to: path)
            XCTAssertEqual(try partials(), [], "the next save removes a dead writer's temporary")
        }
    }

    func testLiveWritersTemporariesAndOtherFilesAreLeftAlone() throws {
        let path = folder + "/ckpt.safetensors"
        let mine = ".ckpt.safetensors.\(getpid()).feed.partial"       // a concurrent save here
        let other = ".other.safetensors.\(Int32.max).feed.partial"    // a different target
        for name in [mine, other] { _ = FileManager.default.createFile(atPath: "\(folder)/\(name)", contents: Data()) }
        try Safetensors.save([:], to: path)
        XCTAssertEqual(try partials(), [mine, other].sorted())
    }

    func testSaveIntoAMissingFolderFailsWithoutTouchingAnything() {
        let path = folder + "/no/such/ckpt.safetensors"
        XCTAssertThrowsError(try Safetensors.save([:], to: path)) { error in
            guard case .write(let w)? = (error as? SafetensorsError)?.problem else { return XCTFail("\(error)") }
            XCTAssertEqual(w.code, ENOENT)
            XCTAssertTrue(w.description.hasPrefix("cannot save \(path): create a temporary file"), w.description)
        }
    }

    // MARK: A real kill

    static let childEnvironmentKey = "STEPWISE_TEST_SAVER_CHILD_TARGET"

    /// Kills (SIGKILL) a separate process running this test binary while it saves in a
    /// loop, then checks that the file on disk is a complete checkpoint and that the next
    /// save cleans the dead process's temporary file.
    func testKilledSaverProcessLeavesACompleteCheckpoint() throws {
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let path = folder + "/ckpt.safetensors"
        let child = Process()
        child.executableURL = URL(fileURLWithPath: exe)
        child.arguments = ["StepwiseTests.CheckpointAtomicSaveTests/testChildSaverHelper"]
        child.environment = ProcessInfo.processInfo.environment.merging([Self.childEnvironmentKey: path]) { $1 }
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        defer { if child.isRunning { child.terminate() } }

        // Wait until one save has completed and the next one is under way, then kill.
        var polls = 0
        while true {
            if FileManager.default.fileExists(atPath: path), try partials().count == 1 { break }
            guard child.isRunning, polls < 120_000 else {
                return XCTFail("the child saver never reached its second save (running: \(child.isRunning))")
            }
            polls += 1
            usleep(500)
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)

        let loaded = try Safetensors.load(path)
        let generation = try XCTUnwrap(loaded.metadata["generation"].flatMap(Int.init))
        guard case .float32(let values)? = loaded.tensors["w"]?.storage else { return XCTFail("no tensor w") }
        XCTAssertEqual(values.count, Self.childTensorCount)
        XCTAssertTrue(values.allSatisfy { $0 == Float(generation) }, "a mix of two saves in generation \(generation)")

        try Safetensors.save([:], to: path)
        XCTAssertEqual(try partials(), [], "the next save removes the killed writer's temporary")
    }

    static let childTensorCount = 2_000_000

    /// The child side of the test above: saves forever until killed. Skipped when run
    /// normally, since it only makes sense as a separate process.
    func testChildSaverHelper() throws {
        guard let path = ProcessInfo.processInfo.environment[Self.childEnvironmentKey] else {
            throw XCTSkip("helper for testKilledSaverProcessLeavesACompleteCheckpoint; runs only in the child process")
        }
        var generation = 0
        while true {
            generation += 1
            let w = SafetensorsTensor(shape: [Self.childTensorCount],
                                      float32: [Float](repeating: Float(generation), count: Self.childTensorCount))
            try Safetensors.save(["w": w], metadata: ["generation": "\(generation)"], to: path)
        }
    }
}
