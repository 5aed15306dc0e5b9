/// Text for XML content and attribute values: markup characters escaped, and characters
/// XML 1.0 forbids (most control characters) dropped, so any user-supplied name is safe.
/// Line breaks become spaces: SVG text is one line.
func xmlEscaped(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        case "\n", "\r", "\t": out += " "
        case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: continue
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

/// A pixel coordinate to one decimal, without a trailing ".0": compact paths for curves of
/// thousands of points, still finer than a pixel. Clamped so a wild value cannot produce a
/// coordinate renderers choke on.
func px(_ v: Double) -> String {
    let tenths = Int((min(max(v, -1e7), 1e7) * 10).rounded())
    let whole = tenths / 10, frac = abs(tenths % 10)
    let sign = tenths < 0 && whole == 0 ? "-" : ""
    return frac == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(frac)"
}

/// Estimated rendered width of `text` at `size` px. Renderers measure glyphs; SVG writers
/// cannot, so layout reserves room from an average glyph width of the common sans fonts
/// (DejaVu Sans is among the widest), erring on the side of space.
func textWidth(_ text: String, size: Double) -> Double {
    var em = 0.0
    for ch in text {
        switch ch {
        case "i", "l", "j", "t", "f", "r", ".", ",", ":", ";", "'", "|", "!", " ", "(", ")", "[", "]", "-": em += 0.38
        case "m", "w", "M", "W", "@": em += 0.9
        case _ where ch.isUppercase: em += 0.72
        default: em += 0.62
        }
    }
    return em * size
}

/// Shortens `text` to about `maxWidth` px with an ellipsis.
func truncated(_ text: String, toWidth maxWidth: Double, size: Double) -> String {
    guard textWidth(text, size: size) > maxWidth else { return text }
    var kept = ""
    for ch in text {
        if textWidth(kept + String(ch) + "…", size: size) > maxWidth { break }
        kept.append(ch)
    }
    return kept + "…"
}

/// Accumulates an SVG document. Only what the charts need; every text and attribute value
/// passes through `xmlEscaped`.
struct SVGBuilder {
    static let fontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif"
    private(set) var body = ""
    let width: Double
    let height: Double

    init(width: Double, height: Double) {
        self.width = width; self.height = height
        body.reserveCapacity(1 << 16)
    }

    mutating func raw(_ s: String) { body += s; body += "\n" }

    enum Anchor: String { case start, middle, end }

    mutating func text(_ s: String, x: Double, y: Double, size: Double, anchor: Anchor = .start,
                       weight: String? = nil, rotate: Bool = false, color: String = "#222", cssClass: String? = nil) {
        var attrs = "x=\"\(px(x))\" y=\"\(px(y))\" font-size=\"\(px(size))\" fill=\"\(xmlEscaped(color))\""
        if anchor != .start { attrs += " text-anchor=\"\(anchor.rawValue)\"" }
        if let weight { attrs += " font-weight=\"\(weight)\"" }
        if rotate { attrs += " transform=\"rotate(-90 \(px(x)) \(px(y)))\"" }
        if let cssClass { attrs += " class=\"\(cssClass)\"" }
        raw("<text \(attrs)>\(xmlEscaped(s))</text>")
    }

    mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, color: String, width: Double = 1,
                       dash: String? = nil, cssClass: String? = nil) {
        var attrs = "x1=\"\(px(x1))\" y1=\"\(px(y1))\" x2=\"\(px(x2))\" y2=\"\(px(y2))\" stroke=\"\(xmlEscaped(color))\" stroke-width=\"\(px(width))\""
        if let dash { attrs += " stroke-dasharray=\"\(dash)\"" }
        if let cssClass { attrs += " class=\"\(cssClass)\"" }
        raw("<line \(attrs)/>")
    }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, stroke: String? = nil) {
        var attrs = "x=\"\(px(x))\" y=\"\(px(y))\" width=\"\(px(width))\" height=\"\(px(height))\" fill=\"\(xmlEscaped(fill))\""
        if let stroke { attrs += " stroke=\"\(xmlEscaped(stroke))\"" }
        raw("<rect \(attrs)/>")
    }

    /// The finished document, with a white background so rasterized copies are not transparent.
    func document(title: String) -> String {
        let w = px(width), h = px(height)
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\" font-family=\"\(Self.fontFamily)\">\n"
        if !title.isEmpty { out += "<title>\(xmlEscaped(title))</title>\n" }
        out += "<rect x=\"0\" y=\"0\" width=\"\(w)\" height=\"\(h)\" fill=\"white\"/>\n"
        out += body
        out += "</svg>\n"
        return out
    }
}

/// Colours for series without one: matplotlib's default cycle ("tab10").
public enum PlotPalette {
    public static let colors = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ]
    static func color(_ index: Int) -> String { colors[index % colors.count] }

    /// A caller's colour when it looks like one (`#1f77b4`, `teal`, `rgb(10, 20, 30)`), else
    /// the palette's: a stray quote or bracket must not make the series vanish.
    static func color(_ requested: String?, index: Int) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789#(),.% ")
        guard let requested, !requested.isEmpty, requested.count <= 64, requested.allSatisfy(allowed.contains) else {
            return color(index)
        }
        return requested
    }
}
