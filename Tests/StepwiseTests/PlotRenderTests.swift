import Foundation
import XCTest
@testable import Stepwise

/// Rasterizes charts with librsvg's `rsvg-convert` (Debian package librsvg2-bin); skipped
/// when it is not installed. Set STEPWISE_PLOT_PREVIEW_DIR to keep the SVGs and PNGs.
final class PlotRenderTests: XCTestCase {
    var folder = ""
    var converter = ""

    override func setUpWithError() throws {
        let candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            .split(separator: ":").map { "\($0)/rsvg-convert" }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("rsvg-convert is not installed (apt-get install librsvg2-bin)")
        }
        converter = found
        if let preview = ProcessInfo.processInfo.environment["STEPWISE_PLOT_PREVIEW_DIR"] {
            folder = preview
        } else {
            folder = try makeScratchFolder("\(type(of: self))")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if ProcessInfo.processInfo.environment["STEPWISE_PLOT_PREVIEW_DIR"] == nil {
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    /// Renders `svg` to PNG; returns the PNG's width and height from its IHDR chunk.
    func render(_ svg: String, name: String) throws -> (width: Int, height: Int, bytes: Int) {
        let svgPath = "\(folder)/\(name).svg", pngPath = "\(folder)/\(name).png"
        try Data(svg.utf8).write(to: URL(fileURLWithPath: svgPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: converter)
        process.arguments = ["--format=png", "--output=\(pngPath)", svgPath]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "rsvg-convert failed on \(name): \(message)")
        XCTAssertEqual(message, "", "rsvg-convert complained about \(name)")
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: pngPath)))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "not a PNG")
        guard png.count > 24 else { XCTFail("PNG too short"); return (0, 0, png.count) }
        func be32(_ at: Int) -> Int { png[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (be32(16), be32(20), png.count)
    }

    func testChartsRasterizeAtTheirDeclaredSize() throws {
        var schedule = PlotChartTests.charts.first { $0.label == "lr and momentum with epochs" }!.chart
        schedule.title = "OneCycleLR (by iteration, 10 epochs)"
        var losses = LineChart(title: "GAN losses", xLabel: "iteration", yLabel: "loss", series: [
            ChartSeries(name: "generator", y: PlotChartTests.noisy.map { $0 + 0.5 }, smoothing: 0.9),
            ChartSeries(name: "discriminator", y: PlotChartTests.noisy, smoothing: 0.9),
        ])
        losses.marks = (1...6).map { ChartMark(x: Double($0 * 500), label: "epoch \($0)") }
        let lrLog = LineChart(title: "ExponentialLR, log scale", xLabel: "epoch", yLabel: "lr",
                              series: [ChartSeries(name: "lr", y: (0..<60).map { 0.1 * pow(0.8, Double($0)) })], yScale: .log)
        let cases: [(String, String)] = [
            ("schedule", schedule.svg()), ("losses", losses.svg()), ("lr-log", lrLog.svg()),
            ("samples", PlotScatterTests.samples.svg()),
        ] + PlotChartTests.charts.map { ($0.label.replacingOccurrences(of: " ", with: "-"), $0.chart.svg()) }
        for (name, svg) in cases {
            let doc = SVGInspector.parse(svg)
            let width = try XCTUnwrap(doc.root?.attributes["width"].flatMap(Double.init))
            let height = try XCTUnwrap(doc.root?.attributes["height"].flatMap(Double.init))
            let png = try render(svg, name: name)
            XCTAssertEqual(png.width, Int(width.rounded()), name)
            XCTAssertEqual(png.height, Int(height.rounded()), name)
            XCTAssertGreaterThan(png.bytes, 2_000, "\(name): suspiciously empty image")
        }
    }
}
