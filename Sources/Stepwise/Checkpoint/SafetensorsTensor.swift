#if _endian(big)
#error("safetensors data is little-endian; Stepwise stores tensors in host byte order")
#endif

/// An element type of the safetensors format, spelled as in the file header.
///
/// Declared in the order the reference writer (huggingface/safetensors) ranks alignment:
/// it lays tensors out from the last case to the first so every tensor starts aligned
/// to its element size, and `SafetensorsWriter` does the same.
public enum SafetensorsDType: String, CaseIterable, Sendable, Comparable {
    case bool = "BOOL"
    case f4 = "F4"
    case f6E2M3 = "F6_E2M3"
    case f6E3M2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    case f8E8M0 = "F8_E8M0"
    case f8E4M3FNUZ = "F8_E4M3FNUZ"
    case f8E5M2FNUZ = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bits per element; sub-byte types pack several elements per byte.
    public var bitWidth: Int {
        switch self {
        case .f4: 4
        case .f6E2M3, .f6E3M2: 6
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: 8
        case .i16, .u16, .f16, .bf16: 16
        case .i32, .u32, .f32: 32
        case .c64, .f64, .i64, .u64: 64
        }
    }

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }

    /// Bytes taken by `elements` elements, or nil on overflow or a partial trailing byte.
    func byteCount(elements: Int) -> Int? {
        let (bits, overflow) = elements.multipliedReportingOverflow(by: bitWidth)
        guard !overflow, bits % 8 == 0 else { return nil }
        return bits / 8
    }
}

/// Anything whose bytes can be streamed into a safetensors file without first being
/// copied into one big buffer. `SafetensorsTensor` conforms; so can host tensor storage.
public protocol SafetensorsSource {
    var dtype: SafetensorsDType { get }
    /// Row-major (C order) dimensions; `[]` is a scalar.
    var shape: [Int] { get }
    /// Hands the little-endian element bytes to `sink`, in order, in one or more chunks.
    /// The writer checks the total against `dtype` and `shape`.
    func writeBytes(into sink: (UnsafeRawBufferPointer) throws -> Void) rethrows
}

/// One tensor held in memory: element type, shape and data.
///
/// Storage is typed for the element types Stepwise computes with (F32, F64, I64, I32) and
/// raw little-endian bytes for the rest; a tensor built from bytes of a typed dtype is
/// stored typed, so equal contents compare equal however they were built.
public struct SafetensorsTensor: SafetensorsSource, Sendable, Equatable {
    public enum Storage: Sendable, Equatable {
        case float32([Float])
        case float64([Double])
        case int64([Int64])
        case int32([Int32])
        case bytes([UInt8])
    }

    public let dtype: SafetensorsDType
    public let shape: [Int]
    public let storage: Storage

    public init(shape: [Int], float32 values: [Float]) {
        dtype = .f32; self.shape = shape; storage = .float32(values)
    }
    public init(shape: [Int], float64 values: [Double]) {
        dtype = .f64; self.shape = shape; storage = .float64(values)
    }
    public init(shape: [Int], int64 values: [Int64]) {
        dtype = .i64; self.shape = shape; storage = .int64(values)
    }
    public init(shape: [Int], int32 values: [Int32]) {
        dtype = .i32; self.shape = shape; storage = .int32(values)
    }
    /// A tensor of any dtype from its little-endian bytes.
    public init(dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        switch dtype {
        case .f32: storage = .float32(Self.reinterpret(bytes))
        case .f64: storage = .float64(Self.reinterpret(bytes))
        case .i64: storage = .int64(Self.reinterpret(bytes))
        case .i32: storage = .int32(Self.reinterpret(bytes))
        default: storage = .bytes(bytes)
        }
    }

    /// Elements the shape describes (1 for a scalar), or nil on overflow.
    public var elementCount: Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    /// Bytes actually held.
    public var storedByteCount: Int {
        switch storage {
        case .float32(let v): v.count * 4
        case .float64(let v): v.count * 8
        case .int64(let v): v.count * 8
        case .int32(let v): v.count * 4
        case .bytes(let v): v.count
        }
    }

    public func writeBytes(into sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        switch storage {
        case .float32(let v): try v.withUnsafeBytes(sink)
        case .float64(let v): try v.withUnsafeBytes(sink)
        case .int64(let v): try v.withUnsafeBytes(sink)
        case .int32(let v): try v.withUnsafeBytes(sink)
        case .bytes(let v): try v.withUnsafeBytes(sink)
        }
    }

    /// The values as `Float` for floating dtypes (F16, BF16 and F64 are converted; F64 rounds);
    /// nil for other dtypes.
    public func asFloat32() -> [Float]? {
        switch storage {
        case .float32(let v): return v
        case .float64(let v): return v.map(Float.init)
        case .bytes(let b) where dtype == .f16:
            return halfWords(b).map { Float(Float16(bitPattern: $0)) }
        case .bytes(let b) where dtype == .bf16:
            return halfWords(b).map { Float(bitPattern: UInt32($0) << 16) }
        default: return nil
        }
    }

    /// The values as `Double` for floating dtypes; nil for other dtypes.
    public func asFloat64() -> [Double]? {
        if case .float64(let v) = storage { return v }
        return asFloat32()?.map(Double.init)
    }

    /// The values as `Int64` for integer and bool dtypes; nil for other dtypes, or when a
    /// U64 value does not fit.
    public func asInt64() -> [Int64]? {
        switch storage {
        case .int64(let v): return v
        case .int32(let v): return v.map(Int64.init)
        case .bytes(let b):
            switch dtype {
            case .bool, .u8: return b.map(Int64.init)
            case .i8: return b.map { Int64(Int8(bitPattern: $0)) }
            case .i16: return halfWords(b).map { Int64(Int16(bitPattern: $0)) }
            case .u16: return halfWords(b).map(Int64.init)
            case .u32: return (Self.reinterpret(b) as [UInt32]).map(Int64.init)
            case .u64:
                let words: [UInt64] = Self.reinterpret(b)
                guard words.allSatisfy({ $0 <= UInt64(Int64.max) }) else { return nil }
                return words.map(Int64.init)
            default: return nil
            }
        default: return nil
        }
    }

    private func halfWords(_ bytes: [UInt8]) -> [UInt16] { Self.reinterpret(bytes) }

    /// Copies little-endian bytes into an array of `T`; a trailing partial element is dropped.
    static func reinterpret<T: BitwiseCopyable>(_ bytes: [UInt8]) -> [T] {
        let count = bytes.count / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: raw.prefix(count * MemoryLayout<T>.stride)))
            }
            initialized = count
        }
    }
}
