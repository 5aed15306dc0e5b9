import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// A quick sgemm throughput probe for logs (`stepwise gan` prints it). Not a test: the
/// number depends on the machine and its load.
public enum SGEMMBenchmark {
    public struct Result: Sendable, CustomStringConvertible {
        public let m: Int, n: Int, k: Int
        public let precision: MatmulPrecision
        /// Seconds per call in the fastest chunk: what the hardware does when this process
        /// has the core to itself, the figure that stays comparable on a shared machine.
        public let bestSecondsPerCall: Double
        /// Seconds per call over the whole run, preemption by other processes included.
        public let meanSecondsPerCall: Double

        public var gflops: Double { 2 * Double(m * n * k) / bestSecondsPerCall / 1e9 }
        public var meanGFLOPs: Double { 2 * Double(m * n * k) / meanSecondsPerCall / 1e9 }

        public var description: String {
            let best = (gflops * 10).rounded() / 10, mean = (meanGFLOPs * 10).rounded() / 10
            let micros = (bestSecondsPerCall * 1e7).rounded() / 10
            return "sgemm \(m)x\(n)x\(k) \(precision): \(best) GFLOP/s best (\(micros) us/call), \(mean) mean"
        }
    }

    /// Times C[m, n] = A[m, k] * B[n, k]^T (a Dense forward at batch m, in k, out n; the
    /// default is the GAN's 256 x 128 -> 128 hidden layer) for about `seconds`, in chunks of
    /// a few milliseconds, after one warm-up call.
    public static func run(m: Int = 256, n: Int = 128, k: Int = 128, seconds: Double = 0.25,
                           precision: MatmulPrecision = .float32) -> Result {
        let a = Tensor(shape: [m, k]), b = Tensor(shape: [n, k]), c = Tensor(shape: [m, n])
        var rng = Xoshiro256StarStar(seed: 0)
        rng.fillUniform(a.data, count: a.count, low: -1, high: 1)
        rng.fillUniform(b.data, count: b.count, low: -1, high: 1)
        let multiplier = MatrixMultiplier(precision: precision)
        func call() {
            multiplier.multiply(transposeB: true, m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: k,
                                c: c.data, ldc: n)
        }
        call()
        let chunk = 8
        var calls = 0
        var best = Double.infinity
        let start = monotonicSeconds()
        var elapsed = 0.0
        repeat {
            let chunkStart = monotonicSeconds()
            for _ in 0..<chunk { call() }
            let chunkEnd = monotonicSeconds()
            best = min(best, (chunkEnd - chunkStart) / Double(chunk))
            calls += chunk
            elapsed = chunkEnd - start
        } while elapsed < seconds
        return Result(m: m, n: n, k: k, precision: precision, bestSecondsPerCall: best,
                      meanSecondsPerCall: elapsed / Double(calls))
    }
}

func monotonicSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}
