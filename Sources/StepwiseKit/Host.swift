import StepwiseABI

/// An error a plugin reports through the ABI: a status and a message a user can act on.
public struct PluginError: Error, CustomStringConvertible {
    public var status: stepwise_status
    public var message: String

    public init(_ status: stepwise_status, _ message: String) {
        self.status = status
        self.message = message
    }

    public static func invalid(_ message: String) -> PluginError { .init(STEPWISE_INVALID_ARGUMENT, message) }
    public static func badState(_ message: String) -> PluginError { .init(STEPWISE_BAD_STATE, message) }

    public var description: String { message }
}

/// The host's services table, as a plugin sees it. A thin value over the static pointer
/// the host passed to `create`; copying it is free.
public struct Host: @unchecked Sendable {
    public let raw: UnsafePointer<stepwise_host>

    public init(_ raw: UnsafePointer<stepwise_host>) { self.raw = raw }

    public func log(_ level: stepwise_log_level, _ message: String) {
        raw.pointee.log?(raw, level, message)
    }

    /// Converts an error into the ABI's (status, error value) pair.
    public func report(_ error: PluginError, into out: UnsafeMutablePointer<OpaquePointer?>?) -> stepwise_status {
        if let out, let make = raw.pointee.error_new {
            out.pointee = make(raw, error.status, error.message)
        }
        return error.status
    }

    public var threadCount: Int { Int(raw.pointee.thread_count?(raw) ?? 1) }

    /// Runs `body(begin, end)` over disjoint ranges covering `0..<count` on the host's
    /// thread pool. Allocation-free: the closure's context stays on the caller's stack.
    public func parallelFor(count: Int, grain: Int, _ body: (Int, Int) -> Void) {
        guard count > 0 else { return }
        guard count > grain, let pfor = raw.pointee.parallel_for else {
            body(0, count)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            var closure = escapable
            withUnsafeMutablePointer(to: &closure) { pointer in
                pfor(raw, Int64(count), Int64(grain), UnsafeMutableRawPointer(pointer)) { ctx, begin, end in
                    ctx!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(Int(begin), Int(end))
                }
            }
        }
    }
}

/// Runs `body`, turning a thrown PluginError into the ABI's status and error value.
@inline(__always)
public func abiCall(_ host: Host, _ errorOut: UnsafeMutablePointer<OpaquePointer?>?,
                    _ body: () throws(PluginError) -> stepwise_status) -> stepwise_status {
    do {
        return try body()
    } catch {
        return host.report(error, into: errorOut)
    }
}
