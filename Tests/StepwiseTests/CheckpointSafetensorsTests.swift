import Foundation
import XCTest
import Stepwise

/// A scratch folder per test, removed afterwards.
func makeScratchFolder(_ name: String = #function) throws -> String {
    let clean = name.filter { $0.isLetter || $0.isNumber }
    let path = FileManager.default.temporaryDirectory.path
        + "/stepwise-test-\(getpid())-\(clean)-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

final class CheckpointSafetensorsTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws { folder = try makeScratchFolder("\(type(of: self))") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    static func sampleTensors() -> [String: SafetensorsTensor] {
        let halfOnes = [UInt8]([0x00, 0x3C, 0x00, 0xC0, 0x00, 0x7C])      // 1, -2, +inf in F16
        let bf16 = [UInt8]([0x80, 0x3F, 0x49, 0x40])                       // 1, 3.140625 in BF16
        return [
            "model.fc1.weight": SafetensorsTensor(shape: [2, 3], float32: [1, -2, 3.5, .infinity, 0, -0.25]),
            "optimizer.state.0.exp_avg": SafetensorsTensor(shape: [3], float64: [1e-300, -2, .pi]),
            "optimizer.state.0.step": SafetensorsTensor(shape: [], int64: [Int64.max]),
            "counts": SafetensorsTensor(shape: [2], int32: [-7, 7]),
            "half": SafetensorsTensor(dtype: .f16, shape: [3], bytes: halfOnes),
            "brain": SafetensorsTensor(dtype: .bf16, shape: [1, 2], bytes: bf16),
            "mask": SafetensorsTensor(dtype: .bool, shape: [3], bytes: [1, 0, 1]),
            "empty": SafetensorsTensor(shape: [4, 0], float32: []),
            "ünïcode \"name\"\n": SafetensorsTensor(dtype: .u8, shape: [1], bytes: [255]),
        ]
    }

    func testRoundTripKeepsEveryTensorAndMetadata() throws {
        let path = folder + "/ckpt.safetensors"
        let tensors = Self.sampleTensors()
        let metadata = ["config": #"{"type": "Adam", "lr": 0.001}"#, "rng": "ünï\u{1}\t\\", "epoch": "3"]
        try Safetensors.save(tensors, metadata: metadata, to: path)
        let archive = try Safetensors.load(path)
        XCTAssertEqual(archive.metadata, metadata)
        XCTAssertEqual(Set(archive.tensors.keys), Set(tensors.keys))
        for (name, t) in tensors {
            XCTAssertEqual(archive.tensors[name], t, name)
        }
        let loaded = try XCTUnwrap(archive.tensors["half"]?.asFloat32())
        XCTAssertEqual(loaded, [1, -2, .infinity])
        XCTAssertEqual(archive.tensors["brain"]?.asFloat32(), [1, 3.140625])
        XCTAssertEqual(archive.tensors["mask"]?.asInt64(), [1, 0, 1])
        XCTAssertEqual(archive.tensors["counts"]?.asInt64(), [-7, 7])
        XCTAssertNil(archive.tensors["counts"]?.asFloat32())
    }

    func testEmptyFileHasOnlyTheHeader() throws {
        let path = folder + "/empty.safetensors"
        try Safetensors.save([:], to: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data([8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8)))
        XCTAssertEqual(try Safetensors.load(path), SafetensorsArchive())
    }

    /// The header matches what safetensors 0.8 (Python, numpy backend) writes for the same
    /// tensors, byte for byte: layout by element size then name, metadata sorted, padding.
    func testHeaderMatchesTheReferenceWriter() throws {
        let path = folder + "/ref.safetensors"
        try Safetensors.save([
            "b": SafetensorsTensor(shape: [3], float32: [0, 1, 2]),
            "a": SafetensorsTensor(shape: [2, 0], float64: []),
            "c": SafetensorsTensor(shape: [1], int64: [1]),
            "h": SafetensorsTensor(dtype: .f16, shape: [3], bytes: [0, 0x3C, 0, 0x3C, 0, 0x3C]),
        ], metadata: ["z": "1", "a": "x\"\né"], to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let expected = #"{"__metadata__":{"a":"x\"\né","z":"1"},"c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"a":{"dtype":"F64","shape":[2,0],"data_offsets":[8,8]},"b":{"dtype":"F32","shape":[3],"data_offsets":[8,20]},"h":{"dtype":"F16","shape":[3],"data_offsets":[20,26]}}"#
            + String(repeating: " ", count: 7)
        XCTAssertEqual(expected.utf8.count, 264)
        XCTAssertEqual(Array(bytes[0..<8]), [8, 1, 0, 0, 0, 0, 0, 0], "264, little-endian")
        XCTAssertEqual(String(decoding: bytes[8..<8 + expected.utf8.count], as: UTF8.self), expected)
        XCTAssertEqual(bytes.count, 8 + expected.utf8.count + 26)
    }

    func testEveryTensorStartsAlignedToItsElementSize() throws {
        let path = folder + "/aligned.safetensors"
        try Safetensors.save(Self.sampleTensors(), to: path)
        let reader = try SafetensorsReader(path: path)
        let headerLength = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(headerLength % 8, 0)
        for e in reader.entries {
            XCTAssertEqual(e.begin % max(1, e.dtype.bitWidth / 8), 0, e.name)
        }
    }

    /// A source that produces its data in many small chunks, as a converter would.
    struct ChunkedRamp: SafetensorsSource {
        var count: Int
        var chunk: Int
        var extra = 0
        var dtype: SafetensorsDType { .f32 }
        var shape: [Int] { [count] }
        func writeBytes(into sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
            var start = 0
            while start < count + extra {
                let piece = (start..<min(start + chunk, count + extra)).map { Float($0) }
                try piece.withUnsafeBytes(sink)
                start += chunk
            }
        }
    }

    func testStreamsLargeChunkedSources() throws {
        let path = folder + "/big.safetensors"
        let n = 700_000  // 2.8 MB, more than the writer's buffer
        try Safetensors.save(["ramp": ChunkedRamp(count: n, chunk: 4099)], to: path)
        let ramp = try SafetensorsReader(path: path).tensor(named: "ramp")
        XCTAssertEqual(ramp.shape, [n])
        guard case .float32(let values) = ramp.storage else { return XCTFail("expected F32 storage") }
        XCTAssertEqual(values.count, n)
        XCTAssertEqual(values.first, 0)
        XCTAssertEqual(values.last, Float(n - 1))
        XCTAssertEqual(values[123_457], 123_457)
    }

    func testWriterRefusesBadTensorsAndKeepsThePreviousFile() throws {
        let path = folder + "/ckpt.safetensors"
        let previous = ["w": SafetensorsTensor(shape: [1], float32: [42])]
        try Safetensors.save(previous, to: path)
        let cases: [(String, [String: any SafetensorsSource], String)] = [
            ("reserved name", ["__metadata__": SafetensorsTensor(shape: [1], float32: [1])], "reserved"),
            ("short data", ["w": SafetensorsTensor(shape: [3], float32: [1, 2])], "has 8 bytes but F32 with shape [3] needs 12"),
            ("long data", ["w": ChunkedRamp(count: 4, chunk: 3, extra: 2)], "longer than 16 bytes"),
            ("negative dim", ["w": SafetensorsTensor(shape: [-1], float32: [])], "negative dimension"),
            ("partial byte", ["w": SafetensorsTensor(dtype: .f4, shape: [3], bytes: [0, 0])], "not a whole number of bytes"),
        ]
        for (label, tensors, message) in cases {
            XCTAssertThrowsError(try Safetensors.save(tensors, to: path), label) { error in
                let e = error as? SafetensorsError
                XCTAssertEqual(e?.file, path, label)
                XCTAssertTrue(e?.description.contains(message) ?? false, "\(label): \(String(describing: e))")
            }
            XCTAssertEqual(try Safetensors.load(path).tensors, previous, label)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["ckpt.safetensors"],
                       "failed saves must remove their temporary files")
    }

    func testReaderReadsSingleTensorsAndNamesMissingOnes() throws {
        let path = folder + "/ckpt.safetensors"
        try Safetensors.save(Self.sampleTensors(), to: path)
        let reader = try SafetensorsReader(path: path)
        XCTAssertEqual(Set(reader.names), Set(Self.sampleTensors().keys))
        XCTAssertEqual(try reader.tensor(named: "counts"), Self.sampleTensors()["counts"])
        XCTAssertThrowsError(try reader.tensor(named: "nope")) { error in
            XCTAssertEqual(error as? SafetensorsError, SafetensorsError(file: path, .tensorNotFound("nope")))
        }
        XCTAssertThrowsError(try SafetensorsReader(path: folder + "/missing.safetensors")) { error in
            XCTAssertEqual((error as? SafetensorsError)?.problem, .io(step: "open it", code: ENOENT))
            XCTAssertTrue("\(error)".contains("missing.safetensors: cannot open it: No such file"), "\(error)")
        }
    }
}
