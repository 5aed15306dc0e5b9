import Foundation

/// ZeRO stage 1, as torch's ZeroRedundancyOptimizer (which MMEngine's wraps): gradients
/// are averaged over every process as in plain data parallelism (clipping needs all of
/// them), but each parameter is owned by one process, which alone keeps its optimizer
/// state and updates it; the updated parameters are then all-gathered. Ownership is
/// torch's greedy rule: per param group, largest parameters first, each to the process
/// holding the fewest elements so far (ties to the lower rank).
///
/// The optimizer allocates state lazily for parameters that have a gradient (torch's
/// `p.grad is None` skip), so hiding the gradients of parameters owned elsewhere just
/// before the step keeps their state from ever existing on this process. Optimizers
/// that see every parameter at once (LBFGS, needing a closure) are not supported.
public final class ZeroRedundancy: GradientSynchronizer, @unchecked Sendable {
    public let reduce: GradientAllReduce
    public var communicator: Communicator { reduce.communicator }
    /// The owning rank of each parameter, by name.
    public let owner: [String: Int]
    /// Each rank's parameters in gather order.
    private let owned: [[String]]
    private var gatherBuffer: [Float] = []
    /// All-gather calls made (one per optimizer step).
    public private(set) var gathers = 0

    public init(communicator: Communicator, groups: [[Parameter]], bucketBytes: Int = 25 << 20) {
        reduce = GradientAllReduce(communicator: communicator, bucketBytes: bucketBytes)
        let plan = Self.partition(groups: groups.map { $0.map { ($0.name, $0.count) } }, ranks: communicator.size)
        owned = plan
        var owner: [String: Int] = [:]
        for (r, names) in plan.enumerated() { for n in names { owner[n] = r } }
        self.owner = owner
    }

    /// torch's `_partition_parameters`: sizes carry over from one group to the next.
    public static func partition(groups: [[(name: String, count: Int)]], ranks: Int) -> [[String]] {
        var sizes = [Int](repeating: 0, count: ranks)
        var out = [[String]](repeating: [], count: ranks)
        for group in groups {
            let sorted = group.enumerated().sorted { a, b in
                a.element.count != b.element.count ? a.element.count > b.element.count : a.offset < b.offset
            }
            for (_, p) in sorted {
                let r = sizes.indices.min { sizes[$0] != sizes[$1] ? sizes[$0] < sizes[$1] : $0 < $1 } ?? 0
                out[r].append(p.name)
                sizes[r] += p.count
            }
        }
        return out
    }

    public func owns(_ name: String) -> Bool { owner[name] == communicator.rank }

    public func synchronize(_ params: [Parameter], lossNonFinite: Bool) throws -> Bool {
        try reduce.synchronize(params, lossNonFinite: lossNonFinite)
    }

    public func beforeOptimizerStep(_ params: [Parameter]) throws {
        for p in params where !owns(p.name) { p.hasGrad = false }
    }

    public func afterOptimizerStep(_ params: [Parameter]) throws {
        let byName = Dictionary(params.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let counts = owned.map { $0.reduce(0) { $0 + (byName[$1]?.count ?? 0) } }
        var send: [Float] = []
        send.reserveCapacity(counts[communicator.rank])
        for name in owned[communicator.rank] { if let p = byName[name] { send.append(contentsOf: p.data) } }
        let total = counts.reduce(0, +)
        if gatherBuffer.count < total { gatherBuffer = [Float](repeating: 0, count: total) }
        try send.withUnsafeBufferPointer { s in
            try gatherBuffer.withUnsafeMutableBufferPointer { try communicator.allGather(s, into: $0, counts: counts) }
        }
        gathers += 1
        var at = 0
        for names in owned {
            for name in names {
                guard let p = byName[name] else { continue }
                if !owns(name) {
                    for k in 0..<p.count { p.data[k] = gatherBuffer[at + k] }
                }
                at += p.count
            }
        }
    }

    // MARK: Checkpoints: one shard per rank, resumable on any number of ranks

    /// This process's part of a full state dict (what a per-rank checkpoint holds).
    public func localState(_ state: OptimizerState) -> OptimizerState {
        Self.filter(state) { owns($0) }
    }

    /// The state of parameters for which `keep` is true; everything else as is.
    public static func filter(_ state: OptimizerState, keep: (String) -> Bool) -> OptimizerState {
        var out = state
        let names = state.initialized.sorted { $0.count > $1.count }
        func param(of key: String) -> String? { names.first { key.hasPrefix($0 + ".") } }
        out.initialized = state.initialized.filter(keep)
        out.tensors = state.tensors.filter { param(of: $0.key).map(keep) ?? false }
        out.scalars = state.scalars.filter { param(of: $0.key).map(keep) ?? false }
        return out
    }

    /// The whole state from every rank's `local` shard, on every rank (MMEngine's
    /// ZeroRedundancyOptimizer.state_dict, which consolidates first). A collective.
    public func gatherState(_ local: OptimizerState) throws -> OptimizerState {
        let shards = try communicator.allGatherBytes(ShardCodec.encode(localState(local)))
        var out = local
        out.initialized = []
        out.tensors = []
        out.scalars = []
        return try Self.consolidate(shards.map { try ShardCodec.decode($0, into: out) })
    }

    /// One full state from every rank's shard (saved by any number of ranks); load it,
    /// then keep `localState` of it, to resume on any number of ranks.
    public static func consolidate(_ shards: [OptimizerState]) throws -> OptimizerState {
        guard var out = shards.first else { throw StepwiseError.state("no optimizer state shards to consolidate") }
        guard shards.allSatisfy({ $0.extra == nil }) else {
            throw StepwiseError.state("\(out.type) keeps opaque whole-optimizer state, which per-rank shards cannot be merged from; ZeRO-1 does not support it")
        }
        for s in shards.dropFirst() {
            guard s.type == out.type, s.groups == out.groups else {
                throw StepwiseError.state("optimizer state shards disagree (type \(s.type) vs \(out.type), or their param groups): they are not from one run")
            }
            for name in s.initialized where out.initialized.contains(name) {
                throw StepwiseError.state("parameter '\(name)' has state in two shards: they are not from one run")
            }
            out.initialized += s.initialized
            out.tensors += s.tensors
            out.scalars += s.scalars
        }
        return out
    }
}

/// A shard's per-parameter state as bytes for the all-gather: the length of a JSON header
/// (names, shapes, scalars as bit patterns), the header, then the float values. In the
/// machine's byte order: the ranks of one run share an architecture, as MPI_FLOAT
/// transfers between them assume.
enum ShardCodec {
    struct Header: Codable {
        var initialized: [String]
        var tensors: [Tensor]
        var scalars: [Scalar]
        struct Tensor: Codable { var key: String; var shape: [Int]; var count: Int }
        struct Scalar: Codable { var key: String; var bits: UInt64 }
    }

    static func encode(_ state: OptimizerState) throws -> [UInt8] {
        let header = Header(initialized: state.initialized,
                            tensors: state.tensors.map { .init(key: $0.key, shape: $0.shape, count: $0.values.count) },
                            scalars: state.scalars.map { .init(key: $0.key, bits: $0.value.bitPattern) })
        let json = try JSONEncoder().encode(header)
        var out = withUnsafeBytes(of: UInt64(json.count), Array.init)
        out += json
        for t in state.tensors { t.values.withUnsafeBytes { out += $0 } }
        return out
    }

    /// `base` with the shard's parameters' state (its type and groups are kept).
    static func decode(_ bytes: [UInt8], into base: OptimizerState) throws -> OptimizerState {
        let bad = StepwiseError.state("a ZeRO-1 state shard received from another rank is malformed")
        guard bytes.count >= 8 else { throw bad }
        let length = Int(clamping: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        guard length <= bytes.count - 8, let header = try? JSONDecoder().decode(Header.self, from: Data(bytes[8..<(8 + length)])) else {
            throw bad
        }
        var at = 8 + length
        var out = base
        out.initialized = header.initialized
        out.scalars = header.scalars.map { .init(key: $0.key, value: Double(bitPattern: $0.bits)) }
        for t in header.tensors {
            guard t.count >= 0, t.count <= (bytes.count - at) / 4 else { throw bad }
            let values = [Float](unsafeUninitializedCapacity: t.count) { buffer, initialized in
                bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[at..<(at + 4 * t.count)])) }
                initialized = t.count
            }
            out.tensors.append(.init(key: t.key, shape: t.shape, values: values))
            at += 4 * t.count
        }
        guard at == bytes.count else { throw bad }
        return out
    }
}

extension Communicator {
    /// Every rank's bytes, in rank order, on every rank (two all-gathers: the lengths,
    /// then the bytes as float bit patterns, which the transport copies unchanged).
    public func allGatherBytes(_ bytes: [UInt8]) throws -> [[UInt8]] {
        let words = (bytes.count + 3) / 4
        var lengths = [Float](repeating: 0, count: size)
        let mine = [Float(bitPattern: UInt32(bytes.count))]
        try mine.withUnsafeBufferPointer { send in
            try lengths.withUnsafeMutableBufferPointer { try allGather(send, into: $0, counts: [Int](repeating: 1, count: size)) }
        }
        let byteCounts = lengths.map { Int($0.bitPattern) }
        let wordCounts = byteCounts.map { ($0 + 3) / 4 }
        var send = [Float](repeating: 0, count: words)
        send.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
        var receive = [Float](repeating: 0, count: wordCounts.reduce(0, +))
        try send.withUnsafeBufferPointer { s in
            try receive.withUnsafeMutableBufferPointer { try allGather(s, into: $0, counts: wordCounts) }
        }
        return receive.withUnsafeBytes { raw in
            var out: [[UInt8]] = []
            var at = 0
            for (n, w) in zip(byteCounts, wordCounts) {
                out.append(Array(raw[(4 * at)..<(4 * at + n)]))
                at += w
            }
            return out
        }
    }
}
