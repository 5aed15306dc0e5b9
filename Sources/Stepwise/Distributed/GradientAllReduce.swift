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
/// bucket_cap_mb, 25 MB by default): the gradients are packed in parameter order into
/// buckets of at most `bucketBytes`, each reduced by one call, then scaled by 1 / ranks.
/// A few extra slots carry the has-gradient and non-finite-loss flags, so
/// the decision data travels with the gradients.
public final class GradientAllReduce: GradientSynchronizer, @unchecked Sendable {
    public let communicator: Communicator
    public let bucketBytes: Int
    /// Window ends synchronized (one per optimizer step).
    public private(set) var rounds = 0
    /// MPI_Allreduce calls made (rounds × buckets).
    public private(set) var calls = 0
    /// Bytes this rank handed to all-reduce so far.
    public private(set) var bytesReduced = 0

    private var buffer: UnsafeMutableBufferPointer<Float>

    public init(communicator: Communicator, bucketBytes: Int = 25 << 20) {
        self.communicator = communicator
        self.bucketBytes = max(bucketBytes, MemoryLayout<Float>.stride)
        buffer = .allocate(capacity: 0)
    }

    deinit { buffer.deallocate() }

    public func synchronize(_ params: [Parameter], lossNonFinite: Bool) throws -> Bool {
        rounds += 1
        let ranks = Float(communicator.size)
        // The flags ride at the end of the last bucket: a rank without a gradient still joins in.
        let flagCount = params.count + 1
        let total = params.reduce(0) { $0 + $1.count } + flagCount
        if buffer.count < total {
            buffer.deallocate()
            buffer = .allocate(capacity: total)
        }
        var offset = 0
        for p in params {
            if p.hasGrad {
                UnsafeMutableBufferPointer(rebasing: buffer[offset..<(offset + p.count)]).update(fromContentsOf: p.grad)
            } else {
                UnsafeMutableBufferPointer(rebasing: buffer[offset..<(offset + p.count)]).update(repeating: 0)
            }
            offset += p.count
        }
        for (i, p) in params.enumerated() { buffer[offset + i] = p.hasGrad ? 1 : 0 }
        buffer[offset + params.count] = lossNonFinite ? 1 : 0

        let perBucket = bucketBytes / MemoryLayout<Float>.stride
        var start = 0
        while start < total {
            let end = min(start + perBucket, total)
            try communicator.allReduceSum(UnsafeMutableBufferPointer(rebasing: buffer[start..<end]))
            calls += 1
            bytesReduced += (end - start) * MemoryLayout<Float>.stride
            start = end
        }

        offset = 0
        for (i, p) in params.enumerated() {
            let anyGrad = buffer[total - flagCount + i] > 0
            if anyGrad {
                let src = buffer[offset..<(offset + p.count)]
                for k in 0..<p.count { p.grad[k] = src[src.startIndex + k] / ranks }
                p.hasGrad = true
            }
            offset += p.count
        }
        return buffer[total - 1] > 0
    }
}
