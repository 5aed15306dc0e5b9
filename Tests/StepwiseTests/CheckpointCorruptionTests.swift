import Foundation
import XCTest
import Stepwise

/// Every kind of damaged or hostile file is refused with the specific problem named.
final class CheckpointCorruptionTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws { folder = try makeScratchFolder("\(type(of: self))") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    /// A file from a header text and data bytes; `declaredLength` overrides the length field.
    static func file(_ header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        let n = declaredLength ?? UInt64(h.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * $0)) } + h + data
    }

    static let w = #""w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#
    static let valid = file("{\(w)}", data: [UInt8](repeating: 0, count: 8))

    typealias Problem = SafetensorsError.Problem
    static let cases: [(label: String, bytes: [UInt8], problem: Problem)] = [
        ("empty file", [], .fileTooSmall(size: 0)),
        ("cut inside the length", [8, 0, 0, 0, 0], .fileTooSmall(size: 5)),
        ("absurd header length", file("{}", declaredLength: 1 << 40), .headerTooLarge(declared: 1 << 40)),
        ("header longer than the file", file("{}", declaredLength: 100), .headerBeyondFile(declared: 100, fileSize: 10)),
        ("truncated data", Array(valid.dropLast(3)), .bufferSizeMismatch(covered: 8, available: 5)),
        ("trailing bytes", valid + [0], .bufferSizeMismatch(covered: 8, available: 9)),
        ("huge declared tensor", file(#"{"w":{"dtype":"F64","shape":[1099511627776],"data_offsets":[0,8796093022208]}}"#),
         .bufferSizeMismatch(covered: 8_796_093_022_208, available: 0)),
        ("not UTF-8", [4, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0xFF, 0xFE, 0x7D], .headerNotUTF8),
        ("not JSON", file("{\(w)"), .invalidJSON("unterminated object at byte 53 of the header")),
        ("duplicate tensor", file("{\(w),\(w)}", data: [UInt8](repeating: 0, count: 8)),
         .invalidJSON(#"duplicate key "w" at byte 54 of the header"#)),
        ("deep nesting", file(#"{"w":{"x":"# + String(repeating: "[", count: 500) + "}}"),
         .invalidJSON("JSON nested more than 64 levels at byte 72 of the header")),
        ("not an object", file("[1, 2]"), .invalidHeader("the header is not a JSON object")),
        ("tensor not an object", file(#"{"w":[0,8]}"#), .invalidHeader(#"tensor "w" is not an object"#)),
        ("metadata not strings", file(#"{"__metadata__":{"epoch":3}}"#),
         .invalidHeader(#"metadata value for "epoch" is not a string"#)),
        ("missing offsets", file(#"{"w":{"dtype":"F32","shape":[2]}}"#), .invalidHeader(#"tensor "w" has no "data_offsets""#)),
        ("negative dimension", file(#"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#),
         .invalidHeader(#"tensor "w": "shape" must hold non-negative integers"#)),
        ("fractional offset", file(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}"#),
         .invalidHeader(#"tensor "w": "data_offsets" must be [begin, end] with non-negative integers"#)),
        ("three offsets", file(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}"#),
         .invalidHeader(#"tensor "w": "data_offsets" must be [begin, end] with non-negative integers"#)),
        ("offset beyond UInt64", file(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]}}"#),
         .invalidHeader(#"tensor "w": "data_offsets" must be [begin, end] with non-negative integers"#)),
        ("unknown dtype", file(#"{"w":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#),
         .unknownDType(tensor: "w", dtype: "F33")),
        ("gap between tensors", file(#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[6,10]}}"#,
                                     data: [UInt8](repeating: 0, count: 10)),
         .badOffsets(tensor: "b", begin: 6, end: 10, expectedBegin: 4)),
        ("does not start at zero", file(#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
         .badOffsets(tensor: "a", begin: 4, end: 8, expectedBegin: 0)),
        ("overlapping tensors", file(#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#,
                                     data: [UInt8](repeating: 0, count: 6)),
         .badOffsets(tensor: "b", begin: 2, end: 6, expectedBegin: 4)),
        ("end before begin", file(#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"c":{"dtype":"U8","shape":[0],"data_offsets":[4,2]}}"#,
                                  data: [UInt8](repeating: 0, count: 4)),
         .badOffsets(tensor: "c", begin: 4, end: 2, expectedBegin: 4)),
        ("size disagrees with shape", file(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
         .sizeMismatch(tensor: "w", dtype: .f32, shape: [3], expected: 12, declared: 8)),
        ("shape overflows", file(#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#),
         .sizeOverflow(tensor: "w")),
        ("bytes overflow", file(#"{"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}}"#),
         .sizeOverflow(tensor: "w")),
        ("partial byte", file(#"{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#, data: [0, 0]),
         .sizeOverflow(tensor: "w")),
    ]

    func testEveryCorruptionIsRefusedWithItsProblem() throws {
        for (label, bytes, problem) in Self.cases {
            let path = "\(folder)/\(label.replacingOccurrences(of: " ", with: "_")).safetensors"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try SafetensorsReader(path: path), label) { error in
                guard let e = error as? SafetensorsError else { return XCTFail("\(label): \(error)") }
                XCTAssertEqual(e.problem, problem, label)
                XCTAssertTrue(e.description.hasPrefix(path + ": ") || e.description.contains(path), "\(label): \(e)")
            }
        }
    }

    func testTheBaseFileOfTheTableIsValid() throws {
        let path = folder + "/valid.safetensors"
        try Data(Self.valid).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try Safetensors.load(path).tensors["w"], SafetensorsTensor(shape: [2], float32: [0, 0]))
    }

    /// What the reference reader accepts, this one accepts too.
    func testToleratesWhatTheReferenceAccepts() throws {
        let lenient = Self.file(#" {"w" : {"shape":[2], "extra": {"a": [true, null, -1.5e3]}, "dtype":"F32","data_offsets":[0,8]}, "__metadata__": {}} "#
                                + "\u{0020}\t\n", data: [UInt8](repeating: 0, count: 8))
        let path = folder + "/lenient.safetensors"
        try Data(lenient).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try Safetensors.load(path).tensors["w"]?.shape, [2])
    }

    func testMessagesSayWhatIsWrong() {
        let e = SafetensorsError(file: "/ckpt/e3.safetensors", .bufferSizeMismatch(covered: 100, available: 60))
        XCTAssertEqual(e.description, "/ckpt/e3.safetensors: truncated: tensors need 100 bytes of data but only 60 follow the header")
        let gap = SafetensorsError(file: "f", .badOffsets(tensor: "b", begin: 6, end: 10, expectedBegin: 4))
        XCTAssertEqual(gap.description, "f: tensor 'b' has data_offsets [6, 10] that leaves a gap: the previous tensor ends at 4")
    }
}
