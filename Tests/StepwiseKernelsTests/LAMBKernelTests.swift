import StepwiseKernels
import XCTest

/// The LAMB kernels divide by the per-step constants (clip factor, bias corrections) with a
/// double-precision multiplication, which must give the bits of a float division: checked
/// here against timm's formulas written plainly, op for op, with true divisions.
final class LAMBKernelTests: XCTestCase {
    struct Case {
        var clip: Float, biasCorrection: Bool, averaging: Bool, decoupled: Bool, step: Double
    }

    static let cases: [Case] = [
        Case(clip: 1, biasCorrection: true, averaging: true, decoupled: false, step: 1),
        Case(clip: 1.5, biasCorrection: true, averaging: true, decoupled: false, step: 3),
        Case(clip: 3, biasCorrection: true, averaging: false, decoupled: true, step: 7),
        Case(clip: 1234.5, biasCorrection: false, averaging: true, decoupled: true, step: 2),
        Case(clip: 2, biasCorrection: true, averaging: true, decoupled: false, step: 40),
    ]

    /// Values over many binades, with subnormal gradients so the clip's fallback to a true
    /// division is exercised too.
    static func values(_ n: Int, seed: UInt64, tiny: Bool) -> [Float] {
        var state = seed
        return (0..<n).map { i in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let mantissa = Float(Int32(truncatingIfNeeded: state >> 32)) / 2_147_483_648
            let exponent = Int((state >> 20) % 24) - 12
            // Only past the first blocks, so the others take the multiplication.
            if tiny && i >= 256 && i % 5 == 0 { return mantissa * Float.leastNormalMagnitude * 1.7 }
            return mantissa * Float(sign: .plus, exponent: exponent, significand: 1)
        }
    }

    func testTheKernelsGiveTheBitsOfTrueDivisions() {
        let n = 403
        for (k, c) in Self.cases.enumerated() {
            var a = sk_lamb_args()
            sk_lamb_prepare(2e-3, 0.9, 0.999, 1e-6, 0.02, c.biasCorrection, c.averaging, c.decoupled, 2e-3, c.step, c.clip, &a)
            var p = Self.values(n, seed: UInt64(3 * k + 1), tiny: false)
            let g = Self.values(n, seed: UInt64(3 * k + 2), tiny: true)
            var m = Self.values(n, seed: UInt64(3 * k + 3), tiny: false)
            var v = m.map { $0 * $0 }
            var (rp, rm, rv) = (p, m, v)
            var norms = [0.0, 0.0]
            var stored = [Float](repeating: 0, count: n)
            p.withUnsafeMutableBufferPointer { pp in
                m.withUnsafeMutableBufferPointer { mp in
                    v.withUnsafeMutableBufferPointer { vp in
                        stored.withUnsafeMutableBufferPointer { up in
                            sk_lamb_moments(pp.baseAddress, g, mp.baseAddress, vp.baseAddress, up.baseAddress, Int64(n), &a, &norms)
                            a.trust = 0.75
                            sk_lamb_apply(pp.baseAddress, up.baseAddress, Int64(n), &a)
                        }
                    }
                }
            }
            // The reference: timm's `_single_tensor_lamb`, element by element.
            let r = a
            var refNorms = (0.0, 0.0)
            var u = [Float](repeating: 0, count: n)
            for i in 0..<n {
                let gc = r.clip == 1 ? g[i] : g[i] / r.clip
                rm[i] = r.averaging ? lerp(rm[i], gc, r.w1) : rm[i] * r.beta1 + r.beta3 * gc
                rv[i] = rv[i] * r.beta2 + (r.c2 * gc) * gc
                u[i] = (rm[i] / r.bc1) / (rv[i].squareRoot() / r.bc2_sqrt + r.eps)
                if r.weight_decay != 0 { u[i] = u[i] + r.weight_decay * rp[i] }
                let q = r.decoupled ? rp[i] + r.wd_neg * rp[i] : rp[i]
                refNorms.0 += Double(q) * Double(q)
                refNorms.1 += Double(u[i]) * Double(u[i])
                rp[i] = q + r.neg_lr * (u[i] * 0.75)
            }
            XCTAssertEqual(m.map(\.bitPattern), rm.map(\.bitPattern), "case \(k): exp_avg")
            XCTAssertEqual(v.map(\.bitPattern), rv.map(\.bitPattern), "case \(k): exp_avg_sq")
            XCTAssertEqual(p.map(\.bitPattern), rp.map(\.bitPattern), "case \(k): parameters")
            XCTAssertEqual(stored.map(\.bitPattern), u.map(\.bitPattern), "case \(k): stored update")
            XCTAssertEqual(norms[0], refNorms.0, accuracy: 1e-12 * refNorms.0, "case \(k): ‖p'‖²")
            XCTAssertEqual(norms[1], refNorms.1, accuracy: 1e-12 * refNorms.1, "case \(k): ‖u‖²")
        }
    }

    /// torch.lerp for float (ATen/native/Lerp.h).
    func lerp(_ a: Float, _ b: Float, _ w: Float) -> Float {
        let diff = b - a
        return abs(w) < 0.5 ? a + w * diff : b - diff * (1 - w)
    }
}
