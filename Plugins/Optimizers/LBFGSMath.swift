import StepwiseABI
import StepwiseKit

/// A scalar of torch's LBFGS as Python holds it: a Python float (double), or a 0-dim
/// float32 tensor. torch's LBFGS mixes both (losses are floats, dot products are tensors),
/// and arithmetic between them follows tensor type promotion: once a float32 tensor is
/// involved, the Python float is rounded to float32 and the result is float32. Mirroring
/// that is what makes the line search take the same branches as torch's.
enum Num: Equatable, CustomStringConvertible {
    case py(Double)
    case f32(Float)

    var double: Double {
        switch self {
        case .py(let x): x
        case .f32(let x): Double(x)
        }
    }
    var float: Float {
        switch self {
        case .py(let x): Float(x)
        case .f32(let x): x
        }
    }
    var isTensor: Bool { if case .f32 = self { true } else { false } }
    var description: String { isTensor ? "tensor(\(float))" : "\(double)" }

    private static func combine(_ a: Num, _ b: Num, _ d: (Double, Double) -> Double,
                                _ f: (Float, Float) -> Float) -> Num {
        a.isTensor || b.isTensor ? .f32(f(a.float, b.float)) : .py(d(a.double, b.double))
    }
    static func + (a: Num, b: Num) -> Num { combine(a, b, +, +) }
    static func - (a: Num, b: Num) -> Num { combine(a, b, -, -) }
    static func * (a: Num, b: Num) -> Num { combine(a, b, *, *) }
    static func / (a: Num, b: Num) -> Num { combine(a, b, /, /) }
    static prefix func - (a: Num) -> Num {
        switch a {
        case .py(let x): .py(-x)
        case .f32(let x): .f32(-x)
        }
    }

    static func compare(_ a: Num, _ b: Num, _ d: (Double, Double) -> Bool, _ f: (Float, Float) -> Bool) -> Bool {
        a.isTensor || b.isTensor ? f(a.float, b.float) : d(a.double, b.double)
    }
    static func < (a: Num, b: Num) -> Bool { compare(a, b, <, <) }
    static func > (a: Num, b: Num) -> Bool { compare(a, b, >, >) }
    static func <= (a: Num, b: Num) -> Bool { compare(a, b, <=, <=) }
    static func >= (a: Num, b: Num) -> Bool { compare(a, b, >=, >=) }

    var magnitude: Num {
        switch self {
        case .py(let x): .py(abs(x))
        case .f32(let x): .f32(abs(x))
        }
    }
    /// `x ** 2`: torch squares a tensor as x * x.
    var squared: Num { self * self }
    var squareRoot: Num {
        switch self {
        case .py(let x): .py(x.squareRoot())
        case .f32(let x): .f32(x.squareRoot())
        }
    }

    /// Python's builtin min/max: the first argument unless the second is strictly
    /// smaller (larger); the result keeps its kind.
    static func pyMin(_ a: Num, _ b: Num) -> Num { b < a ? b : a }
    static func pyMax(_ a: Num, _ b: Num) -> Num { b > a ? b : a }
}

/// float32 vector operations as torch evaluates them on flat tensors. Reductions (dot,
/// sums) accumulate in double and round once, which is what a careful float32 BLAS
/// approaches.
enum FlatMath {
    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        var s = 0.0
        for i in a.indices { s += Double(a[i]) * Double(b[i]) }
        return Float(s)
    }
    static func absMax(_ a: [Float]) -> Float {
        var m: Float = 0
        for x in a { let y = abs(x); if y > m || y != y { m = y } }
        return m
    }
    static func absSum(_ a: [Float]) -> Float {
        var s = 0.0
        for x in a { s += Double(abs(x)) }
        return Float(s)
    }
    /// a + alpha * b (torch's `add(b, alpha=alpha)`, alpha rounded to float32).
    static func axpy(_ a: inout [Float], _ alpha: Float, _ b: [Float]) {
        for i in a.indices { a[i] = a[i] + alpha * b[i] }
    }
    static func scaled(_ a: [Float], _ s: Float) -> [Float] { a.map { $0 * s } }
    static func negated(_ a: [Float]) -> [Float] { a.map { -$0 } }
}

/// `_cubic_interpolate` of torch/optim/lbfgs.py (ported there from Torch7's polyinterp):
/// the minimizer of the cubic through two points with values and slopes, kept in bounds.
func cubicInterpolate(_ x1: Num, _ f1: Num, _ g1: Num, _ x2: Num, _ f2: Num, _ g2: Num,
                      bounds: (Num, Num)? = nil) -> Num {
    let (lo, hi) = bounds ?? (x1 <= x2 ? (x1, x2) : (x2, x1))
    let three = Num.py(3), two = Num.py(2)
    let d1 = g1 + g2 - three * (f1 - f2) / (x1 - x2)
    let d2Square = d1.squared - g1 * g2
    guard d2Square >= .py(0) else { return (lo + hi) / .py(2) }
    let d2 = d2Square.squareRoot
    let minPos = x1 <= x2
        ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + two * d2))
        : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + two * d2))
    return Num.pyMin(Num.pyMax(minPos, lo), hi)
}

/// `_strong_wolfe` of torch/optim/lbfgs.py (ported there from Torch7's lswolfe): a line
/// search along `d` from step `t` that satisfies the strong Wolfe conditions.
/// `evaluate(t)` returns the loss and flat gradient at x + t·d (and restores x).
/// Returns the loss, gradient and step found, and the number of evaluations.
func strongWolfe(_ evaluate: (Num) throws(PluginError) -> (Num, [Float]), t start: Num, d: [Float], f: Num,
                 g: [Float], gtd: Num, c1: Double = 1e-4, c2: Double = 0.9, toleranceChange: Double = 1e-9,
                 maxLS: Int = 25) throws(PluginError) -> (Num, [Float], Num, Int) {
    var t = start
    let dNorm = Num.f32(FlatMath.absMax(d))
    var (fNew, gNew) = try evaluate(t)
    var evals = 1
    var gtdNew = Num.f32(FlatMath.dot(gNew, d))
    var (tPrev, fPrev, gPrev, gtdPrev) = (Num.py(0), f, g, gtd)
    var done = false
    var lsIter = 0
    var bracket: [Num] = [], bracketF: [Num] = [], bracketG: [[Float]] = [], bracketGtd: [Num] = []
    let armijo = { (t: Num) -> Num in f + Num.py(c1) * t * gtd }
    let curvature = -Num.py(c2) * gtd

    while lsIter < maxLS {
        if fNew > armijo(t) || (lsIter > 1 && fNew >= fPrev) {
            (bracket, bracketF, bracketG, bracketGtd) = ([tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew])
            break
        }
        if gtdNew.magnitude <= curvature {
            (bracket, bracketF, bracketG) = ([t], [fNew], [gNew])
            done = true
            break
        }
        if gtdNew >= .py(0) {
            (bracket, bracketF, bracketG, bracketGtd) = ([tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew])
            break
        }
        let minStep = t + Num.py(0.01) * (t - tPrev)
        let maxStep = t * .py(10)
        let previous = t
        t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, bounds: (minStep, maxStep))
        (tPrev, fPrev, gPrev, gtdPrev) = (previous, fNew, gNew, gtdNew)
        (fNew, gNew) = try evaluate(t)
        evals += 1
        gtdNew = .f32(FlatMath.dot(gNew, d))
        lsIter += 1
    }
    if lsIter == maxLS {
        (bracket, bracketF, bracketG) = ([.py(0), t], [f, fNew], [g, gNew])
    }

    var insufficientProgress = false
    var (low, high) = bracketF[0] <= bracketF[bracketF.count - 1] ? (0, 1) : (1, 0)
    while !done && lsIter < maxLS {
        if (bracket[1] - bracket[0]).magnitude * dNorm < .py(toleranceChange) { break }
        t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1])
        let top = Num.pyMax(bracket[0], bracket[1]), bottom = Num.pyMin(bracket[0], bracket[1])
        let eps = Num.py(0.1) * (top - bottom)
        if Num.pyMin(top - t, t - bottom) < eps {
            if insufficientProgress || t >= top || t <= bottom {
                t = (t - top).magnitude < (t - bottom).magnitude ? top - eps : bottom + eps
                insufficientProgress = false
            } else {
                insufficientProgress = true
            }
        } else {
            insufficientProgress = false
        }
        (fNew, gNew) = try evaluate(t)
        evals += 1
        gtdNew = .f32(FlatMath.dot(gNew, d))
        lsIter += 1
        if fNew > armijo(t) || fNew >= bracketF[low] {
            (bracket[high], bracketF[high], bracketG[high], bracketGtd[high]) = (t, fNew, gNew, gtdNew)
            (low, high) = bracketF[0] <= bracketF[1] ? (0, 1) : (1, 0)
        } else {
            if gtdNew.magnitude <= curvature {
                done = true
            } else if gtdNew * (bracket[high] - bracket[low]) >= .py(0) {
                (bracket[high], bracketF[high], bracketG[high], bracketGtd[high]) =
                    (bracket[low], bracketF[low], bracketG[low], bracketGtd[low])
            }
            (bracket[low], bracketF[low], bracketG[low], bracketGtd[low]) = (t, fNew, gNew, gtdNew)
        }
    }
    return (bracketF[low], bracketG[low], bracket[low], evals)
}
