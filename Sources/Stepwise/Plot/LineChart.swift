/// One named curve of (x, y) points.
public struct ChartSeries: Sendable, Equatable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// Any SVG colour (`"#d62728"`, `"teal"`); nil takes the next colour of `PlotPalette`.
    public var color: String?
    public var lineWidth: Double
    public var dashed: Bool
    /// Exponential smoothing weight in [0, 1), as TensorBoard's slider: when above 0 the
    /// smoothed curve is drawn over a faint copy of the raw one. For noisy losses, 0.6-0.9.
    public var smoothing: Double

    /// Points `(x[i], y[i])`; extra values in the longer array are ignored. NaN and
    /// infinite values are skipped and break the line.
    public init(name: String, x: [Double], y: [Double], color: String? = nil,
                lineWidth: Double = 1.5, dashed: Bool = false, smoothing: Double = 0) {
        self.name = name; self.x = x; self.y = y; self.color = color
        self.lineWidth = lineWidth; self.dashed = dashed; self.smoothing = smoothing
    }

    /// Values against their index 0, 1, 2, ...
    public init(name: String, y: [Double], color: String? = nil, lineWidth: Double = 1.5,
                dashed: Bool = false, smoothing: Double = 0) {
        self.init(name: name, x: y.indices.map(Double.init), y: y, color: color,
                  lineWidth: lineWidth, dashed: dashed, smoothing: smoothing)
    }
}

/// One plot area of a chart with its own y axis. Panels of a `LineChart` are stacked
/// and share the x axis (learning rate on top, momentum below).
public struct ChartPanel: Sendable, Equatable {
    public var yLabel: String
    public var series: [ChartSeries]
    public var yScale: AxisScale
    /// A fixed y interval; nil fits the data.
    public var yRange: ClosedRange<Double>?
    /// Height relative to the other panels.
    public var relativeHeight: Double

    public init(yLabel: String = "", series: [ChartSeries], yScale: AxisScale = .linear,
                yRange: ClosedRange<Double>? = nil, relativeHeight: Double = 1) {
        self.yLabel = yLabel; self.series = series; self.yScale = yScale
        self.yRange = yRange; self.relativeHeight = relativeHeight
    }
}

/// A labelled vertical line across all panels, e.g. an epoch boundary.
public struct ChartMark: Sendable, Equatable {
    public var x: Double
    public var label: String
    public init(x: Double, label: String = "") { self.x = x; self.label = label }
}

/// A line chart rendered to a self-contained SVG document.
///
/// ```swift
/// var chart = LineChart(title: "CosineAnnealingLR", xLabel: "iteration",
///                       panels: [ChartPanel(yLabel: "lr", series: [ChartSeries(name: "lr", y: lrs)]),
///                                ChartPanel(yLabel: "momentum", series: [ChartSeries(name: "momentum", y: ms)])])
/// chart.marks = (1...10).map { ChartMark(x: Double($0 * 500), label: "epoch \($0)") }
/// try chart.write(to: "lr.svg")
/// ```
///
/// Legends sit right of the plot areas, never over the curves; tick values are round
/// numbers; empty and constant series, NaN and infinities, and series of hundreds of
/// thousands of points all render.
public struct LineChart: Sendable, Equatable {
    public var title: String
    public var xLabel: String
    public var panels: [ChartPanel]
    /// Vertical lines with labels above the top panel; labels that would collide are thinned.
    public var marks: [ChartMark]
    public var xScale: AxisScale
    /// A fixed x interval; nil spans the data and the marks.
    public var xRange: ClosedRange<Double>?
    public var width: Double
    /// Total height; nil sizes the chart from its number of panels.
    public var height: Double?

    public init(title: String = "", xLabel: String = "", panels: [ChartPanel], marks: [ChartMark] = [],
                xScale: AxisScale = .linear, xRange: ClosedRange<Double>? = nil,
                width: Double = 800, height: Double? = nil) {
        self.title = title; self.xLabel = xLabel; self.panels = panels; self.marks = marks
        self.xScale = xScale; self.xRange = xRange; self.width = width; self.height = height
    }

    /// A single-panel chart.
    public init(title: String = "", xLabel: String = "", yLabel: String = "", series: [ChartSeries],
                yScale: AxisScale = .linear, marks: [ChartMark] = [], width: Double = 800, height: Double? = nil) {
        self.init(title: title, xLabel: xLabel,
                  panels: [ChartPanel(yLabel: yLabel, series: series, yScale: yScale)],
                  marks: marks, width: width, height: height)
    }

    /// Writes the SVG to `path` atomically (temporary file, then rename).
    public func write(to path: String) throws(FileWriteError) {
        do { try AtomicFile.write(svg(), to: path) } catch let error as FileWriteError {
            throw error
        } catch {
            throw FileWriteError(path: path, step: "\(error)", code: 0)
        }
    }
}
