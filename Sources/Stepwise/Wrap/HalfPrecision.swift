/// The precision model code runs its math in under an AmpOptimWrapper (`dtype`).
public enum Precision: String, Sendable, CaseIterable {
    case float32, bfloat16, float16

    /// The largest finite value; beyond it a cast gives infinity (float16: 65504).
    public var greatestFiniteMagnitude: Float {
        switch self {
        case .float32: .greatestFiniteMagnitude
        case .bfloat16: Float(bitPattern: 0x7F7F_0000)
        case .float16: 65504
        }
    }
}

/// Float32 <-> bfloat16 / float16 on bit patterns, rounding to nearest, ties to even, as
/// torch's casts do. Pure integer code: it vectorizes at the package's baseline target,
/// where Swift's `Float16` conversions are library calls. (StepwiseModels keeps its own
/// copy of these for its kernels; the host library depends on nothing above it.)
public enum HalfPrecision {
    public static func bfloat16Bits(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        // A NaN stays a (quiet) NaN with its sign; rounding could carry it to infinity.
        if b & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: b >> 16) | 0x0040 }
        let rounded = b &+ 0x7FFF &+ ((b >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    public static func float(bfloat16Bits h: UInt16) -> Float {
        Float(bitPattern: UInt32(h) << 16)
    }

    public static func float16Bits(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: (b >> 16) & 0x8000)
        let exponent = Int((b >> 23) & 0xFF)
        let mantissa = b & 0x7F_FFFF
        if exponent == 0xFF {
            // Infinity, or a quiet NaN keeping the top payload bits.
            return sign | 0x7C00 | (mantissa != 0 ? 0x0200 | UInt16(truncatingIfNeeded: mantissa >> 13) : 0)
        }
        let e = exponent - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            // Subnormal result: the 24-bit significand shifted down to units of 2^-24.
            guard e >= -10 else { return sign }
            let significand = mantissa | 0x80_0000
            let shift = UInt32(14 - e)
            let half = UInt32(1) << (shift - 1)
            var r = significand >> shift
            let rest = significand & ((UInt32(1) << shift) - 1)
            if rest > half || (rest == half && r & 1 == 1) { r += 1 }
            return sign | UInt16(truncatingIfNeeded: r)
        }
        // A carry out of the mantissa moves to the next binade, or to infinity: both right.
        var r = UInt32(e) << 10 | (mantissa >> 13)
        let rest = mantissa & 0x1FFF
        if rest > 0x1000 || (rest == 0x1000 && r & 1 == 1) { r += 1 }
        return sign | UInt16(truncatingIfNeeded: r)
    }

    public static func float(float16Bits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa * 2^-24, exact in float32.
            let magnitude = Float(mantissa) * Float(bitPattern: 0x3380_0000)
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
        }
    }

    /// The bit pattern of `x` in `precision` (float32: not applicable, nil).
    @inline(__always)
    public static func bits(_ x: Float, _ precision: Precision) -> UInt16 {
        precision == .float16 ? float16Bits(x) : bfloat16Bits(x)
    }

    /// `x` rounded to `precision`, as a float32 (overflow gives infinity).
    @inline(__always)
    public static func round(_ x: Float, to precision: Precision) -> Float {
        switch precision {
        case .float32: x
        case .bfloat16: float(bfloat16Bits: bfloat16Bits(x))
        case .float16: float(float16Bits: float16Bits(x))
        }
    }

    public static func round(_ values: UnsafeMutableBufferPointer<Float>, to precision: Precision) {
        guard precision != .float32 else { return }
        for i in values.indices { values[i] = round(values[i], to: precision) }
    }

    public static func encode(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<UInt16>,
                              as precision: Precision) {
        precondition(destination.count >= source.count && precision != .float32, "encode: destination too small or float32")
        if precision == .float16 {
            for i in source.indices { destination[i] = float16Bits(source[i]) }
        } else {
            for i in source.indices { destination[i] = bfloat16Bits(source[i]) }
        }
    }

    public static func decode(_ source: UnsafeBufferPointer<UInt16>, into destination: UnsafeMutableBufferPointer<Float>,
                              as precision: Precision) {
        precondition(destination.count >= source.count && precision != .float32, "decode: destination too small or float32")
        if precision == .float16 {
            for i in source.indices { destination[i] = float(float16Bits: source[i]) }
        } else {
            for i in source.indices { destination[i] = float(bfloat16Bits: source[i]) }
        }
    }
}
