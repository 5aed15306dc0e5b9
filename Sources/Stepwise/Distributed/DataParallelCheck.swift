import Foundation
import StepwiseABI

/// A small, exactly known data-parallel run used to check the all-reduce path end to end:
/// a linear model (3 inputs, 3 outputs, mean squared error; each weight row its own
/// parameter, so ZeRO-1 can split them evenly) trained through a real
/// OptimWrapper from the plugins. Rank r of R draws its own batch each iteration; one
/// process with no communicator draws the union of all R ranks' batches instead, which is
/// what data parallelism must reproduce (the mean of per-rank means over equal batches is
/// the mean over their union).
public enum DataParallelCheck {
    public static let inputs = 3, outputs = 3

    public struct Result: Codable, Equatable, Sendable {
        public var rank: Int
        public var ranks: Int
        public var iterations: Int
        public var accumulation: Int
        /// Window ends synchronized and MPI_Allreduce calls made (0 in one process).
        public var rounds: Int
        public var calls: Int
        public var stepsTaken: Int
        /// Parameters after the run, in model order (weight rows, then bias).
        public var params: [[Float]]
        /// The optimizer state this process holds (its shard under ZeRO-1).
        public var state: StateShard
        /// All-gathers of updated parameters (ZeRO-1 only).
        public var gathers = 0
        /// The wrapper's loss scale at the end (1 without a loss scaler).
        public var lossScale = 1.0
        /// All-reduce calls started during backward (`overlap`).
        public var overlappedCalls = 0
    }

    /// An optimizer state (or one rank's shard of it) as plain values.
    public struct StateShard: Codable, Equatable, Sendable {
        public var initialized: [String] = []
        public var tensors: [String: [Float]] = [:]
        public var shapes: [String: [Int]] = [:]
        public var scalars: [String: Double] = [:]
        /// Floats of state held: what ZeRO-1 divides by the number of ranks.
        public var floats: Int { tensors.values.reduce(0) { $0 + $1.count } }

        init(_ state: OptimizerState) {
            initialized = state.initialized
            for t in state.tensors { tensors[t.key] = t.values; shapes[t.key] = t.shape }
            for x in state.scalars { scalars[x.key] = x.value }
        }

        /// Into `base` (a state dict of the same optimizer, for its type and groups).
        func applied(to base: OptimizerState) -> OptimizerState {
            var out = base
            out.initialized = initialized
            out.tensors = tensors.keys.sorted().map { .init(key: $0, shape: shapes[$0] ?? [], values: tensors[$0] ?? []) }
            out.scalars = scalars.keys.sorted().map { .init(key: $0, value: scalars[$0] ?? 0) }
            return out
        }
    }

    /// Where a resumed run starts: the iteration, the parameters, and every rank's state
    /// shard from the run that saved it (any number of ranks).
    public struct Resume: Sendable {
        public var iteration: Int
        public var params: [[Float]]
        public var shards: [StateShard]
        public init(iteration: Int, params: [[Float]], shards: [StateShard]) {
            self.iteration = iteration; self.params = params; self.shards = shards
        }
    }

    public static let defaultWrapper = "{optimizer: {type: SGD, lr: 0.1, momentum: 0.9}, clip_grad: {max_norm: 0.5}}"

    /// `wrapperYAML` is the optim_wrapper dict (its `accumulative_counts` is set from
    /// `accumulation`). With a communicator, this process is one rank; without, it
    /// trains on the union of `ranks` ranks' batches.
    public static func run(registry: PluginRegistry, wrapperYAML: String = defaultWrapper, iterations: Int,
                           accumulation: Int, ranks: Int, batch: Int = 8, bucketBytes: Int = 25 << 20,
                           zero: Bool = false, overlap: Bool = false, resume: Resume? = nil, nonFiniteAt: (iteration: Int, rank: Int)? = nil,
                           communicator: Communicator?) throws -> Result {
        var config = try ConfigLoader.parse(string: wrapperYAML, format: .yaml, origin: "dist-check wrapper")
        config["accumulative_counts"] = .int(Int64(accumulation))
        let rows = (0..<inputs).map { i in
            Parameter(name: "linear.weight.\(i)", shape: [outputs], values: (0..<outputs).map { Float((i * outputs + $0) % 5) * 0.1 - 0.2 })
        }
        let bias = Parameter(name: "linear.bias", shape: [outputs], tag: STEPWISE_PARAM_BIAS, values: [0.05, -0.05, 0])
        let params = rows + [bias]
        let wrapper = try OptimWrapper(registry: registry, config: config, params: params)
        let start = resume?.iteration ?? 0
        try wrapper.initializeCountStatus(initCounts: start, maxCounts: iterations)
        var reduce: GradientAllReduce?
        var sharded: ZeroRedundancy?
        if let communicator {
            guard communicator.size == ranks else {
                throw StepwiseError.usage("dist-check: \(ranks) ranks asked, but mpirun started \(communicator.size)")
            }
            if zero {
                sharded = ZeroRedundancy(communicator: communicator, groups: wrapper.paramGroups.map(\.params), bucketBytes: bucketBytes)
                reduce = sharded?.reduce
                wrapper.gradientSync = sharded
            } else {
                reduce = GradientAllReduce(communicator: communicator, bucketBytes: bucketBytes)
                wrapper.gradientSync = reduce
            }
        }
        if let resume {
            for (p, values) in zip(params, resume.params) { _ = p.data.initialize(from: values) }
            let base = try wrapper.optimizer.stateDict()
            var full = try ZeroRedundancy.consolidate(resume.shards.map { $0.applied(to: base) })
            if let sharded { full = sharded.localState(full) }
            try wrapper.optimizer.loadStateDict(full)
        }
        let myRanks = communicator.map { [$0.rank] } ?? Array(0..<ranks)
        var stepsTaken = 0
        for iter in start..<iterations {
            let samples = myRanks.flatMap { r in (0..<batch).map { sample(iter: iter, rank: r, index: $0) } }
            var (loss, gw, gb) = lossAndGradient(rows: rows, bias: bias, samples: samples)
            // One rank's gradient overflows: every rank must take the same decision.
            if let bad = nonFiniteAt, bad.iteration == iter, myRanks.contains(bad.rank) { gw[0] = .infinity }
            let report = try wrapper.updateParams(loss: loss) { factor in
                // Backward order: the bias, then the rows from the last; each final at once.
                gb.map { Float($0 * factor) }.withUnsafeBufferPointer { bias.accumulateGrad($0) }
                if overlap { try reduce?.gradientReady(bias, in: wrapper) }
                for (i, row) in rows.enumerated().reversed() {
                    gw[(i * outputs)..<((i + 1) * outputs)].map { Float($0 * factor) }.withUnsafeBufferPointer { row.accumulateGrad($0) }
                    if overlap { try reduce?.gradientReady(row, in: wrapper) }
                }
            }
            if report.step?.stepped == true { stepsTaken += 1 }
        }
        return Result(rank: communicator?.rank ?? 0, ranks: ranks, iterations: iterations, accumulation: accumulation,
                      rounds: reduce?.rounds ?? 0, calls: reduce?.calls ?? 0, stepsTaken: stepsTaken,
                      params: params.map(\.values), state: StateShard(try wrapper.optimizer.stateDict()),
                      gathers: sharded?.gathers ?? 0, lossScale: wrapper.lossScale,
                      overlappedCalls: reduce?.overlappedCalls ?? 0)
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
    static func lossAndGradient(rows: [Parameter], bias: Parameter,
                                samples: [(x: [Double], t: [Double])]) -> (Double, [Double], [Double]) {
        var gw = [Double](repeating: 0, count: inputs * outputs), gb = [Double](repeating: 0, count: outputs)
        var loss = 0.0
        let n = Double(samples.count)
        for (x, t) in samples {
            for o in 0..<outputs {
                var y = Double(bias.data[o])
                for i in 0..<inputs { y += x[i] * Double(rows[i].data[o]) }
                let r = y - t[o]
                loss += 0.5 * r * r / n
                gb[o] += r / n
                for i in 0..<inputs { gw[i * outputs + o] += x[i] * r / n }
            }
        }
        return (loss, gw, gb)
    }
}
