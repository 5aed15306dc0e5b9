#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import StepwiseABI
import StepwiseKit

/// Passes over every gradient of a grad set: the non-finite check, unscaling, norms and
/// clipping. Single passes, SIMD over 16 floats, split over the host's pool for large
/// tensors; reductions accumulate in double.
enum GradOps {
    /// Elements per parallel piece; below it a tensor is processed on the calling thread.
    static let grain = 1 << 16

    /// True when every gradient element is finite.
    static func allFinite(_ grads: GradSet, host: Host) -> Bool {
        var finite = true
        try? grads.forEachGrad { p throws(PluginError) in
            if finite { finite = mapReduce(p, host: host, combine: +) { x, n in probe(x, n, scaleBy: nil) } == 0 }
        }
        return finite
    }

    /// Multiplies every gradient by `inv` (left alone when `inv` is 1, as torch does) and
    /// returns whether any value was non-finite before the multiplication: torch's
    /// `_amp_foreach_non_finite_check_and_unscale_`, in one pass.
    static func unscale(_ grads: GradSet, by inv: Float, host: Host) -> Bool {
        var found = false
        try? grads.forEachGrad { p throws(PluginError) in
            let sum = mapReduce(p, host: host, combine: +) { x, n in probe(x, n, scaleBy: inv == 1 ? nil : inv) }
            if sum != 0 { found = true }
        }
        return found
    }

    static func scale(_ grads: GradSet, by factor: Float, host: Host) {
        for g in 0..<grads.groupCount {
            grads[g].parallelElements(host: host, grain: grain) { p, lo, hi in
                let x = p.grad! + lo
                for i in 0..<(hi - lo) { x[i] *= factor }
            }
        }
    }

    /// torch's `clip_grad_value_`: clamps into [-c, c]; NaN stays NaN.
    static func clamp(_ grads: GradSet, to c: Float, host: Host) {
        for g in 0..<grads.groupCount {
            grads[g].parallelElements(host: host, grain: grain) { p, lo, hi in
                let x = p.grad! + lo
                // Comparisons with NaN are false, so NaN is kept.
                for i in 0..<(hi - lo) {
                    let v = x[i]
                    x[i] = v < -c ? -c : (v > c ? c : v)
                }
            }
        }
    }

    /// torch's `_get_total_norm`: the p-norm of each gradient as a float32, then the p-norm
    /// of those norms (so the 0-"norm" counts non-zero tensors, as torch's does).
    static func totalNorm(_ grads: GradSet, normType p: Double, host: Host) -> Float {
        let kind = NormKind(p)
        var norms: [Float] = []
        try? grads.forEachGrad { param throws(PluginError) in
            let partial = mapReduce(param, host: host, combine: kind.combine) { x, n in kind.partial(x, n) }
            norms.append(Float(kind.finish(partial)))
        }
        guard !norms.isEmpty else { return 0 }
        return norms.withUnsafeMutableBufferPointer { Float(kind.finish(kind.partial($0.baseAddress!, $0.count))) }
    }

    /// Sum of `x * 0` over 16-wide lanes (0 when every value is finite, NaN otherwise),
    /// optionally multiplying the values by `factor` in the same pass.
    private static func probe(_ x: UnsafeMutablePointer<Float>, _ n: Int, scaleBy factor: Float?) -> Double {
        var acc = SIMD16<Float>(repeating: 0)
        var tail: Float = 0
        var i = 0
        if let factor {
            // Check first (torch checks the scaled values), then multiply in a plain loop
            // the compiler vectorizes; both passes stay in cache per piece.
            var j = 0
            while j < n {
                let end = min(n, j + 4096)
                while i + 16 <= end {
                    acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) * 0
                    i += 16
                }
                while i < end { tail += x[i] * 0; i += 1 }
                for k in j..<end { x[k] *= factor }
                j = end
            }
        } else {
            while i + 16 <= n {
                acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) * 0
                i += 16
            }
            while i < n { tail += x[i] * 0; i += 1 }
        }
        return Double(acc.sum() + tail)
    }

    /// Runs `body` over pieces of one gradient (in parallel when it is large) and combines
    /// the pieces' results.
    static func mapReduce(_ param: Param, host: Host, combine: (Double, Double) -> Double,
                          _ body: (UnsafeMutablePointer<Float>, Int) -> Double) -> Double {
        let x = param.grad!
        let n = param.count
        let pieces = host.threadCount > 1 ? min(host.threadCount * 4, n / grain) : 1
        guard pieces > 1 else { return body(x, n) }
        let per = (n + pieces - 1) / pieces
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: pieces) { out in
            host.parallelFor(count: pieces, grain: 1) { first, last in
                for k in first..<last {
                    let lo = k * per, hi = min(n, lo + per)
                    if hi > lo { out[k] = body(x + lo, hi - lo) }
                }
            }
            var acc = out[0]
            for k in 1..<pieces where k * per < n { acc = combine(acc, out[k]) }
            return acc
        }
    }
}

/// One p-norm, split into a partial reduction, a combination and a finishing step so
/// large tensors can be reduced in pieces.
enum NormKind {
    case max, min, zero, one, two, general(Double)

    init(_ p: Double) {
        switch p {
        case .infinity: self = .max
        case -.infinity: self = .min
        case 0: self = .zero
        case 1: self = .one
        case 2: self = .two
        default: self = .general(p)
        }
    }

    /// The reduction of one piece. Max and min propagate NaN, as torch's reductions do.
    func partial(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> Double {
        switch self {
        case .max:
            var m: Float = 0
            var nan = false
            for i in 0..<n { let a = abs(x[i]); nan = nan || a != a; if a > m { m = a } }
            return nan ? .nan : Double(m)
        case .min:
            var m = Float.infinity
            var nan = false
            for i in 0..<n { let a = abs(x[i]); nan = nan || a != a; if a < m { m = a } }
            return nan ? .nan : Double(m)
        case .zero:
            var c = 0
            for i in 0..<n where x[i] != 0 { c += 1 }
            return Double(c)
        case .one:
            return Self.sum(x, n) { $0.replacing(with: -$0, where: $0 .< 0) }
        case .two:
            return Self.sum(x, n) { $0 * $0 }
        case .general(let p):
            var s = 0.0
            for i in 0..<n { s += pow(Double(abs(x[i])), p) }
            return s
        }
    }

    func combine(_ a: Double, _ b: Double) -> Double {
        switch self {
        case .max: a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
        case .min: a.isNaN || b.isNaN ? .nan : Swift.min(a, b)
        default: a + b
        }
    }

    func finish(_ s: Double) -> Double {
        switch self {
        case .two: s.squareRoot()
        case .general(let p): pow(s, 1 / p)
        default: s
        }
    }

    /// Sums f over 16-float lanes in float32 within blocks of 1024 values (64 per lane, so
    /// a block's rounding error stays near 1e-6 relative at worst) and adds the blocks in
    /// double: vectorized, and as accurate as torch's float32 reduction.
    @inline(__always)
    private static func sum(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ f: (SIMD16<Float>) -> SIMD16<Float>) -> Double {
        var total = 0.0
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i + 16 <= n {
            let end = Swift.min(n, i + 1024)
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
            while i + 32 <= end {
                a0 += f(raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self))
                a1 += f(raw.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD16<Float>.self))
                i += 32
            }
            while i + 16 <= end {
                a0 += f(raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self))
                i += 16
            }
            total += Double((a0 + a1).sum())
        }
        var tail = SIMD16<Float>()
        for k in 0..<(n - i) { tail[k] = x[i + k] }
        return total + Double(f(tail).sum())
    }
}
