import StepwiseKernels
import XCTest

/// Optimizer steps run a kernel over pieces of a tensor chosen by the thread pool, so a
/// kernel must give the same bits whatever the split: the vectorized body and the scalar
/// remainder have to round identically (no contraction into FMA in one and not the other).
final class KernelSplitTests: XCTestCase {
    /// Buffers of one kernel call: parameters, gradient and `states` state tensors stored
    /// one after another in `s`.
    struct Buffers: Equatable {
        var n: Int, p: [Float], g: [Float], s: [Float]

        init(_ n: Int, states: Int, seed: Int) {
            func wave(_ k: Int) -> [Float] { (0..<n).map { Float(sin(Double($0 * 7 + k * 13 + seed))) } }
            self.n = n
            p = wave(1)
            g = wave(2)
            // Second-moment-like states must be non-negative.
            s = (0..<states).flatMap { k in wave(3 + k).map { abs($0) } }
        }
    }

    typealias Body = @Sendable (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, [UnsafeMutablePointer<Float>], Int64) -> Void

    /// Runs `body` over elements [lo, hi) of the buffers.
    static func call(_ b: inout Buffers, _ lo: Int, _ hi: Int, _ body: Body) {
        let n = b.n, states = b.s.count / max(n, 1)
        b.p.withUnsafeMutableBufferPointer { p in
            b.g.withUnsafeMutableBufferPointer { g in
                b.s.withUnsafeMutableBufferPointer { s in
                    body(p.baseAddress! + lo, g.baseAddress! + lo, (0..<states).map { s.baseAddress! + $0 * n + lo },
                         Int64(hi - lo))
                }
            }
        }
    }

    static let kernels: [(String, Int, Body)] = [
        ("sgd", 1, { p, g, s, n in
            var a = sk_sgd_args(); sk_sgd_prepare(0.1, 0.9, 0.1, 0.01, true, false, &a); sk_sgd(p, g, s[0], n, &a) }),
        ("adam", 3, { p, g, s, n in
            var a = sk_adam_args(); sk_adam_prepare(1e-3, 0.9, 0.999, 1e-8, 0.01, true, true, false, 3, &a)
            sk_adam(p, g, s[0], s[1], s[2], n, &a) }),
        ("adamax", 2, { p, g, s, n in
            var a = sk_adamax_args(); sk_adamax_prepare(2e-3, 0.9, 0.999, 1e-8, 0.01, true, 2, &a)
            sk_adamax(p, g, s[0], s[1], n, &a) }),
        ("nadam", 2, { p, g, s, n in
            var a = sk_nadam_args(); var mu = 0.9
            sk_nadam_prepare(2e-3, 0.9, 0.999, 1e-8, 0.01, 4e-3, false, false, 2, &mu, &a)
            sk_nadam(p, g, s[0], s[1], n, &a) }),
        ("radam", 2, { p, g, s, n in
            var a = sk_radam_args(); sk_radam_prepare(1e-3, 0.9, 0.999, 1e-8, 0.01, true, false, 9, &a)
            sk_radam(p, g, s[0], s[1], n, &a) }),
        ("adagrad", 1, { p, g, s, n in
            var a = sk_adagrad_args(); sk_adagrad_prepare(1e-2, 0.1, 0.01, 1e-10, 0.1, false, 3, &a)
            sk_adagrad(p, g, s[0], n, &a) }),
        ("adadelta", 2, { p, g, s, n in
            var a = sk_adadelta_args(); sk_adadelta_prepare(1, 0.9, 1e-6, 0.01, true, &a)
            sk_adadelta(p, g, s[0], s[1], n, &a) }),
        ("rmsprop", 3, { p, g, s, n in
            var a = sk_rmsprop_args(); sk_rmsprop_prepare(1e-2, 0.99, 1e-8, 0.01, 0.9, true, false, &a)
            sk_rmsprop(p, g, s[0], s[1], s[2], n, &a) }),
        ("rprop", 2, { p, g, s, n in
            var a = sk_rprop_args(); sk_rprop_prepare(1e-2, 0.5, 1.2, 1e-6, 50, false, &a)
            sk_rprop(p, g, s[0], s[1], n, &a) }),
        ("asgd", 1, { p, g, s, n in
            var a = sk_asgd_args(); var eta = 0.01, mu = 0.5
            sk_asgd_prepare(1e-2, 1e-4, 0.75, 1, 0.01, false, 3, &eta, &mu, &a); sk_asgd(p, g, s[0], n, &a) }),
        ("asgd before averaging", 1, { p, g, s, n in
            var a = sk_asgd_args(); var eta = 0.01, mu = 1.0
            sk_asgd_prepare(1e-2, 1e-4, 0.75, 1e6, 0.01, true, 3, &eta, &mu, &a); sk_asgd(p, g, s[0], n, &a) }),
        // s[2]: the stored update u, compared like state.
        ("lamb with trust ratio", 3, { p, g, s, n in
            var a = sk_lamb_args()
            sk_lamb_prepare(1e-3, 0.9, 0.999, 1e-6, 0.01, true, false, false, 1e-3, 4, 1, &a)
            var norms = [0.0, 0.0]
            sk_lamb_moments(p, g, s[0], s[1], s[2], n, &a, &norms)
            a.trust = 0.7
            sk_lamb_apply(p, s[2], n, &a) }),
        ("lion", 1, { p, g, s, n in
            var a = sk_lion_args(); sk_lion_prepare(1e-4, 0.9, 0.99, 0.1, false, &a); sk_lion(p, g, s[0], n, &a) }),
        ("lars", 1, { p, g, s, n in
            var a = sk_lars_args(); sk_lars_prepare(0.1, 0.9, 0, 1e-4, 1e-3, 1e-8, true, false, 2, 3, &a)
            sk_lars(p, g, s[0], n, &a) }),
        ("lamb", 2, { p, g, s, n in
            var a = sk_lamb_args()
            sk_lamb_prepare(1e-3, 0.9, 0.999, 1e-6, 0.01, true, true, true, 1e-3, 4, 1.5, &a)
            a.apply = true
            var norms = [0.0, 0.0]
            sk_lamb_moments(p, g, s[0], s[1], nil, n, &a, &norms) }),
    ]

    func testPiecesGiveTheBitsOfOneCall() {
        let n = 203  // odd: vector bodies of 16, 8 and 4 floats all leave a remainder
        for (name, states, kernel) in Self.kernels {
            var whole = Buffers(n, states: states, seed: name.count)
            var pieces = whole
            Self.call(&whole, 0, n, kernel)
            var lo = 0
            for width in [1, 2, 3, 17, 5, 64, 33, 7, 71] where lo < n {
                let hi = min(n, lo + width)
                Self.call(&pieces, lo, hi, kernel)
                lo = hi
            }
            if lo < n { Self.call(&pieces, lo, n, kernel) }
            XCTAssertEqual(whole.p.map(\.bitPattern), pieces.p.map(\.bitPattern), "\(name): parameters")
            XCTAssertEqual(whole.s.map(\.bitPattern), pieces.s.map(\.bitPattern), "\(name): state")
            XCTAssertNotEqual(whole.p, Buffers(n, states: states, seed: name.count).p, "\(name) changed nothing")
        }
    }

    func testSumsOfSquaresMatchAPlainLoop() {
        let x = (0..<1001).map { Float(sin(Double($0))) }, y = x.map { $0 * 3 - 1 }
        func plain(_ v: [Float]) -> Double { v.reduce(0.0) { $0 + Double($1) * Double($1) } }
        let fast = x.withUnsafeBufferPointer { sk_sumsq($0.baseAddress, Int64($0.count)) }
        XCTAssertEqual(fast, plain(x), accuracy: 1e-12 * plain(x))
        var both = [0.0, 0.0]
        x.withUnsafeBufferPointer { xs in y.withUnsafeBufferPointer { ys in sk_sumsq2(xs.baseAddress, ys.baseAddress, 1001, &both) } }
        XCTAssertEqual(both[0], plain(x), accuracy: 1e-12 * plain(x))
        XCTAssertEqual(both[1], plain(y), accuracy: 1e-12 * plain(y))
    }
}
