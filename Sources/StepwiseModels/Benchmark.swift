import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// A quick sgemm throughput probe for logs (`stepwise gan` prints it). Not a test: the
/// number depends on the machine and its load.
public enum SGEMMBenchmark {
    public struct Result: Sendable, CustomStringConvertible {
        public let m: Int, n: Int, k: Int
        public let calls: Int
        public let seconds: Double
        public var gflops: Double { 2 * Double(m * n * k) * Double(calls) / seconds / 1e9 }
        public var microsecondsPerCall: Double { seconds / Double(calls) * 1e6 }
        public var description: String {
            "sgemm \(m)x\(n)x\(k): \(rounded(gflops)) GFLOP/s, \(rounded(microsecondsPerCall)) us/call"
        }
        private func rounded(_ x: Double) -> Double { (x * 10).rounded() / 10 }
    }

    /// Times C[m, n] = A[m, k] * B[n, k]^T (a Dense forward at batch m, in k, out n; the
    /// default is the GAN's 256 x 128 -> 128 hidden layer) for at least `seconds`, after
    /// one warm-up call.
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
        var calls = 0
        let start = monotonicSeconds()
        var elapsed = 0.0
        repeat {
            for _ in 0..<8 { call() }
            calls += 8
            elapsed = monotonicSeconds() - start
        } while elapsed < seconds
        return Result(m: m, n: n, k: k, calls: calls, seconds: elapsed)
    }
}

func monotonicSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}
