import Foundation
import Stepwise
import StepwiseExamples
import XCTest

final class GANTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let registry = PluginRegistry.load(.init(includeEnvironment: false))

    func folder() -> String {
        let dir = NSTemporaryDirectory() + "gan-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The shipped config with checkpoints every `interval` iterations.
    func config(checkpointEvery interval: Int, in dir: String) throws -> String {
        var text = try String(contentsOfFile: Self.root.appendingPathComponent("configs/gan.yaml").path, encoding: .utf8)
        text = text.replacingOccurrences(of: "checkpoint: {type: CheckpointHook, interval: 5000, by_epoch: false, max_keep_ckpts: 1}",
                                         with: "checkpoint: {type: CheckpointHook, interval: \(interval), by_epoch: false}")
        XCTAssertTrue(text.contains("interval: \(interval), by_epoch: false}"), "the shipped config changed shape")
        let path = dir + "/gan.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func run(_ options: GANOptions) throws -> (GANResult, GANTrainer) {
        try GANRun.run(options, registry: Self.registry) { _, _ in }
    }

    /// A few hundred steps move both losses and pull the samples from the origin toward
    /// the ring, and every output is written.
    func testAShortRunLearns() throws {
        let dir = folder()
        var options = GANOptions(config: try config(checkpointEvery: 300, in: dir), steps: 300, seed: 7, out: dir)
        options.writeOutputs = true
        let (result, trainer) = try run(options)
        XCTAssertEqual(result.iterationsRun, 300)
        let h = trainer.history
        XCTAssertEqual(h.count, 300)
        let early = h.prefix(20).map { Double($0.lossG) }.reduce(0, +) / 20
        let late = h.suffix(20).map { Double($0.lossG) }.reduce(0, +) / 20
        XCTAssertGreaterThan(abs(late - early), 0.05, "generator loss does not move")
        func meanRadius(_ t: GANTrainer) -> Double {
            let points = t.generate(count: 2000, stream: 1)
            var sum = 0.0
            for i in 0..<2000 {
                let x = Double(points[2 * i]), y = Double(points[2 * i + 1])
                sum += (x * x + y * y).squareRoot()
            }
            return sum / 2000
        }
        let untrained = try GANTrainer(config: ConfigLoader.load(path: options.config), registry: Self.registry, seed: 7, steps: 300)
        let before = meanRadius(untrained), after = meanRadius(trainer)
        XCTAssertLessThan(abs(after - 2), abs(before - 2) - 0.5,
                          "samples should spread toward the ring of radius 2: mean radius \(before) before, \(after) after")
        for file in ["samples.svg", "losses.svg", "lr.svg", "summary.json", "iter_300.safetensors", "last_checkpoint"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + file), file)
        }
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/summary.json"))) as? [String: Any]
        XCTAssertEqual(summary?["steps"] as? Int, 300)
        XCTAssertEqual((summary?["evaluations"] as? [Any])?.count, 1)
    }

    /// N + M iterations with a resume in between give bit-identical parameters to N + M
    /// straight, with schedulers, loss scaler, Adam state and random streams restored.
    func testResumeIsBitIdentical() throws {
        let straightDir = folder(), resumedDir = folder()
        var straight = GANOptions(config: try config(checkpointEvery: 150, in: straightDir), steps: 300, seed: 3, out: straightDir)
        straight.writeOutputs = false
        let (_, a) = try run(straight)

        var resumed = straight
        resumed.out = resumedDir
        resumed.resume = straightDir + "/iter_150.safetensors"
        let (result, b) = try run(resumed)
        XCTAssertEqual(result.iterationsRun, 150)
        for (p, q) in zip(a.gParams + a.dParams, b.gParams + b.dParams) {
            XCTAssertEqual(p.values.map(\.bitPattern), q.values.map(\.bitPattern), p.name)
        }
        XCTAssertEqual(a.dWrapper.lossScale, b.dWrapper.lossScale)
        XCTAssertEqual(a.history.map(\.lrG), b.history.map(\.lrG))
    }

    /// Truncated or corrupted checkpoints are refused with an error; nothing is loaded.
    func testDamagedCheckpointsAreRefused() throws {
        let dir = folder()
        var options = GANOptions(config: try config(checkpointEvery: 50, in: dir), steps: 50, seed: 1, out: dir)
        options.writeOutputs = false
        _ = try run(options)
        let good = try Data(contentsOf: URL(fileURLWithPath: dir + "/iter_50.safetensors"))
        let damaged: [(String, Data)] = [
            ("truncated", good.prefix(good.count / 2)),
            ("empty", Data()),
            ("garbage header", Data(repeating: 0xFF, count: 16) + good.dropFirst(16)),
        ]
        for (name, bytes) in damaged {
            let path = dir + "/\(name).safetensors"
            try bytes.write(to: URL(fileURLWithPath: path))
            var resume = options
            resume.resume = path
            XCTAssertThrowsError(try run(resume), name)
        }
    }
}
