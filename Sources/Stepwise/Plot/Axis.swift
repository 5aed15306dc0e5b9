import Foundation

/// How values map to positions along an axis.
public enum AxisScale: Sendable, Equatable {
    case linear
    /// Base-10 logarithmic; values <= 0 cannot be placed and are skipped.
    case log
}

/// Maps a data interval onto a pixel interval (`pixelFrom` may exceed `pixelTo`, for y).
struct AxisMapping {
    var scale: AxisScale
    var lower: Double
    var upper: Double
    var pixelFrom: Double
    var pixelTo: Double

    private func t(_ v: Double) -> Double { scale == .log ? log10(v) : v }

    func accepts(_ v: Double) -> Bool { v.isFinite && (scale == .linear || v > 0) }

    func pixel(_ v: Double) -> Double {
        let a = t(lower), b = t(upper)
        return pixelFrom + (t(v) - a) / (b - a) * (pixelTo - pixelFrom)
    }

    /// Pixels per data unit (linear scales only; used for equal aspect).
    var pixelsPerUnit: Double { abs(pixelTo - pixelFrom) / (upper - lower) }
}

/// The interval an axis shows: the finite data extent, widened when it is a single value
/// (constant curves draw as a flat line in the middle, never divide by zero) and padded by
/// `margin` of its span on each side.
func axisExtent(_ values: [Double], scale: AxisScale, margin: Double) -> (lower: Double, upper: Double) {
    var lo = Double.infinity, hi = -Double.infinity
    for v in values where v.isFinite && (scale == .linear || v > 0) {
        lo = min(lo, v); hi = max(hi, v)
    }
    switch scale {
    case .linear:
        guard lo <= hi else { return (0, 1) }
        if hi - lo <= abs(hi) * 1e-12 || !(hi - lo).isFinite {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            return (lo - pad, hi + pad)
        }
        let pad = (hi - lo) * margin
        return (lo - pad, hi + pad)
    case .log:
        guard lo <= hi else { return (1, 10) }
        var a = log10(lo), b = log10(hi)
        if b - a < 1e-12 { a -= 0.5; b += 0.5 }
        let pad = (b - a) * margin
        return (pow(10, a - pad), pow(10, b + pad))
    }
}

/// A tick: where it goes and what it says.
struct Tick: Equatable {
    var value: Double
    var label: String
}

enum Ticks {
    /// Round tick values inside `[lower, upper]`, about `target` of them: steps of 1, 2 or
    /// 5 times a power of ten, or 2.5 when that is clearly closer to the target count.
    static func linear(lower: Double, upper: Double, target: Int) -> [Tick] {
        let span = upper - lower
        guard span > 0, span.isFinite else { return [] }
        let step = bestStep(lower: lower, upper: upper, target: max(2, target))
        let first = (lower / step - 1e-9).rounded(.up), last = (upper / step + 1e-9).rounded(.down)
        guard last >= first, last - first < 1000 else { return [] }
        let values = stride(from: first, through: last, by: 1).map { k -> Double in
            let v = k * step
            return abs(v) < step * 1e-9 ? 0 : v
        }
        let labels = labelsForStep(values, step: step)
        return zip(values, labels).map { Tick(value: $0, label: $1) }
    }

    static func bestStep(lower: Double, upper: Double, target: Int) -> Double {
        let magnitude = pow(10, floor(log10((upper - lower) / Double(target))))
        var best = (score: Double.infinity, step: magnitude)
        for scale in [0.1, 1, 10] {
            for (m, penalty) in [(1.0, 0.0), (2, 0), (2.5, 1.01), (5, 0)] {
                let step = m * magnitude * scale
                let count = (upper / step + 1e-9).rounded(.down) - (lower / step - 1e-9).rounded(.up) + 1
                let score = abs(count - Double(target)) + penalty
                // On a tie the larger step wins: fewer, rounder labels.
                if score < best.score - 1e-9 || (abs(score - best.score) < 1e-9 && step > best.step) {
                    best = (score, step)
                }
            }
        }
        return best.step
    }

    /// Labels that show every tick distinctly with as few digits as the step allows:
    /// plain decimals for ordinary magnitudes, scientific notation for tiny or huge ones
    /// (learning rates such as 2e-5).
    static func labelsForStep(_ values: [Double], step: Double) -> [String] {
        let maxAbs = values.map(abs).max() ?? 0
        let stepExponent = Int(floor(log10(step) + 1e-9))
        let mantissaIsHalf = abs(step / pow(10, Double(stepExponent)) - 2.5) < 1e-6
        // More than three decimals reads worse than 2e-4.
        if maxAbs >= 1e6 || stepExponent < -3 {
            let topExponent = Int(floor(log10(maxAbs) + 1e-9))
            let digits = max(0, topExponent - stepExponent + (mantissaIsHalf ? 1 : 0))
            return values.map { $0 == 0 ? "0" : scientific($0, digits: digits) }
        }
        let decimals = max(0, -stepExponent + (mantissaIsHalf ? 1 : 0))
        return values.map { String(format: "%.\(decimals)f", $0) }
    }

    /// `2.50e-05` style as `2.5e-5`.
    static func scientific(_ v: Double, digits: Int) -> String {
        let s = String(format: "%.\(digits)e", v)
        guard let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) else { return s }
        var mantissa = String(s[..<e])
        if mantissa.contains(".") {
            while mantissa.hasSuffix("0") { mantissa.removeLast() }
            if mantissa.hasSuffix(".") { mantissa.removeLast() }
        }
        let exponent = Int(s[s.index(after: e)...]) ?? 0
        return "\(mantissa)e\(exponent)"
    }

    /// A single value in short form, for log ticks and labels of marks.
    static func short(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e-3 && a < 1e5 {
            var s = String(format: "%.4g", v)
            if s.contains("e") { s = scientific(v, digits: 3) }
            return s
        }
        return scientific(v, digits: 3)
    }

    /// Log-axis ticks: powers of ten (thinned when there are many decades); over short
    /// ranges also 2x and 5x; over less than one such step, linear ticks placed on the log axis.
    static func log(lower: Double, upper: Double, target: Int) -> [Tick] {
        guard lower > 0, upper > lower, upper.isFinite else { return [] }
        let a = Int(floor(log10(lower))), b = Int(ceil(log10(upper)))
        func inside(_ v: Double) -> Bool { v >= lower * (1 - 1e-9) && v <= upper * (1 + 1e-9) }
        let decades = (a...b).map { pow(10, Double($0)) }.filter(inside)
        if decades.count >= 2 {
            let every = max(1, Int((Double(decades.count) / Double(max(2, target))).rounded(.up)))
            return decades.enumerated().filter { $0.offset % every == 0 }.map { Tick(value: $0.element, label: short($0.element)) }
        }
        let withMultiples = (a...b).flatMap { e in [1.0, 2, 5].map { $0 * pow(10, Double(e)) } }.filter(inside)
        if withMultiples.count >= 2 && withMultiples.count <= target + 2 {
            return withMultiples.map { Tick(value: $0, label: short($0)) }
        }
        return linear(lower: lower, upper: upper, target: target).filter { $0.value > 0 }
    }

    static func make(scale: AxisScale, lower: Double, upper: Double, target: Int) -> [Tick] {
        scale == .log ? log(lower: lower, upper: upper, target: target) : linear(lower: lower, upper: upper, target: target)
    }
}
