/// The 16-bit float formats the low-precision (AMP) path rounds to.
public enum LowPrecisionFormat: String, Sendable, CaseIterable {
    /// bfloat16: float32's 8-bit exponent with a 7-bit mantissa.
    case bfloat16
    /// IEEE 754 binary16: 5-bit exponent, 10-bit mantissa, max finite 65504.
    case float16
}

/// Float32 <-> bfloat16 / float16 conversions with round-to-nearest-even, on raw bit
/// patterns (`UInt16`).
///
/// Everything is integer and compare-select arithmetic with no branches, so the array loops
/// vectorize at the package's baseline x86-64 target. Swift's `Float16` would not: without
/// F16C every conversion is a library call. NaN stays NaN (quieted, sign and leading
/// payload bits kept); infinities stay infinite; finite values past the format's range
/// round to infinity, as IEEE round-to-nearest-even requires.
public enum LowPrecision {
    // MARK: Scalars

    @inline(__always)
    public static func bfloat16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        let isNaN = bits & 0x7FFF_FFFF > 0x7F80_0000
        // Adding 0x7FFF plus the kept mantissa's lowest bit rounds half to even; a carry
        // out of the mantissa correctly bumps the exponent (up to infinity).
        let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16
        let quietNaN = (bits >> 16) | 0x0040
        return UInt16(truncatingIfNeeded: isNaN ? quietNaN : rounded)
    }

    @inline(__always)
    public static func float(bfloat16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    @inline(__always)
    public static func float16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        let sign = (bits >> 16) & 0x8000
        let magnitude = bits & 0x7FFF_FFFF
        // Normal halves: rebias the exponent (127 -> 15, i.e. subtract 112 << 23, written
        // as its wrapped UInt32), then round the 23-bit mantissa to 10 bits half to even.
        let lowestKept = (magnitude >> 13) & 1
        let normal = (magnitude &+ 0xC800_0FFF &+ lowestKept) >> 13
        // Subnormal halves (below 2^-14): adding 0.5 puts the value's bits at the place of
        // the half's subnormal spacing (2^-24), so the FPU's own rounding does the work.
        let shifted = Float(bitPattern: magnitude) + 0.5
        let subnormal = shifted.bitPattern &- 0x3F00_0000
        let nan = 0x7E00 | ((magnitude >> 13) & 0x03FF)
        var result = magnitude < 0x3880_0000 ? subnormal : normal
        // 65520 is halfway between 65504 (the largest half) and 2^16; ties-to-even sends
        // it, and everything above it, to infinity.
        result = magnitude >= 0x477F_F000 ? 0x7C00 : result
        result = magnitude > 0x7F80_0000 ? nan : result
        return UInt16(truncatingIfNeeded: sign | result)
    }

    @inline(__always)
    public static func float(float16Bits bits: UInt16) -> Float {
        let h = UInt32(bits)
        let sign = (h & 0x8000) << 16
        let magnitude = h & 0x7FFF
        let exponent = magnitude & 0x7C00
        let normal = (magnitude << 13) &+ 0x3800_0000
        let infOrNaN = (magnitude << 13) | 0x7F80_0000
        // A subnormal half is its mantissa times 2^-24; both factors are exact in float32.
        let subnormal = (Float(magnitude) * 0x1p-24).bitPattern
        var result = exponent == 0 ? subnormal : normal
        result = exponent == 0x7C00 ? infOrNaN : result
        return Float(bitPattern: sign | result)
    }

    /// `x` rounded to the nearest value of `format`, returned as a float32.
    @inline(__always)
    public static func rounded(_ x: Float, to format: LowPrecisionFormat) -> Float {
        switch format {
        case .bfloat16: float(bfloat16Bits: bfloat16Bits(x))
        case .float16: float(float16Bits: float16Bits(x))
        }
    }

    // MARK: Arrays

    /// Encodes `count` floats into 16-bit patterns of `format`.
    public static func encode(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<UInt16>,
                              count: Int, format: LowPrecisionFormat) {
        switch format {
        case .bfloat16: for i in 0..<count { destination[i] = bfloat16Bits(source[i]) }
        case .float16: for i in 0..<count { destination[i] = float16Bits(source[i]) }
        }
    }

    /// Decodes `count` 16-bit patterns of `format` into floats (exact).
    public static func decode(_ source: UnsafePointer<UInt16>, into destination: UnsafeMutablePointer<Float>,
                              count: Int, format: LowPrecisionFormat) {
        switch format {
        case .bfloat16: for i in 0..<count { destination[i] = float(bfloat16Bits: source[i]) }
        case .float16: for i in 0..<count { destination[i] = float(float16Bits: source[i]) }
        }
    }

    /// Rounds `count` floats to `format`'s precision, keeping them as float32: the input
    /// step of an emulated low-precision product. `destination` may equal `source`.
    public static func round(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>,
                             count: Int, format: LowPrecisionFormat) {
        switch format {
        case .bfloat16:
            elementwise(source, into: destination, count: count) { x in
                let bits = x.bitPattern
                let isNaN = bits & 0x7FFF_FFFF > 0x7F80_0000
                let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000
                return Float(bitPattern: isNaN ? (bits | 0x0040_0000) & 0xFFFF_0000 : rounded)
            }
        case .float16:
            elementwise(source, into: destination, count: count) { float(float16Bits: float16Bits($0)) }
        }
    }
}

/// `destination[i] = f(source[i])`, vectorizing in place too (see Activations.swift).
@inline(__always)
private func elementwise(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int,
                         _ f: (Float) -> Float) {
    if UnsafePointer(destination) == source {
        for i in 0..<count { destination[i] = f(destination[i]) }
    } else {
        for i in 0..<count { destination[i] = f(source[i]) }
    }
}
