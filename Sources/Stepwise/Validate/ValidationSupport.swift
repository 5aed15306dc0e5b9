import Foundation
import StepwiseABI

/// The C signature shared by every kind's save_state / load_state.
typealias SaveStateFn = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<stepwise_ostream>?,
                                        UnsafeMutablePointer<OpaquePointer?>?) -> stepwise_status
typealias LoadStateFn = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<stepwise_istream>?,
                                        UnsafeMutablePointer<OpaquePointer?>?) -> stepwise_status

/// What a plugin's load_state answered.
struct StreamLoad {
    var status: stepwise_status
    var message: String
    var accepted: Bool { status == STEPWISE_OK }
}

/// Collects a plugin's saved state, taking at most `chunk` bytes per write call: a
/// plugin must loop until everything is written (clap-validator's buffered streams).
final class ChunkedSink {
    private(set) var bytes: [UInt8] = []
    let chunk: Int
    init(chunk: Int) { self.chunk = max(1, chunk) }

    func withStream<R>(_ body: (UnsafePointer<stepwise_ostream>) -> R) -> R {
        var stream = stepwise_ostream()
        stream.struct_size = MemoryLayout<stepwise_ostream>.size
        stream.ctx = Unmanaged.passUnretained(self).toOpaque()
        stream.write = { s, buffer, size in
            guard let s, let ctx = s.pointee.ctx else { return -1 }
            guard size > 0 else { return 0 }
            guard let buffer else { return -1 }
            let sink = Unmanaged<ChunkedSink>.fromOpaque(ctx).takeUnretainedValue()
            let n = Int(min(size, UInt64(sink.chunk)))
            sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: n))
            return Int64(n)
        }
        return withUnsafePointer(to: &stream) { body($0) }
    }
}

/// An endless source of one repeated byte, capped at `limit` bytes: "oversized" state
/// whose length fields read as huge numbers. Counts what the plugin pulled.
final class PatternSource {
    let byte: UInt8
    let limit: Int
    private(set) var served = 0
    init(byte: UInt8, limit: Int) { self.byte = byte; self.limit = limit }

    func withStream<R>(_ body: (UnsafePointer<stepwise_istream>) -> R) -> R {
        var stream = stepwise_istream()
        stream.struct_size = MemoryLayout<stepwise_istream>.size
        stream.ctx = Unmanaged.passUnretained(self).toOpaque()
        stream.read = { s, buffer, size in
            guard let s, let buffer, let ctx = s.pointee.ctx else { return -1 }
            let source = Unmanaged<PatternSource>.fromOpaque(ctx).takeUnretainedValue()
            let n = min(Int(min(size, 1 << 20)), source.limit - source.served)
            guard n > 0 else { return 0 }
            memset(buffer, Int32(source.byte), n)
            source.served += n
            return Int64(n)
        }
        return withUnsafePointer(to: &stream) { body($0) }
    }
}

/// Calls into a plugin's state functions through the validator's own streams.
enum StateIO {
    static func save(_ fn: SaveStateFn, _ instance: UnsafeMutableRawPointer, writeChunk: Int) throws -> [UInt8] {
        let sink = ChunkedSink(chunk: writeChunk)
        var error: OpaquePointer? = nil
        let status = sink.withStream { fn(instance, $0, &error) }
        guard status == STEPWISE_OK else {
            throw CheckFailure("save_state failed (status \(status.rawValue)): \(takeMessage(error))")
        }
        if error != nil {
            ErrorBox.release(error)
            throw CheckFailure("save_state returned OK but also set *error")
        }
        return sink.bytes
    }

    static func load(_ fn: LoadStateFn, _ instance: UnsafeMutableRawPointer, _ bytes: [UInt8], readChunk: Int) -> StreamLoad {
        let source = ByteSource(bytes, chunk: readChunk)
        var error: OpaquePointer? = nil
        let status = source.withStream { fn(instance, $0, &error) }
        return StreamLoad(status: status, message: takeMessage(error))
    }

    static func load(_ fn: LoadStateFn, _ instance: UnsafeMutableRawPointer, pattern: PatternSource) -> StreamLoad {
        var error: OpaquePointer? = nil
        let status = pattern.withStream { fn(instance, $0, &error) }
        return StreamLoad(status: status, message: takeMessage(error))
    }
}

/// The message of an ABI error, which is released; "" for none.
func takeMessage(_ error: OpaquePointer?) -> String {
    guard let error else { return "" }
    let message = ErrorBox.from(error).message
    ErrorBox.release(error)
    return message
}

/// A pointer-sized out-parameter with canaries on both sides, so a plugin writing past
/// the `void **instance` or `stepwise_error **error` it was lent is caught.
final class GuardedOut {
    static let canary: UInt64 = 0xC0DE_CAFE_D00D_F00D
    static let guardWords = 4
    private let words: UnsafeMutablePointer<UInt64>

    init() {
        words = .allocate(capacity: 2 * Self.guardWords + 1)
        words.initialize(repeating: Self.canary, count: 2 * Self.guardWords + 1)
        words[Self.guardWords] = 0
    }
    deinit { words.deallocate() }

    var pointer: UnsafeMutablePointer<UnsafeMutableRawPointer?> {
        UnsafeMutableRawPointer(words + Self.guardWords).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
    }
    var errorPointer: UnsafeMutablePointer<OpaquePointer?> {
        UnsafeMutableRawPointer(words + Self.guardWords).assumingMemoryBound(to: OpaquePointer?.self)
    }
    /// Bytes around the slot that changed.
    var damagedBytes: Int {
        (0..<(2 * Self.guardWords + 1)).filter { $0 != Self.guardWords }.reduce(0) { n, i in
            n + (words[i] ^ Self.canary).nonzeroByteCount
        }
    }
}

extension UInt64 {
    var nonzeroByteCount: Int { (0..<8).filter { (self >> (8 * UInt64($0))) & 0xff != 0 }.count }
}

/// The bytes a `stepwise_values` stands for (structs, strings, vectors), to prove a plugin
/// left lent values alone.
func fingerprint(_ values: UnsafePointer<stepwise_values>) -> [UInt8] {
    // Raw memory, not copies: a copied struct's padding bytes are undefined.
    var out = Array(UnsafeRawBufferPointer(start: values, count: MemoryLayout<stepwise_values>.size))
    for i in 0..<Int(values.pointee.count) {
        guard let item = values.pointee.items[i] else { out.append(0); continue }
        out += UnsafeRawBufferPointer(start: item, count: MemoryLayout<stepwise_value>.size)
        let v = item.pointee
        if let s = v.s { out += Array(String(cString: s).utf8) }
        if let fv = v.fv { out += UnsafeRawBufferPointer(start: fv, count: Int(v.count) * 8) }
        if let iv = v.iv { out += UnsafeRawBufferPointer(start: iv, count: Int(v.count) * 8) }
    }
    return out
}

/// SplitMix64: a small, fixed-seed generator, so every run of the validator and of the
/// fuzz tests tries the same inputs.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    public mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255, using: &self) } }
}

/// A stable seed per component and check (FNV-1a), so a failure reproduces.
func stableSeed(_ parts: String...) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in parts.joined(separator: "/").utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
    return h
}

extension Float { var bits64: UInt64 { UInt64(bitPattern) } }
extension Double { var bits64: UInt64 { bitPattern } }

/// An optional the ABI guarantees (a required function, the api of a component's own
/// kind), unwrapped with an error instead of a trap should a guarantee ever break.
func required<T>(_ value: T?, _ what: @autoclosure () -> String) throws -> T {
    guard let value else { throw CheckFailure("internal: \(what()) is missing") }
    return value
}

/// The first position where two traces differ, for messages.
func firstDifference(_ a: [[UInt64]], _ b: [[UInt64]]) -> Int? {
    for i in 0..<max(a.count, b.count) where i >= a.count || i >= b.count || a[i] != b[i] { return i }
    return nil
}
