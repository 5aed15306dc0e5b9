extension LineChart {
    /// The chart as an SVG document.
    public func svg() -> String {
        let panels = self.panels.isEmpty ? [ChartPanel(series: [])] : self.panels
        let markLabels = marks.contains { !$0.label.isEmpty }

        // Vertical layout first: y ticks depend only on panel heights, and the left margin
        // depends on the y tick labels.
        let top = (title.isEmpty ? 10.0 : 38) + (markLabels ? 16 : 0) + 6
        let bottom = 8 + 6 + AxesStyle.tickFontSize + 6 + (xLabel.isEmpty ? 0 : AxesStyle.labelFontSize + 10)
        let gap = 18.0
        let weights = panels.map { max(0.05, $0.relativeHeight.isFinite ? $0.relativeHeight : 1) }
        let defaultHeight = 90 + 300 + 170 * Double(panels.count - 1)
        let legends = panels.map(legendEntries)
        let minimumPanel = 60.0
        var totalHeight = height ?? defaultHeight
        var plotHeights: [Double] = []
        for _ in 0..<2 {
            let available = totalHeight - top - bottom - gap * Double(panels.count - 1)
            plotHeights = weights.map { max(minimumPanel, available * $0 / weights.reduce(0, +)) }
            // A legend taller than its panel would run into the next one: grow the panel.
            for i in panels.indices { plotHeights[i] = max(plotHeights[i], Legend.height(legends[i])) }
            let needed = top + bottom + gap * Double(panels.count - 1) + plotHeights.reduce(0, +)
            if needed <= totalHeight + 0.5 { break }
            totalHeight = needed
        }

        let yAxes = panels.indices.map { i -> (map: AxisMapping, ticks: [Tick]) in
            let p = panels[i]
            let values = p.series.flatMap { s in drawablePairs(s, yScale: p.yScale).map(\.y) }
            let extent = p.yRange.map { ($0.lowerBound, $0.upperBound) }
                ?? axisExtent(values, scale: p.yScale, margin: 0.05)
            let (lo, hi) = sanitized(extent, scale: p.yScale)
            let target = AxesStyle.tickTarget(length: plotHeights[i], spacing: 45)
            let map = AxisMapping(scale: p.yScale, lower: lo, upper: hi, pixelFrom: 0, pixelTo: 0)
            return (map, Ticks.make(scale: p.yScale, lower: lo, upper: hi, target: target))
        }
        let tickWidth = yAxes.map { AxesStyle.maxLabelWidth($0.ticks) }.max() ?? 0
        let yLabelBand = panels.contains { !$0.yLabel.isEmpty } ? AxesStyle.labelFontSize + 10 : 0
        let left = 10 + yLabelBand + tickWidth + 10

        // Horizontal: the x extent, then ticks, then the right margin (legend or the last
        // tick label's overhang).
        let xValues = panels.flatMap { p in p.series.flatMap { s in drawablePairs(s, yScale: p.yScale).map(\.x) } }
            + marks.map(\.x)
        let xExtent = xRange.map { ($0.lowerBound, $0.upperBound) } ?? axisExtent(xValues, scale: xScale, margin: 0)
        let (xLo, xHi) = sanitized(xExtent, scale: xScale)
        let legendWidth = legends.map(Legend.width).max() ?? 0
        var right = legendWidth > 0 ? legendWidth + 24 : 16
        var plotWidth = max(80, width - left - right)
        var xTicks = Ticks.make(scale: xScale, lower: xLo, upper: xHi,
                                target: AxesStyle.tickTarget(length: plotWidth, spacing: 90))
        if let last = xTicks.last, legendWidth == 0 {
            right = max(right, textWidth(last.label, size: AxesStyle.tickFontSize) / 2 + 6)
            plotWidth = max(80, width - left - right)
            xTicks = Ticks.make(scale: xScale, lower: xLo, upper: xHi,
                                target: AxesStyle.tickTarget(length: plotWidth, spacing: 90))
        }
        let totalWidth = max(width, left + plotWidth + right)
        let xMap = AxisMapping(scale: xScale, lower: xLo, upper: xHi, pixelFrom: left, pixelTo: left + plotWidth)

        var svg = SVGBuilder(width: totalWidth, height: totalHeight)
        if !title.isEmpty {
            svg.text(title, x: left + plotWidth / 2, y: 26, size: AxesStyle.titleFontSize, anchor: .middle,
                     weight: "bold", cssClass: "title")
        }
        var y = top
        for (i, panel) in panels.enumerated() {
            let rect = PlotRect(x: left, y: y, width: plotWidth, height: plotHeights[i])
            var yMap = yAxes[i].map
            yMap.pixelFrom = rect.bottom
            yMap.pixelTo = rect.y
            drawPanel(panel, index: i, rect: rect, xMap: xMap, yMap: yMap, xTicks: xTicks, yTicks: yAxes[i].ticks,
                      isBottom: i == panels.count - 1, legend: legends[i], into: &svg)
            if !panel.yLabel.isEmpty {
                svg.text(panel.yLabel, x: 10 + AxesStyle.labelFontSize, y: rect.y + rect.height / 2,
                         size: AxesStyle.labelFontSize, anchor: .middle, rotate: true, cssClass: "axis-label")
            }
            y = rect.bottom + gap
        }
        let plotBottom = y - gap
        if !xLabel.isEmpty {
            svg.text(xLabel, x: left + plotWidth / 2, y: plotBottom + 6 + AxesStyle.tickFontSize + 8 + AxesStyle.labelFontSize,
                     size: AxesStyle.labelFontSize, anchor: .middle, cssClass: "axis-label")
        }
        drawMarkLabels(xMap: xMap, y: top - 8, into: &svg)
        return svg.document(title: title)
    }

    /// The points that can be drawn: both coordinates finite and placeable on their axes.
    private func drawablePairs(_ s: ChartSeries, yScale: AxisScale) -> [(x: Double, y: Double)] {
        zip(s.x, s.y).filter { x, y in
            x.isFinite && y.isFinite && (xScale == .linear || x > 0) && (yScale == .linear || y > 0)
        }.map { ($0, $1) }
    }

    private func legendEntries(_ panel: ChartPanel) -> [LegendEntry] {
        panel.series.enumerated().map { i, s in
            LegendEntry(name: s.name, swatch: .line(color: PlotPalette.color(s.color, index: i), width: s.lineWidth, dashed: s.dashed))
        }
    }

    /// A usable interval: finite, non-empty, and positive for log axes.
    private func sanitized(_ extent: (Double, Double), scale: AxisScale) -> (Double, Double) {
        var (lo, hi) = extent
        if scale == .log {
            if !(lo > 0) || !lo.isFinite { lo = hi > 0 && hi.isFinite ? hi / 10 : 1 }
            if !(hi > lo) || !hi.isFinite { hi = lo * 10 }
            return (lo, hi)
        }
        if !lo.isFinite { lo = 0 }
        if !hi.isFinite || hi <= lo { hi = lo + 1 }
        return (lo, hi)
    }

    private func drawPanel(_ panel: ChartPanel, index: Int, rect: PlotRect, xMap: AxisMapping, yMap: AxisMapping,
                           xTicks: [Tick], yTicks: [Tick], isBottom: Bool, legend: [LegendEntry],
                           into svg: inout SVGBuilder) {
        AxesStyle.draw(into: &svg, rect: rect, xMap: xMap, yMap: yMap, xTicks: xTicks, yTicks: yTicks, xLabels: isBottom)
        let clip = "sw-clip-\(index)"
        // A few pixels of slack so points on the frame (the x axis has no margin) stay whole.
        let slack = 4.0
        svg.raw("<clipPath id=\"\(clip)\"><rect x=\"\(px(rect.x - slack))\" y=\"\(px(rect.y - slack))\" width=\"\(px(rect.width + 2 * slack))\" height=\"\(px(rect.height + 2 * slack))\"/></clipPath>")
        svg.raw("<g clip-path=\"url(#\(clip))\">")
        for mark in marks where xMap.accepts(mark.x) {
            let x = xMap.pixel(mark.x)
            svg.line(x1: x, y1: rect.y, x2: x, y2: rect.bottom, color: "#9a9a9a", dash: "4 3", cssClass: "mark")
        }
        var drewSomething = false
        for (i, series) in panel.series.enumerated() {
            let color = xmlEscaped(PlotPalette.color(series.color, index: i))
            let dot = max(1.5, series.lineWidth)
            let name = xmlEscaped(series.name)
            let style = "fill=\"none\" stroke=\"\(color)\" stroke-linejoin=\"round\" stroke-linecap=\"round\""
                + (series.dashed ? " stroke-dasharray=\"6 3\"" : "")
            let raw = CurveGeometry.polylines(x: series.x, y: series.y, xMap: xMap, yMap: yMap)
            drewSomething = drewSomething || !raw.isEmpty
            if series.smoothing > 0 {
                svg.raw("<path class=\"series-raw\" data-name=\"\(name)\" \(style) stroke-opacity=\"0.25\" stroke-width=\"\(px(series.lineWidth))\" d=\"\(CurveGeometry.pathData(raw, dotRadius: dot))\"/>")
                let smooth = CurveGeometry.polylines(x: series.x, y: CurveGeometry.smoothed(series.y, weight: series.smoothing),
                                                     xMap: xMap, yMap: yMap)
                svg.raw("<path class=\"series\" data-name=\"\(name)\" \(style) stroke-width=\"\(px(series.lineWidth))\" d=\"\(CurveGeometry.pathData(smooth, dotRadius: dot))\"/>")
            } else {
                svg.raw("<path class=\"series\" data-name=\"\(name)\" \(style) stroke-width=\"\(px(series.lineWidth))\" d=\"\(CurveGeometry.pathData(raw, dotRadius: dot))\"/>")
            }
        }
        svg.raw("</g>")
        if !drewSomething {
            svg.text("no data", x: rect.x + rect.width / 2, y: rect.y + rect.height / 2, size: 12, anchor: .middle,
                     color: "#999", cssClass: "empty-note")
        }
        if !legend.isEmpty {
            Legend.draw(legend, into: &svg, x: rect.right + 14, y: rect.y)
        }
    }

    /// Labels of marks above the top panel, skipping any that would overlap the previous one.
    private func drawMarkLabels(xMap: AxisMapping, y: Double, into svg: inout SVGBuilder) {
        var lastRight = -Double.infinity
        let size = 10.0
        let lo = min(xMap.pixelFrom, xMap.pixelTo), hi = max(xMap.pixelFrom, xMap.pixelTo)
        for mark in marks.sorted(by: { $0.x < $1.x }) where !mark.label.isEmpty && xMap.accepts(mark.x) {
            let x = xMap.pixel(mark.x)
            guard x >= lo - 0.5, x <= hi + 0.5 else { continue }
            let half = textWidth(mark.label, size: size) / 2
            // Labels at the edges are pulled inside so they are not cut off.
            let center = min(max(x, half + 2), svg.width - half - 2)
            guard center - half > lastRight + 6 else { continue }
            svg.text(mark.label, x: center, y: y, size: size, anchor: .middle, color: "#555", cssClass: "mark-label")
            lastRight = center + half
        }
    }
}
