import Dispatch
import Foundation

/// The pool behind the ABI's `parallel_for`. Sized by STEPWISE_NUM_THREADS, else the
/// number of cores. One parallel loop runs at a time; the calling thread takes part.
public final class ThreadPool: @unchecked Sendable {
    public static let shared = ThreadPool(threads: ThreadPool.defaultThreadCount())

    public let threadCount: Int
    private let lock = NSLock()

    public init(threads: Int) { threadCount = max(1, threads) }

    static func defaultThreadCount() -> Int {
        if let s = ProcessInfo.processInfo.environment["STEPWISE_NUM_THREADS"], let n = Int(s), n > 0 { return n }
        return ProcessInfo.processInfo.activeProcessorCount
    }

    /// Runs body over disjoint ranges covering 0..<count; ranges hold >= grain indices.
    public func parallelFor(count: Int, grain: Int, _ body: (Int, Int) -> Void) {
        guard count > 0 else { return }
        let pieces = min(threadCount, max(1, count / max(1, grain)))
        if pieces <= 1 {
            body(0, count)
            return
        }
        lock.lock()
        defer { lock.unlock() }
        let per = (count + pieces - 1) / pieces
        withoutActuallyEscaping(body) { body in
            // The loop body is the caller's; the ABI makes it responsible for being safe
            // to run on disjoint ranges concurrently.
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: pieces) { i in
                let b = i * per, e = min(count, b + per)
                if b < e { shared.value(b, e) }
            }
        }
    }
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
