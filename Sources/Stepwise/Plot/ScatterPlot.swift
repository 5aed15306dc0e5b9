import Foundation

/// One named set of 2-D points.
public struct ScatterSeries: Sendable, Equatable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// Any SVG colour; nil takes the next colour of `PlotPalette`.
    public var color: String?
    /// Marker radius in pixels.
    public var radius: Double
    /// Marker opacity in [0, 1]; overlapping markers darken, showing density.
    public var opacity: Double

    public init(name: String, x: [Double], y: [Double], color: String? = nil,
                radius: Double = 2.5, opacity: Double = 0.6) {
        self.name = name; self.x = x; self.y = y; self.color = color
        self.radius = radius; self.opacity = opacity
    }
}

/// A scatter plot rendered to a self-contained SVG document, e.g. real against generated
/// samples of a 2-D GAN:
///
/// ```swift
/// let plot = ScatterPlot(title: "samples, epoch 20", series: [
///     ScatterSeries(name: "real", x: rx, y: ry, color: "#7f7f7f", opacity: 0.3),
///     ScatterSeries(name: "generated", x: gx, y: gy, color: "#d62728")],
///     equalAspect: true)
/// try plot.write(to: "samples.svg")
/// ```
///
/// Points with a NaN or infinite coordinate are skipped. Markers falling on the same spot
/// (to a third of a pixel) are drawn once, and each set is thinned evenly to at most
/// `maxPointsPerSeries` markers, so files stay small for large sample sets.
public struct ScatterPlot: Sendable, Equatable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [ScatterSeries]
    /// One data unit spans the same number of pixels on both axes (circles stay round).
    public var equalAspect: Bool
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?
    public var width: Double
    public var height: Double
    public var maxPointsPerSeries: Int

    public init(title: String = "", xLabel: String = "", yLabel: String = "", series: [ScatterSeries],
                equalAspect: Bool = false, xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil,
                width: Double = 640, height: Double = 560, maxPointsPerSeries: Int = 20_000) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
        self.equalAspect = equalAspect; self.xRange = xRange; self.yRange = yRange
        self.width = width; self.height = height; self.maxPointsPerSeries = maxPointsPerSeries
    }

    /// Writes the SVG to `path` atomically (temporary file, then rename).
    public func write(to path: String) throws(FileWriteError) {
        do { try AtomicFile.write(svg(), to: path) } catch let error as FileWriteError {
            throw error
        } catch {
            throw FileWriteError(path: path, step: "\(error)", code: 0)
        }
    }

    /// The plot as an SVG document.
    public func svg() -> String {
        let legend = series.enumerated().map { i, s in
            LegendEntry(name: s.name, swatch: .marker(color: PlotPalette.color(s.color, index: i), radius: s.radius, opacity: s.opacity))
        }
        let top = title.isEmpty ? 14.0 : 42
        let bottom = 8 + 6 + AxesStyle.tickFontSize + 6 + (xLabel.isEmpty ? 0 : AxesStyle.labelFontSize + 10)
        let legendWidth = Legend.width(legend)
        let right = legendWidth > 0 ? legendWidth + 24 : 20
        let totalHeight = max(height, top + bottom + max(80, Legend.height(legend)))
        let plotHeight = totalHeight - top - bottom

        let points = series.flatMap { s in zip(s.x, s.y).filter { $0.isFinite && $1.isFinite } }
        let xs = points.map(\.0), ys = points.map(\.1)
        var (xLo, xHi) = xRange.map { ($0.lowerBound, $0.upperBound) } ?? axisExtent(xs, scale: .linear, margin: 0.05)
        var (yLo, yHi) = yRange.map { ($0.lowerBound, $0.upperBound) } ?? axisExtent(ys, scale: .linear, margin: 0.05)
        if !(xHi > xLo) || !xLo.isFinite || !xHi.isFinite { (xLo, xHi) = (0, 1) }
        if !(yHi > yLo) || !yLo.isFinite || !yHi.isFinite { (yLo, yHi) = (0, 1) }

        let yTicksFirst = Ticks.linear(lower: yLo, upper: yHi, target: AxesStyle.tickTarget(length: plotHeight, spacing: 50))
        let yLabelBand = yLabel.isEmpty ? 0 : AxesStyle.labelFontSize + 10
        // Room for labels of a y range widened below, which can be longer.
        let left = 10 + yLabelBand + max(AxesStyle.maxLabelWidth(yTicksFirst), 40) + 10
        let plotWidth = max(80, width - left - right)

        if equalAspect {
            // Equal scales without hiding data: the axis with more pixels per unit gets a
            // wider range until it matches the other.
            let sx = plotWidth / (xHi - xLo), sy = plotHeight / (yHi - yLo)
            if sx > sy {
                let span = plotWidth / sy, mid = (xLo + xHi) / 2
                (xLo, xHi) = (mid - span / 2, mid + span / 2)
            } else {
                let span = plotHeight / sx, mid = (yLo + yHi) / 2
                (yLo, yHi) = (mid - span / 2, mid + span / 2)
            }
        }

        let rect = PlotRect(x: left, y: top, width: plotWidth, height: plotHeight)
        let xMap = AxisMapping(scale: .linear, lower: xLo, upper: xHi, pixelFrom: rect.x, pixelTo: rect.right)
        let yMap = AxisMapping(scale: .linear, lower: yLo, upper: yHi, pixelFrom: rect.bottom, pixelTo: rect.y)
        let xTicks = Ticks.linear(lower: xLo, upper: xHi, target: AxesStyle.tickTarget(length: plotWidth, spacing: 80))
        let yTicks = Ticks.linear(lower: yLo, upper: yHi, target: AxesStyle.tickTarget(length: plotHeight, spacing: 50))

        var svg = SVGBuilder(width: max(width, rect.right + right), height: totalHeight)
        if !title.isEmpty {
            svg.text(title, x: rect.x + rect.width / 2, y: 26, size: AxesStyle.titleFontSize, anchor: .middle,
                     weight: "bold", cssClass: "title")
        }
        AxesStyle.draw(into: &svg, rect: rect, xMap: xMap, yMap: yMap, xTicks: xTicks, yTicks: yTicks, xLabels: true)
        svg.raw("<clipPath id=\"sw-clip-scatter\"><rect x=\"\(px(rect.x))\" y=\"\(px(rect.y))\" width=\"\(px(rect.width))\" height=\"\(px(rect.height))\"/></clipPath>")
        svg.raw("<g clip-path=\"url(#sw-clip-scatter)\">")
        for (i, s) in series.enumerated() {
            drawMarkers(s, color: PlotPalette.color(s.color, index: i), xMap: xMap, yMap: yMap, into: &svg)
        }
        svg.raw("</g>")
        if xs.isEmpty {
            svg.text("no data", x: rect.x + rect.width / 2, y: rect.y + rect.height / 2, size: 12, anchor: .middle,
                     color: "#999", cssClass: "empty-note")
        }
        if !legend.isEmpty { Legend.draw(legend, into: &svg, x: rect.right + 14, y: rect.y) }
        if !yLabel.isEmpty {
            svg.text(yLabel, x: 10 + AxesStyle.labelFontSize, y: rect.y + rect.height / 2, size: AxesStyle.labelFontSize,
                     anchor: .middle, rotate: true, cssClass: "axis-label")
        }
        if !xLabel.isEmpty {
            svg.text(xLabel, x: rect.x + rect.width / 2, y: rect.bottom + 6 + AxesStyle.tickFontSize + 8 + AxesStyle.labelFontSize,
                     size: AxesStyle.labelFontSize, anchor: .middle, cssClass: "axis-label")
        }
        return svg.document(title: title)
    }

    private func drawMarkers(_ s: ScatterSeries, color: String, xMap: AxisMapping, yMap: AxisMapping,
                             into svg: inout SVGBuilder) {
        let n = min(s.x.count, s.y.count)
        let stride = max(1, Int((Double(n) / Double(max(1, maxPointsPerSeries))).rounded(.up)))
        let opacity = min(max(s.opacity.isFinite ? s.opacity : 1, 0), 1)
        let r = px(max(0.5, s.radius.isFinite ? s.radius : 2.5))
        svg.raw("<g class=\"scatter-series\" data-name=\"\(xmlEscaped(s.name))\" fill=\"\(xmlEscaped(color))\" fill-opacity=\"\(String(format: "%.3g", opacity))\">")
        var seen = Set<Int64>()
        var i = 0
        while i < n {
            defer { i += stride }
            guard s.x[i].isFinite, s.y[i].isFinite else { continue }
            let x = xMap.pixel(s.x[i]), y = yMap.pixel(s.y[i])
            guard x > -1e6, x < 1e6, y > -1e6, y < 1e6 else { continue }
            let key = Int64((x * 3).rounded()) << 32 ^ Int64((y * 3).rounded())
            guard seen.insert(key).inserted else { continue }
            svg.raw("<circle cx=\"\(px(x))\" cy=\"\(px(y))\" r=\"\(r)\"/>")
        }
        svg.raw("</g>")
    }
}
