import Foundation
import XCTest

@testable import Stepwise

/// What `stepwise schedule` prints and draws.
final class ScheduleOutputTests: XCTestCase {
    static let twoGroups = """
        {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0001},
         "param_groups": [{"lr": 0.1}, {"lr": 0.05, "momentum": 0.8}],
         "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "end": 6},
                             {"type": "CosineAnnealingLR", "begin": 2, "eta_min_ratio": 0.05, "convert_to_iter_based": true},
                             {"type": "StepParamScheduler", "param_name": "weight_decay", "step_size": 2, "gamma": 0.5}]}
        """

    func testCSVHasOneRowPerIterationAndAColumnPerValueAndGroup() throws {
        let trace = try simulate(Self.twoGroups, epochs: 3, iters: 4)
        let lines = trace.csv().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "iter,epoch,lr[0],lr[1],momentum[0],momentum[1],weight_decay[0],weight_decay[1]")
        XCTAssertEqual(lines.count, 1 + 12)
        XCTAssertEqual(lines[1], "0,0,0.010000000000000002,0.005000000000000001,0.9,0.8,0.0001,0.0001")
        XCTAssertTrue(lines[12].hasPrefix("11,2,"), lines[12])
        // Every cell reads back to the recorded double.
        let cells = lines[5].split(separator: ",").dropFirst(2).compactMap { Double($0) }
        XCTAssertEqual(cells, trace.columns.map { trace.values[$0.key]![$0.group][4] })
    }

    func testJSONKeepsEveryGroup() throws {
        let trace = try simulate(Self.twoGroups, epochs: 3, iters: 2)
        // Read back with the config reader: JSONSerialization on Linux rounds doubles.
        let back = try ConfigLoader.parse(string: trace.json(), format: .json, origin: "trace")
        let values = try XCTUnwrap(back["values"]?.dict)
        for key in ["lr", "momentum", "weight_decay"] {
            let groups = values[key]?.list?.map { $0.list?.compactMap(\.double) ?? [] }
            XCTAssertEqual(groups, trace.values[key], "\(key) does not read back exactly")
        }
        XCTAssertEqual(back["iters_per_epoch"]?.int, 2)
    }

    func testTableThinsRowsButKeepsTheLast() throws {
        let trace = try simulate(Self.twoGroups, epochs: 3, iters: 4)
        let rows = trace.table(every: 3).split(separator: "\n").dropFirst().map {
            Int($0.split(separator: " ").first ?? "") ?? -1
        }
        XCTAssertEqual(rows, [0, 3, 6, 9, 11])
    }

    func testEpochLinesThinOutOnLongRuns() {
        XCTAssertEqual([6, 20, 21, 40, 100, 101, 200, 1000].map(SchedulePlot.markStep), [1, 1, 2, 2, 5, 5, 10, 50])
    }

    /// The chart renders in a real SVG renderer (librsvg), with its panels and epoch lines.
    func testPlotRendersWithRSVG() throws {
        let trace = try simulate(Self.twoGroups, epochs: 6, iters: 10)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stepwise-plot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let svg = dir.appendingPathComponent("lr.svg").path, png = dir.appendingPathComponent("lr.png").path
        try SchedulePlot.write(trace, title: "two groups", to: svg)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        for needle in ["learning rate", "momentum", "weight_decay", "lr, group 1", "epoch 5", "iteration (6 epochs of 10)"] {
            XCTAssertTrue(text.contains(needle), "the chart has no '\(needle)'")
        }
        let rsvg = ["/usr/bin/rsvg-convert", "/usr/local/bin/rsvg-convert"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let rsvg else { throw XCTSkip("rsvg-convert is not installed") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: rsvg)
        p.arguments = [svg, "-o", png]
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, stderr)
        XCTAssertTrue(stderr.isEmpty, "rsvg-convert complained: \(stderr)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        XCTAssertEqual(Array(bytes.prefix(4)), [0x89, 0x50, 0x4E, 0x47], "not a PNG")
        XCTAssertGreaterThan(bytes.count, 10_000, "the PNG is suspiciously small")
    }
}
