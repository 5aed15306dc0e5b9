import Foundation
import StepwiseABI

/// A small, exactly known data-parallel run used to check the all-reduce path end to end:
/// a linear model (4 inputs, 3 outputs, mean squared error) trained through a real
/// OptimWrapper from the plugins. Rank r of R draws its own batch each iteration; one
/// process with no communicator draws the union of all R ranks' batches instead, which is
/// what data parallelism must reproduce (the mean of per-rank means over equal batches is
/// the mean over their union).
public enum DataParallelCheck {
    public static let inputs = 4, outputs = 3

    public struct Result: Codable, Equatable, Sendable {
        public var rank: Int
        public var ranks: Int
        public var iterations: Int
        public var accumulation: Int
        /// Window ends synchronized and MPI_Allreduce calls made (0 in one process).
        public var rounds: Int
        public var calls: Int
        public var stepsTaken: Int
        /// Parameters after the run, in model order (weight, then bias).
        public var params: [[Float]]
    }

    public static let defaultWrapper = "{optimizer: {type: SGD, lr: 0.1, momentum: 0.9}, clip_grad: {max_norm: 0.5}}"

    /// `wrapperYAML` is the optim_wrapper dict (its `accumulative_counts` is set from
    /// `accumulation`). With a communicator, this process is one rank; without, it
    /// trains on the union of `ranks` ranks' batches.
    public static func run(registry: PluginRegistry, wrapperYAML: String = defaultWrapper, iterations: Int,
                           accumulation: Int, ranks: Int, batch: Int = 8, bucketBytes: Int = 25 << 20,
                           communicator: Communicator?) throws -> Result {
        var config = try ConfigLoader.parse(string: wrapperYAML, format: .yaml, origin: "dist-check wrapper")
        config["accumulative_counts"] = .int(Int64(accumulation))
        let weight = Parameter(name: "linear.weight", shape: [inputs, outputs],
                               values: (0..<(inputs * outputs)).map { Float($0 % 5) * 0.1 - 0.2 })
        let bias = Parameter(name: "linear.bias", shape: [outputs], tag: STEPWISE_PARAM_BIAS,
                             values: [0.05, -0.05, 0])
        let wrapper = try OptimWrapper(registry: registry, config: config, params: [weight, bias])
        try wrapper.initializeCountStatus(maxCounts: iterations)
        var sync: GradientAllReduce?
        if let communicator {
            guard communicator.size == ranks else {
                throw StepwiseError.usage("dist-check: \(ranks) ranks asked, but mpirun started \(communicator.size)")
            }
            sync = GradientAllReduce(communicator: communicator, bucketBytes: bucketBytes)
            wrapper.gradientSync = sync
        }
        let myRanks = communicator.map { [$0.rank] } ?? Array(0..<ranks)
        var stepsTaken = 0
        for iter in 0..<iterations {
            let samples = myRanks.flatMap { r in (0..<batch).map { sample(iter: iter, rank: r, index: $0) } }
            let (loss, gw, gb) = lossAndGradient(weight: weight, bias: bias, samples: samples)
            let report = try wrapper.updateParams(loss: loss) { factor in
                gw.map { Float($0 * factor) }.withUnsafeBufferPointer { weight.accumulateGrad($0) }
                gb.map { Float($0 * factor) }.withUnsafeBufferPointer { bias.accumulateGrad($0) }
            }
            if report.step?.stepped == true { stepsTaken += 1 }
        }
        return Result(rank: communicator?.rank ?? 0, ranks: ranks, iterations: iterations, accumulation: accumulation,
                      rounds: sync?.rounds ?? 0, calls: sync?.calls ?? 0, stepsTaken: stepsTaken,
                      params: [weight.values, bias.values])
    }

    /// One (x, target) pair, fixed by (iteration, rank, index) alone.
    static func sample(iter: Int, rank: Int, index: Int) -> (x: [Double], t: [Double]) {
        var state = UInt64(truncatingIfNeeded: iter) &* 0x9E37_79B9_7F4A_7C15
            ^ UInt64(truncatingIfNeeded: rank) &* 0xBF58_476D_1CE4_E5B9 ^ UInt64(truncatingIfNeeded: index) &* 0x94D0_49BB_1331_11EB
        func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53) * 2 - 1
        }
        let x = (0..<inputs).map { _ in next() }
        // A fixed true map plus a little noise, different on every rank.
        let t = (0..<outputs).map { o in (0..<inputs).reduce(0.0) { $0 + x[$1] * Double(($1 + o) % 3 - 1) } + 0.1 * next() }
        return (x, t)
    }

    /// Mean over samples of 0.5 * |x W + b - t|^2, and its gradients, in double.
    static func lossAndGradient(weight: Parameter, bias: Parameter,
                                samples: [(x: [Double], t: [Double])]) -> (Double, [Double], [Double]) {
        var gw = [Double](repeating: 0, count: inputs * outputs), gb = [Double](repeating: 0, count: outputs)
        var loss = 0.0
        let n = Double(samples.count)
        for (x, t) in samples {
            for o in 0..<outputs {
                var y = Double(bias.data[o])
                for i in 0..<inputs { y += x[i] * Double(weight.data[i * outputs + o]) }
                let r = y - t[o]
                loss += 0.5 * r * r / n
                gb[o] += r / n
                for i in 0..<inputs { gw[i * outputs + o] += x[i] * r / n }
            }
        }
        return (loss, gw, gb)
    }
}
