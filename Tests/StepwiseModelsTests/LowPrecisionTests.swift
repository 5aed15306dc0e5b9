import XCTest
@testable import StepwiseModels

final class LowPrecisionTests: XCTestCase {
    /// Hand-computed bfloat16 encodings: float32 bits -> bfloat16 bits.
    static let bfloat16Table: [(input: UInt32, expected: UInt16, why: String)] = [
        (0x3F80_0000, 0x3F80, "1.0 exact"),
        (0xC000_0000, 0xC000, "-2.0 exact"),
        (0x3F80_8000, 0x3F80, "tie, kept mantissa even: down"),
        (0x3F81_8000, 0x3F82, "tie, kept mantissa odd: up to even"),
        (0x3F80_8001, 0x3F81, "just above the tie: up"),
        (0x3F80_7FFF, 0x3F80, "just below the tie: down"),
        (0x4049_0FDB, 0x4049, "pi rounds down"),
        (0x3F7F_FFFF, 0x3F80, "carry into the exponent"),
        (0x7F7F_FFFF, 0x7F80, "largest float rounds to infinity"),
        (0x7F80_0000, 0x7F80, "+inf"),
        (0xFF80_0000, 0xFF80, "-inf"),
        (0x7FC0_0000, 0x7FC0, "quiet NaN"),
        (0x7F80_0001, 0x7FC0, "signalling NaN with low payload stays NaN, quieted"),
        (0xFFA0_0000, 0xFFE0, "negative NaN keeps sign and payload, quieted"),
        (0x0000_8000, 0x0000, "subnormal tie to even zero"),
        (0x0001_8000, 0x0002, "subnormal tie up to even"),
        (0x8000_0000, 0x8000, "-0.0"),
    ]

    /// Hand-computed float16 encodings: float32 bits -> float16 bits.
    static let float16Table: [(input: UInt32, expected: UInt16, why: String)] = [
        (0x3F80_0000, 0x3C00, "1.0"),
        (0xC000_0000, 0xC000, "-2.0"),
        (0x3DCC_CCCD, 0x2E66, "0.1"),
        (0x3F80_1000, 0x3C00, "1 + 2^-11: tie down to even"),
        (0x3F80_3000, 0x3C02, "1 + 3 * 2^-11: tie up to even"),
        (0x477F_E000, 0x7BFF, "65504, the largest half"),
        (0x477F_EF00, 0x7BFF, "65519 rounds down to 65504"),
        (0x477F_F000, 0x7C00, "65520: tie, to even = infinity"),
        (0x47C3_5000, 0x7C00, "100000 overflows"),
        (0x3880_0000, 0x0400, "2^-14, the smallest normal"),
        (0x387F_C000, 0x03FF, "1023 * 2^-24, the largest subnormal"),
        (0x387F_F000, 0x0400, "2^-14 - 2^-26 rounds up into the normals"),
        (0x3380_0000, 0x0001, "2^-24, the smallest subnormal"),
        (0x3300_0000, 0x0000, "2^-25: tie to even zero"),
        (0x3340_0000, 0x0001, "0.75 * 2^-24 rounds up to the smallest subnormal"),
        (0x33C0_0000, 0x0002, "1.5 * 2^-24: tie up to even"),
        (0x0000_0001, 0x0000, "float32 subnormal flushes by rounding"),
        (0x8000_0000, 0x8000, "-0.0"),
        (0x7F80_0000, 0x7C00, "+inf"),
        (0xFF80_0000, 0xFC00, "-inf"),
        (0x7FC0_0000, 0x7E00, "quiet NaN"),
        (0x7F80_0001, 0x7E00, "signalling NaN with low payload stays NaN, quieted"),
        (0xFFF0_0000, 0xFF80, "negative NaN keeps sign and leading payload"),
    ]

    func testBFloat16EncodingTable() {
        for row in Self.bfloat16Table {
            let x = Float(bitPattern: row.input)
            XCTAssertEqual(LowPrecision.bfloat16Bits(x), row.expected, row.why)
            var encoded: UInt16 = 0, rounded: Float = 0
            LowPrecision.encode([x], into: &encoded, count: 1, format: .bfloat16)
            LowPrecision.round([x], into: &rounded, count: 1, format: .bfloat16)
            XCTAssertEqual(encoded, row.expected, "array: \(row.why)")
            XCTAssertEqual(rounded.bitPattern, UInt32(row.expected) << 16, "round: \(row.why)")
        }
    }

    func testFloat16EncodingTable() {
        for row in Self.float16Table {
            let x = Float(bitPattern: row.input)
            XCTAssertEqual(LowPrecision.float16Bits(x), row.expected, row.why)
            var encoded: UInt16 = 0
            LowPrecision.encode([x], into: &encoded, count: 1, format: .float16)
            XCTAssertEqual(encoded, row.expected, "array: \(row.why)")
        }
    }

    func testDecodingHandValues() {
        let halves: [(UInt16, Float)] = [
            (0x0001, 0x1p-24), (0x03FF, 1023 * 0x1p-24), (0x0400, 0x1p-14), (0x3555, 0.333_251_953_125),
            (0x7BFF, 65504), (0x7C00, .infinity), (0xFC00, -.infinity), (0xC000, -2),
        ]
        for (bits, value) in halves { XCTAssertEqual(LowPrecision.float(float16Bits: bits), value, "0x\(String(bits, radix: 16))") }
        XCTAssertEqual(LowPrecision.float(float16Bits: 0x8000).bitPattern, 0x8000_0000)
        XCTAssertTrue(LowPrecision.float(float16Bits: 0x7E00).isNaN)
        XCTAssertTrue(LowPrecision.float(float16Bits: 0x7C01).isNaN)
        XCTAssertEqual(LowPrecision.float(bfloat16Bits: 0x3F80), 1)
        XCTAssertTrue(LowPrecision.float(bfloat16Bits: 0x7FC0).isNaN)
        XCTAssertEqual(LowPrecision.float(bfloat16Bits: 0xFF80), -.infinity)
    }

    /// Every 16-bit pattern decodes and re-encodes to itself (NaNs to their quieted self).
    func testExhaustiveRoundTrip() {
        let patterns = (0...UInt16.max).map { $0 }
        for format in LowPrecisionFormat.allCases {
            var floats = [Float](repeating: 0, count: patterns.count)
            var again = [UInt16](repeating: 0, count: patterns.count)
            LowPrecision.decode(patterns, into: &floats, count: patterns.count, format: format)
            LowPrecision.encode(floats, into: &again, count: patterns.count, format: format)
            let quietBit: UInt16 = format == .bfloat16 ? 0x0040 : 0x0200
            for (index, bits) in patterns.enumerated() {
                let expected = floats[index].isNaN ? bits | quietBit : bits
                if again[index] != expected {
                    XCTFail("\(format) 0x\(String(bits, radix: 16)) -> \(floats[index]) -> 0x\(String(again[index], radix: 16))")
                    break
                }
            }
        }
    }

    /// Swift's own `Float16(_: Float)` rounds to nearest even; it is an independent oracle
    /// for finite inputs across the whole float32 range.
    func testFloat16MatchesSwiftConversionOnRandomInputs() {
        var rng = Xoshiro256StarStar(seed: 5)
        for _ in 0..<200_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            guard !x.isNaN else { continue }
            let expected = Float16(x).bitPattern
            if LowPrecision.float16Bits(x) != expected {
                XCTFail("\(x) (0x\(String(x.bitPattern, radix: 16))): 0x\(String(LowPrecision.float16Bits(x), radix: 16)) vs 0x\(String(expected, radix: 16))")
                return
            }
        }
    }

    /// Rounding in place (the in-place loop) agrees with rounding into a separate buffer.
    func testRoundInPlaceMatchesOutOfPlace() throws {
        var rng = Xoshiro256StarStar(seed: 6)
        let values = (0..<1001).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) }
        for format in LowPrecisionFormat.allCases {
            var separate = [Float](repeating: 0, count: values.count)
            LowPrecision.round(values, into: &separate, count: values.count, format: format)
            let inPlace = try Tensor(shape: [values.count], values: values)
            LowPrecision.round(inPlace.data, into: inPlace.data, count: inPlace.count, format: format)
            XCTAssertEqual(inPlace.array.map(\.bitPattern), separate.map(\.bitPattern), "\(format)")
        }
    }
}
