import Dispatch
import Foundation
import StepwiseKernels

/// Memory bandwidth as an optimizer step sees it: an in-place read-modify-write
/// `a += s * b` (two streams read, one written back) over buffers far larger than the
/// caches, timed with the same vectorized kernels the optimizers use.
public struct BandwidthProbe: Sendable {
    public var elements = 1 << 25     // 128 MiB per buffer
    public var repetitions = 7

    public init() {}

    public struct Result: Sendable {
        /// Bytes per second moved by one thread and by the host's pool.
        public var singleThread: Double
        public var pool: Double
        public var threads: Int
        /// The bound steps are measured against: the better of the two (a step on the pool
        /// can do no better than the pool, nor should it do worse than one thread).
        public var bound: Double { max(singleThread, pool) }
    }

    public func measure(pool: ThreadPool = .shared) -> Result {
        let buffers = Buffers(elements)
        let single = BenchClock.best(repetitions) { buffers.triad(pool: nil) }
        let pooled = BenchClock.best(repetitions) { buffers.triad(pool: pool) }
        let bytes = Double(buffers.bytes)
        return Result(singleThread: bytes / single, pool: bytes / pooled, threads: pool.threadCount)
    }

    /// The probe's two buffers, kept so measurements can re-probe between steps.
    final class Buffers: @unchecked Sendable {
        let a: UnsafeMutableBufferPointer<Float>, b: UnsafeMutableBufferPointer<Float>
        // The scale alternates sign so the values stay bounded however many passes run.
        private var scale: Float = 1e-3
        var bytes: Int { 12 * a.count }

        init(_ n: Int) {
            a = alignedFloats(n)
            b = alignedFloats(n)
            BenchData.fill(a, seed: 1)
            BenchData.fill(b, seed: 2)
        }
        deinit {
            free(a.baseAddress)
            free(b.baseAddress)
        }

        /// One pass of a += s * b, on the calling thread or split over `pool`.
        func triad(pool: ThreadPool?) {
            guard let pa = a.baseAddress, let pb = b.baseAddress else { return }
            scale = -scale
            let s = scale, n = a.count
            guard let pool, pool.threadCount > 1 else { return sk_triad(pa, pb, s, Int64(n)) }
            pool.parallelFor(count: n, grain: (n + pool.threadCount - 1) / pool.threadCount) { lo, hi in
                sk_triad(pa + lo, pb + lo, s, Int64(hi - lo))
            }
        }
    }
}

enum BenchClock {
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    /// The best (shortest) time of `count` runs of `body`, after one untimed run. Best, as
    /// STREAM reports, because on a shared machine every other statistic measures the
    /// neighbours.
    static func best(_ count: Int, _ body: () throws -> Void) rethrows -> Double {
        try body()
        var best = Double.infinity
        for _ in 0..<max(1, count) { best = min(best, try seconds(body)) }
        return best
    }
}

enum BenchData {
    /// Fills `x` with values in [-1, 1) from a linear congruential generator: cheap for
    /// 100M elements, and deterministic.
    static func fill(_ x: UnsafeMutableBufferPointer<Float>, seed: UInt64) {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        for i in x.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            x[i] = Float(Int32(truncatingIfNeeded: state >> 32)) * (1 / 2_147_483_648)
        }
    }
}
