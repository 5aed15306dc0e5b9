/// One row of a legend: a name and the swatch that identifies its series.
struct LegendEntry {
    enum Swatch {
        case line(color: String, width: Double, dashed: Bool)
        case marker(color: String, radius: Double, opacity: Double)
    }
    var name: String
    var swatch: Swatch
}

/// Legends sit in a column right of the plot area, so they never cover data.
enum Legend {
    static let fontSize = 12.0
    static let rowHeight = 18.0
    static let swatchWidth = 22.0
    static let maxTextWidth = 190.0

    static func width(_ entries: [LegendEntry]) -> Double {
        guard !entries.isEmpty else { return 0 }
        let text = entries.map { min(maxTextWidth, textWidth($0.name, size: fontSize)) }.max() ?? 0
        return swatchWidth + 6 + text + 4
    }

    static func height(_ entries: [LegendEntry]) -> Double { Double(entries.count) * rowHeight }

    static func draw(_ entries: [LegendEntry], into svg: inout SVGBuilder, x: Double, y: Double) {
        svg.raw("<g class=\"legend\">")
        for (i, entry) in entries.enumerated() {
            let mid = y + Double(i) * rowHeight + rowHeight / 2
            switch entry.swatch {
            case .line(let color, let width, let dashed):
                svg.line(x1: x, y1: mid, x2: x + swatchWidth, y2: mid, color: color, width: max(width, 2),
                         dash: dashed ? "6 3" : nil, cssClass: "legend-swatch")
            case .marker(let color, let radius, let opacity):
                svg.raw("<circle class=\"legend-swatch\" cx=\"\(px(x + swatchWidth / 2))\" cy=\"\(px(mid))\" r=\"\(px(max(3, min(radius, 7))))\" fill=\"\(xmlEscaped(color))\" fill-opacity=\"\(px(max(opacity, 0.6)))\"/>")
            }
            let name = truncated(entry.name, toWidth: maxTextWidth, size: fontSize)
            svg.text(name, x: x + swatchWidth + 6, y: mid + fontSize * 0.35, size: fontSize, cssClass: "legend-label")
        }
        svg.raw("</g>")
    }
}

/// A plot area in pixels.
struct PlotRect {
    var x: Double, y: Double, width: Double, height: Double
    var right: Double { x + width }
    var bottom: Double { y + height }
}

enum AxesStyle {
    static let tickFontSize = 11.0
    static let labelFontSize = 13.0
    static let titleFontSize = 15.0
    static let gridColor = "#e6e6e6"
    static let frameColor = "#444"

    /// Grid lines, frame, tick marks and tick labels of one plot area. X labels are drawn
    /// only when asked (stacked panels share the bottom panel's).
    static func draw(into svg: inout SVGBuilder, rect: PlotRect, xMap: AxisMapping, yMap: AxisMapping,
                     xTicks: [Tick], yTicks: [Tick], xLabels: Bool) {
        svg.raw("<g class=\"grid\">")
        for t in yTicks {
            let y = yMap.pixel(t.value)
            svg.line(x1: rect.x, y1: y, x2: rect.right, y2: y, color: gridColor)
        }
        for t in xTicks {
            let x = xMap.pixel(t.value)
            svg.line(x1: x, y1: rect.y, x2: x, y2: rect.bottom, color: gridColor)
        }
        svg.raw("</g>")
        svg.rect(x: rect.x, y: rect.y, width: rect.width, height: rect.height, fill: "none", stroke: frameColor)
        svg.raw("<g class=\"ticks\">")
        for t in yTicks {
            let y = yMap.pixel(t.value)
            svg.line(x1: rect.x - 4, y1: y, x2: rect.x, y2: y, color: frameColor)
            svg.text(t.label, x: rect.x - 7, y: y + tickFontSize * 0.35, size: tickFontSize, anchor: .end, cssClass: "tick-label")
        }
        for t in xTicks {
            let x = xMap.pixel(t.value)
            svg.line(x1: x, y1: rect.bottom, x2: x, y2: rect.bottom + 4, color: frameColor)
            if xLabels {
                svg.text(t.label, x: x, y: rect.bottom + 6 + tickFontSize, size: tickFontSize, anchor: .middle, cssClass: "tick-label")
            }
        }
        svg.raw("</g>")
    }

    static func maxLabelWidth(_ ticks: [Tick]) -> Double {
        ticks.map { textWidth($0.label, size: tickFontSize) }.max() ?? 0
    }

    /// Ticks for a pixel length: about one per `spacing` pixels, at least two.
    static func tickTarget(length: Double, spacing: Double) -> Int { max(2, min(10, Int(length / spacing))) }
}
