#if canImport(Glibc)
import Glibc
#endif

/// Every tensor and the metadata of one safetensors file.
public struct SafetensorsArchive: Sendable, Equatable {
    public var tensors: [String: SafetensorsTensor]
    public var metadata: [String: String]

    public init(tensors: [String: SafetensorsTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors; self.metadata = metadata
    }
}

extension Safetensors {
    /// Reads a whole file. See `SafetensorsReader` to read tensors one at a time.
    public static func load(_ path: String) throws(SafetensorsError) -> SafetensorsArchive {
        let reader = try SafetensorsReader(path: path)
        return SafetensorsArchive(tensors: try reader.readAll(), metadata: reader.metadata)
    }
}

/// An open safetensors file whose header has been read and fully validated; tensors are
/// read on demand.
///
/// Opening checks everything that can be checked without reading the data: the header
/// length against the file size, the JSON, every dtype, and that the tensors' byte ranges
/// match their shapes and tile the data buffer exactly up to the end of the file. No
/// buffer is sized from the header before it has been checked against the file size, so a
/// corrupt or hostile file cannot make the reader allocate more than the file holds.
public final class SafetensorsReader: Sendable {
    public let path: String
    /// Tensors in file order.
    public let entries: [SafetensorsEntry]
    public let metadata: [String: String]
    private let fd: Int32
    private let dataStart: Int

    public init(path: String) throws(SafetensorsError) {
        func fail(_ p: SafetensorsError.Problem) -> SafetensorsError { SafetensorsError(file: path, p) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail(.io(step: "open it", code: errno)) }
        var ok = false
        defer { if !ok { close(fd) } }

        // The size of the open descriptor, not of the path: a concurrent atomic save may
        // replace the path, never the file already open.
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw fail(.io(step: "stat it", code: errno)) }
        let fileSize = Int(info.st_size)
        guard fileSize >= 8 else { throw fail(.fileTooSmall(size: fileSize)) }

        var lengthBytes = [UInt8](repeating: 0, count: 8)
        try Self.readExactly(fd: fd, into: &lengthBytes, at: 0, path: path)
        let n = lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard n <= SafetensorsHeader.maxHeaderSize else { throw fail(.headerTooLarge(declared: n)) }
        guard n <= UInt64(fileSize - 8) else { throw fail(.headerBeyondFile(declared: n, fileSize: fileSize)) }

        var headerBytes = [UInt8](repeating: 0, count: Int(n))
        try Self.readExactly(fd: fd, into: &headerBytes, at: 8, path: path)
        let header = try SafetensorsHeader.decode(headerBytes, file: path)
        let available = fileSize - 8 - Int(n)
        guard header.dataSize == available else {
            throw fail(.bufferSizeMismatch(covered: UInt64(header.dataSize), available: available))
        }
        self.path = path
        self.fd = fd
        self.dataStart = 8 + Int(n)
        self.entries = header.entries
        self.metadata = header.metadata
        ok = true
    }

    deinit { close(fd) }

    public var names: [String] { entries.map(\.name) }

    public func entry(named name: String) -> SafetensorsEntry? { entries.first { $0.name == name } }

    /// Reads one tensor's data into memory.
    public func tensor(named name: String) throws(SafetensorsError) -> SafetensorsTensor {
        guard let e = entry(named: name) else { throw SafetensorsError(file: path, .tensorNotFound(name)) }
        return try read(e)
    }

    /// Reads every tensor.
    public func readAll() throws(SafetensorsError) -> [String: SafetensorsTensor] {
        var out: [String: SafetensorsTensor] = [:]
        for e in entries { out[e.name] = try read(e) }
        return out
    }

    private func read(_ e: SafetensorsEntry) throws(SafetensorsError) -> SafetensorsTensor {
        let offset = dataStart + e.begin
        // Typed dtypes land directly in their typed array: one allocation, one copy from disk.
        switch e.dtype {
        case .f32: return SafetensorsTensor(shape: e.shape, float32: try readArray(e, at: offset))
        case .f64: return SafetensorsTensor(shape: e.shape, float64: try readArray(e, at: offset))
        case .i64: return SafetensorsTensor(shape: e.shape, int64: try readArray(e, at: offset))
        case .i32: return SafetensorsTensor(shape: e.shape, int32: try readArray(e, at: offset))
        default:
            var bytes = [UInt8](repeating: 0, count: e.byteCount)
            try Self.readExactly(fd: fd, into: &bytes, at: offset, path: path)
            return SafetensorsTensor(dtype: e.dtype, shape: e.shape, bytes: bytes)
        }
    }

    private func readArray<T: BitwiseCopyable>(_ e: SafetensorsEntry, at offset: Int) throws(SafetensorsError) -> [T] {
        let count = e.byteCount / MemoryLayout<T>.stride
        var failure: SafetensorsError?
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(SafetensorsError) {
                try Self.readExactly(fd: fd, into: UnsafeMutableRawBufferPointer(buffer), at: offset, path: path)
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return values
    }

    private static func readExactly(fd: Int32, into bytes: inout [UInt8], at offset: Int, path: String) throws(SafetensorsError) {
        var failure: SafetensorsError?
        bytes.withUnsafeMutableBytes { raw in
            do throws(SafetensorsError) { try readExactly(fd: fd, into: raw, at: offset, path: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    private static func readExactly(
        fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String
    ) throws(SafetensorsError) {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let n = pread(fd, base + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SafetensorsError(file: path, .io(step: "read it", code: errno))
            }
            if n == 0 {
                // The file shrank after it was opened and checked.
                throw SafetensorsError(file: path, .bufferSizeMismatch(
                    covered: UInt64(offset + buffer.count), available: offset + done))
            }
            done += n
        }
    }
}
