import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Stepwise

/// Parses an SVG document and collects its elements, failing the test on malformed XML.
final class SVGInspector: NSObject, XMLParserDelegate {
    struct Element { var name: String; var attributes: [String: String]; var text: String }
    private(set) var elements: [Element] = []
    private var open: [Int] = []
    private(set) var error: String?

    static func parse(_ svg: String, file: StaticString = #filePath, line: UInt = #line) -> SVGInspector {
        let inspector = SVGInspector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = inspector
        let ok = parser.parse()
        XCTAssertTrue(ok, "malformed SVG: \(parser.parserError.map { "\($0)" } ?? inspector.error ?? "?")", file: file, line: line)
        return inspector
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        open.append(elements.count)
        elements.append(Element(name: name, attributes: attributes, text: ""))
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let i = open.last { elements[i].text += string }
    }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        open.removeLast()
    }
    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = "\(parseError)" }

    func withClass(_ c: String) -> [Element] { elements.filter { $0.attributes["class"] == c } }
    func named(_ n: String) -> [Element] { elements.filter { $0.name == n } }
    var root: Element? { elements.first }
}

final class PlotChartTests: XCTestCase {
    /// A decaying loss with deterministic noise.
    static let noisy: [Double] = {
        var state: UInt64 = 42
        return (0..<3000).map { (i: Int) -> Double in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let noise = Double(state >> 11) / Double(1 << 53) - 0.5
            return 2.0 * exp(-Double(i) / 800.0) + 0.4 * noise
        }
    }()

    /// Charts that exercise every feature and edge case, with the number of series paths,
    /// raw (unsmoothed copy) paths and legend rows each must produce.
    static let charts: [(label: String, chart: LineChart, series: Int, raw: Int, legend: Int)] = [
        ("simple", LineChart(title: "loss", xLabel: "iter", yLabel: "loss",
                             series: [ChartSeries(name: "G", y: [3, 2, 1.5, 1.2]), ChartSeries(name: "D", y: [0.7, 0.69, 0.71, 0.7])]),
         2, 0, 2),
        ("lr and momentum with epochs", LineChart(
            title: "OneCycleLR", xLabel: "iteration",
            panels: [ChartPanel(yLabel: "lr", series: [ChartSeries(name: "group 0", y: (0..<500).map { 0.1 * sin(Double($0) / 160) + 0.1 })]),
                     ChartPanel(yLabel: "momentum", series: [ChartSeries(name: "group 0", y: (0..<500).map { 0.95 - 0.1 * sin(Double($0) / 160) })],
                                relativeHeight: 0.6)],
            marks: (0...10).map { ChartMark(x: Double($0 * 50), label: "epoch \($0)") }),
         2, 0, 2),
        ("log scale with zeros", LineChart(title: "lr", series: [ChartSeries(name: "lr", y: [1e-1, 1e-2, 0, 1e-4, -1, 1e-6])], yScale: .log),
         1, 0, 1),
        ("smoothed noisy loss", LineChart(title: "losses", series: [ChartSeries(name: "loss", y: noisy, smoothing: 0.9)]), 1, 1, 1),
        ("empty everything", LineChart(panels: []), 0, 0, 0),
        ("empty series", LineChart(title: "nothing yet", series: [ChartSeries(name: "loss", y: [])]), 1, 0, 1),
        ("constant", LineChart(series: [ChartSeries(name: "lr", x: [5, 5, 5], y: [0.1, 0.1, 0.1])]), 1, 0, 1),
        ("constant zero", LineChart(series: [ChartSeries(name: "wd", y: [0, 0, 0, 0])]), 1, 0, 1),
        ("non-finite", LineChart(series: [ChartSeries(name: "x", x: [0, 1, .nan, 3, 4, 5], y: [1, .infinity, 2, -.infinity, 3, .nan])]), 1, 0, 1),
        ("all NaN", LineChart(series: [ChartSeries(name: "x", y: [.nan, .nan])]), 1, 0, 1),
        ("markup in names", LineChart(title: "<script>&\"'", xLabel: "a < b", yLabel: "c > d",
                                      series: [ChartSeries(name: "G & D \"x\" \u{1}\u{7}\n<y>", y: [1, 2], color: "red\"/><x a=\"")],
                                      marks: [ChartMark(x: 1, label: "</text>&")]), 1, 0, 1),
        ("many series", LineChart(series: (0..<14).map { k in ChartSeries(name: "series number \(k) with a rather long name indeed", y: [Double(k), Double(k) + 1]) }),
         14, 0, 14),
    ]

    func testEveryChartIsWellFormedWithOnePathPerSeries() {
        for (label, chart, series, raw, legend) in Self.charts {
            let svg = chart.svg()
            let doc = SVGInspector.parse(svg)
            XCTAssertEqual(doc.root?.name, "svg", label)
            XCTAssertEqual(doc.withClass("series").count, series, label)
            XCTAssertEqual(doc.withClass("series-raw").count, raw, label)
            XCTAssertEqual(doc.withClass("legend-label").count, legend, label)
            for path in doc.named("path") {
                let d = path.attributes["d"] ?? ""
                XCTAssertFalse(d.contains("nan") || d.contains("inf"), "\(label): \(d.prefix(80))")
            }
            for e in doc.elements {
                for (k, v) in e.attributes where ["x", "y", "x1", "x2", "y1", "y2", "width", "height", "cx", "cy"].contains(k) {
                    XCTAssertNotNil(Double(v), "\(label): \(e.name) \(k)=\(v)")
                }
            }
        }
    }

    func testTextIsEscapedAndNothingLeaksIntoMarkup() {
        let (_, chart, _, _, _) = Self.charts.first { $0.label == "markup in names" }!
        let doc = SVGInspector.parse(chart.svg())
        XCTAssertTrue(doc.named("script").isEmpty && doc.named("x").isEmpty && doc.named("y").isEmpty)
        XCTAssertEqual(doc.withClass("title").first?.text, "<script>&\"'")
        XCTAssertEqual(doc.withClass("legend-label").first?.text, "G & D \"x\"  <y>")
        XCTAssertEqual(doc.withClass("series").first?.attributes["stroke"], PlotPalette.colors[0], "not a colour: palette")
        XCTAssertEqual(xmlEscaped("a<b & \"c\" 'd'\u{0}\u{1B}\te>"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos; e&gt;")
    }

    func testNonFiniteValuesBreakTheLine() {
        let chart = LineChart(series: [ChartSeries(name: "x", y: [1, 2, .nan, 4, 5, .infinity, 7])])
        let d = SVGInspector.parse(chart.svg()).withClass("series").first?.attributes["d"] ?? ""
        XCTAssertEqual(d.filter { $0 == "M" }.count, 3, d)
        XCTAssertEqual(d.filter { $0 == "a" }.count, 2, "the lone last point is drawn as a dot: \(d)")
    }

    func testLogScaleSkipsValuesThatCannotBePlaced() {
        let (_, chart, _, _, _) = Self.charts.first { $0.label == "log scale with zeros" }!
        let doc = SVGInspector.parse(chart.svg())
        let d = doc.withClass("series").first?.attributes["d"] ?? ""
        XCTAssertEqual(d.filter { $0 == "M" }.count, 3, d)
        let labels = doc.withClass("tick-label").map(\.text)
        XCTAssertTrue(labels.contains("1e-6") && labels.contains("0.1"), "\(labels)")
    }

    func testHugeSeriesAreDecimatedButKeepTheirExtremes() throws {
        var y = (0..<200_000).map { 1 + 0.01 * sin(Double($0)) }
        y[123_456] = 50  // one spike must survive decimation
        let chart = LineChart(series: [ChartSeries(name: "loss", y: y)])
        let svg = chart.svg()
        XCTAssertLessThan(svg.utf8.count, 120_000)
        let doc = SVGInspector.parse(svg)
        let d = try XCTUnwrap(doc.withClass("series").first?.attributes["d"])
        let numbers = d.split(whereSeparator: { "ML ".contains($0) }).compactMap { Double($0) }
        XCTAssertLessThan(numbers.count / 2, 4 * 800)
        let ys = stride(from: 1, to: numbers.count, by: 2).map { numbers[$0] }
        let frame = try XCTUnwrap(doc.named("rect").first { $0.attributes["fill"] == "none" })
        let top = try XCTUnwrap(frame.attributes["y"].flatMap(Double.init))
        let spikeY = try XCTUnwrap(ys.min())
        // 5% margin above the spike: it sits just below the frame's top edge.
        XCTAssertEqual(spikeY, top + (try XCTUnwrap(frame.attributes["height"].flatMap(Double.init))) * 0.05 / 1.1, accuracy: 1)
    }

    func testMarkLabelsAreThinnedInsteadOfOverlapping() {
        let marks = (0...200).map { ChartMark(x: Double($0), label: "epoch \($0)") }
        let chart = LineChart(series: [ChartSeries(name: "lr", y: (0...200).map { Double($0) })], marks: marks)
        let doc = SVGInspector.parse(chart.svg())
        XCTAssertEqual(doc.withClass("mark").count, 201)
        let labels = doc.withClass("mark-label")
        XCTAssertGreaterThan(labels.count, 3)
        XCTAssertLessThan(labels.count, 20)
        let placed = labels.compactMap { l in l.attributes["x"].flatMap(Double.init).map { ($0, textWidth(l.text, size: 10)) } }
        for (a, b) in zip(placed, placed.dropFirst()) {
            XCTAssertGreaterThan(b.0 - a.0, (a.1 + b.1) / 2, "labels at \(a.0) and \(b.0) overlap")
        }
    }

    func testLegendSitsRightOfEveryPlotArea() throws {
        for (label, chart, _, _, _) in Self.charts {
            let doc = SVGInspector.parse(chart.svg())
            let frames = doc.named("rect").filter { $0.attributes["fill"] == "none" }
            let frameRight = frames.compactMap { f -> Double? in
                guard let x = f.attributes["x"].flatMap(Double.init), let w = f.attributes["width"].flatMap(Double.init) else { return nil }
                return x + w
            }.max() ?? 0
            let width = try XCTUnwrap(doc.root?.attributes["width"].flatMap(Double.init))
            for swatch in doc.withClass("legend-swatch") {
                let x = try XCTUnwrap(swatch.attributes["x1"].flatMap(Double.init))
                XCTAssertGreaterThan(x, frameRight, label)
            }
            for text in doc.withClass("legend-label") {
                let x = try XCTUnwrap(text.attributes["x"].flatMap(Double.init))
                XCTAssertLessThanOrEqual(x + textWidth(text.text, size: 12), width + 0.5, "\(label): legend runs off the image")
            }
        }
    }

    func testWriteReplacesTheFileAtomically() throws {
        let folder = try makeScratchFolder("\(type(of: self))")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/lr.svg"
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        let chart = Self.charts[1].chart
        try chart.write(to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), chart.svg())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["lr.svg"])
        XCTAssertThrowsError(try chart.write(to: folder + "/missing/lr.svg")) { error in
            XCTAssertEqual((error as? FileWriteError)?.code, ENOENT)
        }
    }
}
