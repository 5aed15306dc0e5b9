import Foundation
import XCTest
@testable import Stepwise

final class PlotScatterTests: XCTestCase {
    /// Two rings of points, like a 2-D GAN's real and generated samples.
    static func ring(_ n: Int, radius: Double, phase: Double) -> (x: [Double], y: [Double]) {
        let angles = (0..<n).map { Double($0) * 2.399963 + phase }
        return (angles.map { radius * cos($0) + 0.1 * sin(7 * $0) }, angles.map { radius * sin($0) * 0.5 + 0.1 * cos(5 * $0) })
    }

    static var samples: ScatterPlot {
        let real = ring(600, radius: 2, phase: 0), fake = ring(400, radius: 1.6, phase: 1)
        return ScatterPlot(title: "samples, epoch 20", xLabel: "x₁", yLabel: "x₂", series: [
            ScatterSeries(name: "real", x: real.x, y: real.y, color: "#7f7f7f", radius: 2, opacity: 0.35),
            ScatterSeries(name: "generated", x: fake.x, y: fake.y, color: "#d62728", radius: 2.5, opacity: 0.7),
        ], equalAspect: true)
    }

    func circles(_ doc: SVGInspector, in group: String) -> [(Double, Double)] {
        var out: [(Double, Double)] = []
        var inside = false
        for e in doc.elements {
            if e.attributes["class"] == "scatter-series" { inside = e.attributes["data-name"] == group; continue }
            if inside, e.name == "circle", e.attributes["class"] == nil, let x = e.attributes["cx"].flatMap(Double.init), let y = e.attributes["cy"].flatMap(Double.init) {
                out.append((x, y))
            }
        }
        return out
    }

    func testOneGroupPerSetAndOneMarkerPerPoint() {
        let doc = SVGInspector.parse(Self.samples.svg())
        XCTAssertEqual(doc.withClass("scatter-series").map { $0.attributes["data-name"] }, ["real", "generated"])
        XCTAssertEqual(circles(doc, in: "real").count, 600)
        XCTAssertEqual(circles(doc, in: "generated").count, 400)
        XCTAssertEqual(doc.withClass("legend-label").map(\.text), ["real", "generated"])
        XCTAssertEqual(doc.withClass("scatter-series").last?.attributes["fill-opacity"], "0.7")
    }

    func testEqualAspectKeepsUnitsEqualOnBothAxes() throws {
        let plot = ScatterPlot(series: [ScatterSeries(name: "p", x: [0, 10, 0], y: [0, 0, 1])], equalAspect: true)
        let doc = SVGInspector.parse(plot.svg())
        let c = circles(doc, in: "p")
        XCTAssertEqual(c.count, 3)
        let xUnit = abs(c[1].0 - c[0].0) / 10, yUnit = abs(c[2].1 - c[0].1) / 1
        XCTAssertEqual(xUnit, yUnit, accuracy: 0.02 * xUnit)
        let frame = try XCTUnwrap(doc.named("rect").first { $0.attributes["fill"] == "none" })
        let left = try XCTUnwrap(frame.attributes["x"].flatMap(Double.init))
        let width = try XCTUnwrap(frame.attributes["width"].flatMap(Double.init))
        XCTAssertTrue(c.allSatisfy { $0.0 >= left && $0.0 <= left + width }, "all data stays visible")
    }

    func testBadPointsAreSkippedAndDuplicatesDrawnOnce() {
        let plot = ScatterPlot(series: [
            ScatterSeries(name: "p", x: [0, .nan, 1, 1, 1, .infinity, 2], y: [0, 1, .nan, 1, 1, 1, 2]),
            ScatterSeries(name: "empty", x: [], y: []),
        ])
        let doc = SVGInspector.parse(plot.svg())
        XCTAssertEqual(circles(doc, in: "p").count, 3)
        XCTAssertEqual(circles(doc, in: "empty").count, 0)
    }

    func testLargeSetsAreThinnedToTheLimit() {
        let n = 100_000
        let xs = (0..<n).map { Double($0 % 997) / 997 }, ys = (0..<n).map { Double(($0 * 31) % 1009) / 1009 }
        var plot = ScatterPlot(series: [ScatterSeries(name: "many", x: xs, y: ys)])
        plot.maxPointsPerSeries = 5_000
        let svg = plot.svg()
        let doc = SVGInspector.parse(svg)
        XCTAssertLessThanOrEqual(circles(doc, in: "many").count, 5_000)
        XCTAssertGreaterThan(circles(doc, in: "many").count, 4_000)
        XCTAssertLessThan(svg.utf8.count, 5_000 * 50)
    }

    func testEmptyAndDegeneratePlotsStillRender() {
        for plot in [ScatterPlot(series: []), ScatterPlot(series: [ScatterSeries(name: "one", x: [3], y: [3])], equalAspect: true),
                     ScatterPlot(series: [ScatterSeries(name: "nan", x: [.nan], y: [.nan])])] {
            let doc = SVGInspector.parse(plot.svg())
            XCTAssertEqual(doc.root?.name, "svg")
            for e in doc.elements {
                for (k, v) in e.attributes where ["x", "y", "cx", "cy", "width", "height"].contains(k) {
                    XCTAssertNotNil(Double(v), "\(e.name) \(k)=\(v)")
                }
            }
        }
    }
}
