import Foundation
import StepwiseModels

/// How fast the training iterations ran, against the matrix-product bound measured in the
/// same process: a benchmark for the summary, not a test (it depends on the machine and on
/// what else runs there).
///
/// Almost all of an iteration's arithmetic is matrix products, so FLOP of products per
/// iteration divided by what plain `cblas_sgemm` achieves on the GAN's own shapes is the
/// fastest an iteration can be; `gemmFraction` says how close the iteration gets, i.e. the
/// share of its time spent in sgemm-speed arithmetic rather than in everything else.
public struct GANThroughput: Sendable, Codable, Equatable, CustomStringConvertible {
    public var iterations: Int
    /// Seconds inside training iterations (evaluations, logging and checkpoints excluded).
    public var trainSeconds: Double
    /// Mean seconds per iteration over the fastest window of `window` consecutive ones: the
    /// figure that stays comparable when other processes share the core.
    public var bestIterationSeconds: Double
    public var window: Int
    /// FLOP of every matrix product of one iteration (2 per multiply-add).
    public var flopsPerIteration: Double
    /// cblas_sgemm GFLOP/s on [batch, 128] x [128, 128] and [2 batch, 128] x [128, 128], best chunks.
    public var sgemmGFLOPs: Double

    public var meanIterationSeconds: Double { iterations > 0 ? trainSeconds / Double(iterations) : 0 }
    public var bestStepsPerSecond: Double { bestIterationSeconds > 0 ? 1 / bestIterationSeconds : 0 }
    public var iterationGFLOPs: Double { bestIterationSeconds > 0 ? flopsPerIteration / bestIterationSeconds / 1e9 : 0 }
    /// Achieved over available: 1 would mean nothing but sgemm-speed products.
    public var gemmFraction: Double { sgemmGFLOPs > 0 ? iterationGFLOPs / sgemmGFLOPs : 0 }
    /// Steps per second if the iteration were its products at sgemm speed and nothing else.
    public var gemmBoundStepsPerSecond: Double { sgemmGFLOPs * 1e9 / flopsPerIteration }

    public var description: String {
        String(format: "Iterations: %.0f us best (%.0f steps/s over the fastest %d), %.0f us mean; "
               + "%.1f MFLOP of products each = %.1f GFLOP/s, %.0f%% of cblas_sgemm's %.1f GFLOP/s measured now "
               + "(gemm_fraction %.3f; GEMM-bound ceiling %.0f steps/s)",
               bestIterationSeconds * 1e6, bestStepsPerSecond, window, meanIterationSeconds * 1e6,
               flopsPerIteration / 1e6, iterationGFLOPs, 100 * gemmFraction, sgemmGFLOPs, gemmFraction,
               gemmBoundStepsPerSecond)
    }

    /// FLOP of the products of one iteration of `GANTrainer.trainStep` with these widths:
    /// G forward (B rows); D forward and backward with parameter gradients on real and fake
    /// (2B); D forward (B) and backward for the input gradient only; G backward (B).
    /// `generator` and `discriminator` list each Dense layer's (in, out), input side first.
    public static func flopsPerIteration(generator: [(in: Int, out: Int)], discriminator: [(in: Int, out: Int)],
                                         batch: Int) -> Double {
        let gl = generator.map { Double($0.in * $0.out) }, dl = discriminator.map { Double($0.in * $0.out) }
        let b = Double(batch)
        let gSum = gl.reduce(0, +), dSum = dl.reduce(0, +)
        let dDeep = dSum - (dl.first ?? 0), gDeep = gSum - (gl.first ?? 0)
        let multiplyAdds = b * gSum                   // G forward
            + 2 * b * (dSum + dSum + dDeep)            // D forward, dW, dX past the first layer
            + b * (dSum + dSum)                        // D forward on fakes, dX of every layer
            + b * (gSum + gDeep)                       // G dW, dX past the first layer
        return 2 * multiplyAdds
    }
}

/// Times each training iteration and keeps the fastest window.
final class IterationClock {
    let window: Int
    private var times: [Double] = []
    private var windowSum = 0.0
    private(set) var total = 0.0
    private(set) var best = Double.infinity

    init(window: Int = 200) { self.window = window }

    var count: Int { times.count }

    func measure<T>(_ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            times.append(seconds)
            total += seconds
            windowSum += seconds
            if times.count > window { windowSum -= times[times.count - 1 - window] }
            if times.count >= window { best = min(best, windowSum / Double(window)) }
        }
        return try body()
    }

    static func denseShapes(_ model: Sequential) -> [(in: Int, out: Int)] {
        model.layers.compactMap { $0 as? Dense }.map { ($0.inputFeatures, $0.outputFeatures) }
    }

    /// The result, measuring sgemm on the GAN's hidden-layer shapes now (about 0.3 s).
    func throughput(trainer: GANTrainer) -> GANThroughput {
        let width = Self.denseShapes(trainer.discriminator).first?.out ?? 128
        let shapes = [trainer.batch, 2 * trainer.batch].map { SGEMMBenchmark.run(m: $0, n: width, k: width, seconds: 0.15) }
        // Time-weighted: both shapes at their best, as one mixed stream of products.
        let flops = shapes.reduce(0.0) { $0 + 2 * Double($1.m * $1.n * $1.k) }
        let seconds = shapes.reduce(0.0) { $0 + $1.bestSecondsPerCall }
        let fallback = times.isEmpty ? 0 : total / Double(times.count)
        return GANThroughput(
            iterations: times.count, trainSeconds: total,
            bestIterationSeconds: best.isFinite ? best : fallback, window: min(window, times.count),
            flopsPerIteration: GANThroughput.flopsPerIteration(generator: Self.denseShapes(trainer.generator),
                                                               discriminator: Self.denseShapes(trainer.discriminator),
                                                               batch: trainer.batch),
            sgemmGFLOPs: flops / seconds / 1e9)
    }
}
