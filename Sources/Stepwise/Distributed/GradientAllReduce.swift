import Foundation

/// What an OptimWrapper calls at the end of an accumulation window, before its wrapper's
/// `pre_step`, so clipping, unscaling and the non-finite check see the same gradients on
/// every process. Never called inside a window.
public protocol GradientSynchronizer: AnyObject {
    /// Replaces each gradient by its mean over the processes (a parameter with no
    /// gradient counts as zeros; it has one afterwards if any process had one). Returns
    /// whether any process saw a non-finite loss in the window.
    func synchronize(_ params: [Parameter], lossNonFinite: Bool) throws -> Bool
    /// After the wrapper's `pre_step`, just before the optimizer steps (ZeRO-1 hides the
    /// gradients of parameters another process owns, so no state is made for them).
    func beforeOptimizerStep(_ params: [Parameter]) throws
    /// After the optimizer stepped (ZeRO-1 gathers the updated parameters).
    func afterOptimizerStep(_ params: [Parameter]) throws
}

extension GradientSynchronizer {
    public func beforeOptimizerStep(_ params: [Parameter]) throws {}
    public func afterOptimizerStep(_ params: [Parameter]) throws {}
}

/// Gradient averaging with MPI all-reduce over a few large buckets (torch DDP's
/// bucket_cap_mb, 25 MB by default): the gradients are packed, last parameter first,
/// into one buffer cut into buckets of at most `bucketBytes`, each reduced by one call,
/// then scaled by 1 / ranks. A few extra floats at the end carry the has-gradient and
/// non-finite-loss flags, so the decision data travels with the gradients.
///
/// Overlap with backward: model code that calls `gradientReady` as each gradient becomes
/// final (in the last backward of a window) starts each bucket's reduction as soon as
/// all of its gradients are in, while backward goes on with earlier layers. Buckets
/// start in order on every rank, as MPI requires; the bucket holding the flags starts at
/// the step. The layout is learnt at the first step, so the first window never overlaps.
public final class GradientAllReduce: GradientSynchronizer, @unchecked Sendable {
    public let communicator: Communicator
    public let bucketBytes: Int
    /// Window ends synchronized (one per optimizer step).
    public private(set) var rounds = 0
    /// All-reduce calls made (rounds × buckets).
    public private(set) var calls = 0
    /// Buckets started before the step, during backward.
    public private(set) var overlappedCalls = 0
    /// Bytes this rank handed to all-reduce so far.
    public private(set) var bytesReduced = 0

    private struct Layout {
        var ids: [ObjectIdentifier]           // parameter order of the wrapper
        var offset: [ObjectIdentifier: Int]   // where each gradient sits in the buffer
        var gradients: Int                    // floats of gradients (flags follow)
        var total: Int
        var buckets: [Range<Int>]
        var members: [[ObjectIdentifier]]     // parameters overlapping each bucket
    }

    private var buffer: UnsafeMutableBufferPointer<Float>
    private var layout: Layout?
    private var ready: Set<ObjectIdentifier> = []
    private var inFlight: [PendingReduction] = []

    public init(communicator: Communicator, bucketBytes: Int = 25 << 20) {
        self.communicator = communicator
        // An MPI count is an int.
        self.bucketBytes = min(max(bucketBytes, MemoryLayout<Float>.stride), Int(Int32.max) * MemoryLayout<Float>.stride)
        buffer = .allocate(capacity: 0)
    }

    deinit {
        // Nothing may still be writing into the buffer.
        for r in inFlight { try? r.wait() }
        buffer.deallocate()
    }

    /// Model code: `p`'s gradient is final for this window. Only counts during the last
    /// backward of a window (`wrapper.shouldSync()`, MMEngine's should_sync); elsewhere,
    /// or before the first step, it does nothing.
    public func gradientReady(_ p: Parameter, in wrapper: OptimWrapper) throws {
        // A second call for the same gradient would write into a bucket already in flight.
        guard wrapper.shouldSync(), let layout, let offset = layout.offset[ObjectIdentifier(p)],
              !ready.contains(ObjectIdentifier(p)) else { return }
        pack(p, at: offset)
        ready.insert(ObjectIdentifier(p))
        while inFlight.count < layout.buckets.count {
            let k = inFlight.count
            guard layout.buckets[k].upperBound <= layout.gradients,
                  layout.members[k].allSatisfy(ready.contains) else { break }
            try start(bucket: layout.buckets[k])
            overlappedCalls += 1
        }
    }

    public func synchronize(_ params: [Parameter], lossNonFinite: Bool) throws -> Bool {
        rounds += 1
        let ids = params.map(ObjectIdentifier.init)
        if layout?.ids != ids {
            for r in inFlight { try r.wait() }
            inFlight = []
            ready = []
            layout = makeLayout(params)
        }
        guard let layout else { return lossNonFinite }
        for p in params where !ready.contains(ObjectIdentifier(p)) {
            if let offset = layout.offset[ObjectIdentifier(p)] { pack(p, at: offset) }
        }
        for (i, p) in params.enumerated() { buffer[layout.gradients + i] = p.hasGrad ? 1 : 0 }
        buffer[layout.total - 1] = lossNonFinite ? 1 : 0
        // Non-blocking for every bucket, early or not: MPI never matches a blocking
        // collective with a non-blocking one, and another rank may have started early.
        while inFlight.count < layout.buckets.count { try start(bucket: layout.buckets[inFlight.count]) }
        let pending = inFlight
        inFlight = []
        ready = []
        for r in pending { try r.wait() }

        let ranks = Float(communicator.size)
        for (i, p) in params.enumerated() where buffer[layout.gradients + i] > 0 {
            guard let offset = layout.offset[ObjectIdentifier(p)] else { continue }
            for k in 0..<p.count { p.grad[k] = buffer[offset + k] / ranks }
            p.hasGrad = true
        }
        return buffer[layout.total - 1] > 0
    }

    private func makeLayout(_ params: [Parameter]) -> Layout {
        var offset: [ObjectIdentifier: Int] = [:]
        var at = 0
        // Last parameter first: backward finishes the last layers first.
        for p in params.reversed() {
            offset[ObjectIdentifier(p)] = at
            at += p.count
        }
        let gradients = at
        let total = gradients + params.count + 1
        if buffer.count < total {
            buffer.deallocate()
            buffer = .allocate(capacity: total)
        }
        let perBucket = bucketBytes / MemoryLayout<Float>.stride
        var buckets: [Range<Int>] = [], members: [[ObjectIdentifier]] = []
        var start = 0
        while start < total {
            let range = start..<min(start + perBucket, total)
            buckets.append(range)
            members.append(params.filter { p in
                offset[ObjectIdentifier(p)].map { range.overlaps($0..<($0 + p.count)) } ?? false
            }.map(ObjectIdentifier.init))
            start = range.upperBound
        }
        return Layout(ids: params.map(ObjectIdentifier.init), offset: offset, gradients: gradients, total: total,
                      buckets: buckets, members: members)
    }

    private func pack(_ p: Parameter, at offset: Int) {
        let slot = UnsafeMutableBufferPointer(rebasing: buffer[offset..<(offset + p.count)])
        if p.hasGrad { slot.update(fromContentsOf: p.grad) } else { slot.update(repeating: 0) }
    }

    private func start(bucket: Range<Int>) throws {
        inFlight.append(try communicator.startAllReduceSum(UnsafeMutableBufferPointer(rebasing: buffer[bucket])))
        calls += 1
        bytesReduced += bucket.count * MemoryLayout<Float>.stride
    }
}
