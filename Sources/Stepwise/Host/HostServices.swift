import Dispatch
import Foundation
import StepwiseABI

/// The services table the host lends to plugins (sdk/include/stepwise/host.h).
///
/// Each plugin gets its own copy of the table, followed in memory by the plugin's display
/// name, so `log` can prefix lines with the plugin's name without a lookup. Tables are
/// allocated once and never freed: the ABI promises they are static.
public enum HostServices {
    /// The table for host-internal use (and plugins loaded before their name is known).
    nonisolated(unsafe) public static let table: UnsafePointer<stepwise_host> = makeTable(for: "host")

    /// A fresh table whose log lines name `pluginName`.
    public static func makeTable(for pluginName: String) -> UnsafePointer<stepwise_host> {
        let size = MemoryLayout<stepwise_host>.stride + MemoryLayout<UnsafePointer<CChar>>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        var t = stepwise_host()
        t.struct_size = MemoryLayout<stepwise_host>.size
        t.abi_version = stepwise_version(major: STEPWISE_ABI_MAJOR, minor: STEPWISE_ABI_MINOR)
        t.name = UnsafePointer(strdup("stepwise"))
        t.version = UnsafePointer(strdup(StepwiseInfo.version))
        t.log = { host, level, message in
            let name = HostServices.pluginName(of: host)
            HostServices.log(level, "[\(name)] " + (message.map { String(cString: $0) } ?? ""))
        }
        t.error_new = { _, status, message in
            ErrorBox.make(status, message.map { String(cString: $0) } ?? "")
        }
        t.error_free = { _, error in ErrorBox.release(error) }
        t.error_status = { _, error in error.map { ErrorBox.from($0).status } ?? STEPWISE_OK }
        t.error_message = { _, error in error.map { UnsafePointer(ErrorBox.from($0).cMessage) } }
        t.parallel_for = { _, count, grain, ctx, body in
            ThreadPool.shared.parallelFor(count: Int(count), grain: Int(grain)) { b, e in
                body?(ctx, Int64(b), Int64(e))
            }
        }
        t.thread_count = { _ in UInt32(ThreadPool.shared.threadCount) }
        raw.initializeMemory(as: stepwise_host.self, to: t)
        (raw + MemoryLayout<stepwise_host>.stride)
            .initializeMemory(as: UnsafePointer<CChar>.self, to: UnsafePointer(strdup(pluginName)))
        return UnsafePointer(raw.assumingMemoryBound(to: stepwise_host.self))
    }

    static func pluginName(of host: UnsafePointer<stepwise_host>?) -> String {
        guard let host else { return "?" }
        let p = (UnsafeRawPointer(host) + MemoryLayout<stepwise_host>.stride)
            .load(as: UnsafePointer<CChar>.self)
        return String(cString: p)
    }

    /// Messages below this level are dropped; STEPWISE_LOG=debug|info|warning|error.
    nonisolated(unsafe) public static var logLevel: stepwise_log_level = {
        switch ProcessInfo.processInfo.environment["STEPWISE_LOG"]?.lowercased() {
        case "debug": STEPWISE_LOG_DEBUG
        case "warning": STEPWISE_LOG_WARNING
        case "error": STEPWISE_LOG_ERROR
        default: STEPWISE_LOG_INFO
        }
    }()

    public static func log(_ level: stepwise_log_level, _ line: String) {
        guard level.rawValue >= logLevel.rawValue else { return }
        let tag = ["debug", "info", "warning", "error"][Int(min(level.rawValue, 3))]
        FileHandle.standardError.write(Data("stepwise \(tag): \(line)\n".utf8))
    }

    /// Turns an ABI error value into a Swift error and releases it.
    public static func takeError(_ error: OpaquePointer?, status: stepwise_status,
                                 context: String) -> StepwiseError {
        let message = error.map { ErrorBox.from($0).message } ?? "failed with status \(status.rawValue) and no message"
        ErrorBox.release(error)
        let category: StepwiseError.Category =
            status == STEPWISE_INVALID_ARGUMENT ? .config : status == STEPWISE_BAD_STATE ? .state : .plugin
        return StepwiseError(category, context.isEmpty ? message : "\(context): \(message)")
    }
}

/// The host's representation of a `stepwise_error`: a retained object behind an opaque
/// pointer, freed only by `error_free` (the side that allocates also frees).
final class ErrorBox {
    let status: stepwise_status
    let message: String
    let cMessage: UnsafeMutablePointer<CChar>

    init(_ status: stepwise_status, _ message: String) {
        self.status = status
        self.message = message
        self.cMessage = strdup(message)
    }
    deinit { free(cMessage) }

    static func make(_ status: stepwise_status, _ message: String) -> OpaquePointer {
        OpaquePointer(Unmanaged.passRetained(ErrorBox(status, message)).toOpaque())
    }
    static func from(_ p: OpaquePointer) -> ErrorBox {
        Unmanaged<ErrorBox>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }
    static func release(_ p: OpaquePointer?) {
        guard let p else { return }
        Unmanaged<ErrorBox>.fromOpaque(UnsafeRawPointer(p)).release()
    }
}
