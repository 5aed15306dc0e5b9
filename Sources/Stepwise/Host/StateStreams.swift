import StepwiseABI

/// Collects what a plugin writes through a `stepwise_ostream`.
public final class ByteSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}

    /// Lends a stream to `body`; the plugin's writes land in `bytes`.
    public func withStream<R>(_ body: (UnsafePointer<stepwise_ostream>) throws -> R) rethrows -> R {
        var stream = stepwise_ostream()
        stream.struct_size = MemoryLayout<stepwise_ostream>.size
        stream.ctx = Unmanaged.passUnretained(self).toOpaque()
        stream.write = { s, buffer, size in
            guard let s, let buffer, let ctx = s.pointee.ctx else { return -1 }
            let sink = Unmanaged<ByteSink>.fromOpaque(ctx).takeUnretainedValue()
            sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: Int(size)))
            return Int64(size)
        }
        return try withUnsafePointer(to: &stream) { try body($0) }
    }
}

/// Hands bytes to a plugin through a `stepwise_istream`, at most `chunk` bytes per read:
/// plugins must accept any chunking, and the validator checks that with chunk = 1.
public final class ByteSource {
    public let bytes: [UInt8]
    public let chunk: Int
    public private(set) var offset = 0

    public init(_ bytes: [UInt8], chunk: Int = .max) {
        self.bytes = bytes
        self.chunk = max(1, chunk)
    }

    public var isExhausted: Bool { offset >= bytes.count }

    public func withStream<R>(_ body: (UnsafePointer<stepwise_istream>) throws -> R) rethrows -> R {
        var stream = stepwise_istream()
        stream.struct_size = MemoryLayout<stepwise_istream>.size
        stream.ctx = Unmanaged.passUnretained(self).toOpaque()
        stream.read = { s, buffer, size in
            guard let s, let buffer, let ctx = s.pointee.ctx else { return -1 }
            let source = Unmanaged<ByteSource>.fromOpaque(ctx).takeUnretainedValue()
            let n = min(Int(min(size, UInt64(Int.max))), source.chunk, source.bytes.count - source.offset)
            guard n > 0 else { return 0 }
            source.bytes.withUnsafeBytes { all in
                buffer.copyMemory(from: all.baseAddress! + source.offset, byteCount: n)
            }
            source.offset += n
            return Int64(n)
        }
        return try withUnsafePointer(to: &stream) { try body($0) }
    }
}
