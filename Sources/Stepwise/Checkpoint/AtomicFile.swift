#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure while saving a file atomically. The previous file at `path`, if any, is
/// untouched whenever this is thrown.
public struct FileWriteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file that was being saved.
    public var path: String
    /// What was being done: "create a temporary file in /ckpt", "write", "rename", ...
    public var step: String
    /// The `errno` of the failing call, or 0 when the failure is not a system error.
    public var code: Int32

    public init(path: String, step: String, code: Int32) {
        self.path = path; self.step = step; self.code = code
    }

    public var description: String {
        let reason = code == 0 ? "" : ": " + String(cString: strerror(code))
        return "cannot save \(path): \(step) failed\(reason)"
    }
}

/// Sequential buffered writes to an open file: small pieces (headers, JSON) are coalesced,
/// large tensor buffers go straight to `write(2)` without an intermediate copy.
struct FileSink {
    private let fd: Int32
    private var pending: [UInt8] = []
    private static let bufferSize = 1 << 20
    /// Bytes accepted so far (written or pending).
    private(set) var count = 0
    /// Test hook: pretend the process dies once this many bytes have reached the file.
    fileprivate var dieAfter: Int?

    fileprivate init(fd: Int32, dieAfter: Int?) {
        self.fd = fd
        self.dieAfter = dieAfter
        pending.reserveCapacity(Self.bufferSize)
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        if let limit = dieAfter, count + bytes.count >= limit {
            let allowed = max(0, limit - count)
            try flush()
            try writeAll(UnsafeRawBufferPointer(rebasing: bytes.prefix(allowed)))
            count += allowed
            throw SinkFailure.simulatedDeath
        }
        if pending.count + bytes.count <= Self.bufferSize {
            pending.append(contentsOf: bytes)
        } else {
            try flush()
            if bytes.count < Self.bufferSize {
                pending.append(contentsOf: bytes)
            } else {
                try writeAll(bytes)
            }
        }
        count += bytes.count
    }

    mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { (raw) throws in try write(raw) }
    }

    mutating func flush() throws {
        guard !pending.isEmpty else { return }
        try pending.withUnsafeBytes { (raw) throws in try writeAll(raw) }
        pending.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = systemWrite(fd, base, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw SinkFailure.system(errno)
            }
            left -= n
            base += n
        }
    }
}

// `write` is shadowed inside FileSink by its own method.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}

enum SinkFailure: Error {
    case system(Int32)
    case simulatedDeath
}

/// Atomic replacement of a file: the content goes to a temporary file in the same folder,
/// which is flushed to disk and then renamed over the target, and the folder is flushed
/// so the rename itself survives a power loss. Readers see the old file or the new one,
/// never a mix; a process killed mid-save leaves the old file and a stray temporary
/// (`.<name>.<pid>.<random>.partial`) that the next save to the same target removes.
enum AtomicFile {
    /// Test hook: stop like a killed process would (no cleanup) after this many bytes.
    struct Fault { var dieAfterBytes: Int }

    /// Thrown by `write` when `fault` fired; the temporary file is deliberately left behind.
    struct SimulatedDeath: Error { var temporaryPath: String }

    static func write(
        to path: String, fault: Fault? = nil, _ body: (inout FileSink) throws -> Void
    ) throws {
        let (folder, name) = split(path)
        removeStaleTemporaries(folder: folder, name: name)

        var fd: Int32 = -1
        var temporary = ""
        for _ in 0..<8 {
            temporary = "\(folder)/.\(name).\(getpid()).\(String(UInt32.random(in: 0...UInt32.max), radix: 16)).partial"
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            throw FileWriteError(path: path, step: "create a temporary file in \(folder)", code: errno)
        }
        var keepTemporary = false
        defer {
            if !keepTemporary { unlink(temporary) }
        }
        var sink = FileSink(fd: fd, dieAfter: fault?.dieAfterBytes)
        do {
            try body(&sink)
            try sink.flush()
        } catch let failure as SinkFailure {
            close(fd)
            switch failure {
            case .simulatedDeath:
                keepTemporary = true
                throw SimulatedDeath(temporaryPath: temporary)
            case .system(let code):
                throw FileWriteError(path: path, step: "write to \(temporary)", code: code)
            }
        } catch {
            close(fd)
            throw error
        }
        if fsync(fd) != 0 {
            let code = errno
            close(fd)
            throw FileWriteError(path: path, step: "flush \(temporary) to disk", code: code)
        }
        if close(fd) != 0 {
            throw FileWriteError(path: path, step: "close \(temporary)", code: errno)
        }
        if rename(temporary, path) != 0 {
            throw FileWriteError(path: path, step: "rename \(temporary) over it", code: errno)
        }
        keepTemporary = true  // it is the target now
        // The data is safe; a failed folder sync only weakens durability on power loss, and
        // some filesystems refuse fsync on folders, so this is best effort.
        let dir = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            _ = fsync(dir)
            close(dir)
        }
    }

    /// Convenience for small files built in memory (SVG charts, JSON).
    static func write(_ text: String, to path: String) throws {
        try write(to: path) { sink in try sink.write(Array(text.utf8)) }
    }

    private static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = String(path[..<slash])
        return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
    }

    /// Removes temporaries of earlier saves to the same target whose writer process is gone.
    /// A live writer's temporary (another process, or a concurrent save here) is left alone.
    static func removeStaleTemporaries(folder: String, name: String) {
        guard let dir = opendir(folder) else { return }
        defer { closedir(dir) }
        let prefix = ".\(name)."
        while let entry = readdir(dir) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard entryName.hasPrefix(prefix), entryName.hasSuffix(".partial") else { continue }
            let middle = entryName.dropFirst(prefix.count).dropLast(".partial".count)
            let parts = middle.split(separator: ".")
            guard parts.count == 2, let pid = Int32(parts[0]), pid > 0 else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                unlink("\(folder)/\(entryName)")
            }
        }
    }
}
