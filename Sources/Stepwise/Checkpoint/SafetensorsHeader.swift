/// Where one tensor lives in a safetensors file.
public struct SafetensorsEntry: Sendable, Equatable {
    public var name: String
    public var dtype: SafetensorsDType
    public var shape: [Int]
    /// Byte range relative to the start of the data buffer (just after the header).
    public var begin: Int
    public var end: Int
    public var byteCount: Int { end - begin }
}

/// The decoded, validated header: tensors sorted by offset, covering `dataSize` bytes
/// exactly, and the free-form metadata.
struct SafetensorsHeader: Equatable {
    static let maxHeaderSize: UInt64 = 100_000_000
    static let metadataKey = "__metadata__"

    var entries: [SafetensorsEntry]
    var metadata: [String: String]
    var dataSize: Int { entries.last?.end ?? 0 }

    // MARK: Encoding

    /// Lays tensors out the way the reference writer does (element size descending, then
    /// name) and returns the padded header bytes and the layout.
    static func encode(
        tensors: [(name: String, dtype: SafetensorsDType, shape: [Int], byteCount: Int)],
        metadata: [String: String]
    ) -> (bytes: [UInt8], entries: [SafetensorsEntry]) {
        let ordered = tensors.sorted { a, b in
            a.dtype != b.dtype ? a.dtype > b.dtype : Array(a.name.utf8).lexicographicallyPrecedes(b.name.utf8)
        }
        var entries: [SafetensorsEntry] = []
        var offset = 0
        for t in ordered {
            entries.append(SafetensorsEntry(name: t.name, dtype: t.dtype, shape: t.shape,
                                            begin: offset, end: offset + t.byteCount))
            offset += t.byteCount
        }
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            let pairs = metadata.sorted { Array($0.key.utf8).lexicographicallyPrecedes($1.key.utf8) }
                .map { JSONValue.quote($0.key) + ":" + JSONValue.quote($0.value) }
            json += JSONValue.quote(metadataKey) + ":{" + pairs.joined(separator: ",") + "}"
            first = false
        }
        for e in entries {
            if !first { json += "," }
            first = false
            json += JSONValue.quote(e.name) + ":{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":["
                + e.shape.map(String.init).joined(separator: ",")
                + "],\"data_offsets\":[\(e.begin),\(e.end)]}"
        }
        json += "}"
        var bytes = Array(json.utf8)
        // Padding to 8 bytes keeps the data buffer, and so each tensor, aligned.
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8))
        return (bytes, entries)
    }

    // MARK: Decoding

    /// Decodes and validates header bytes: the same rules as huggingface/safetensors
    /// (`Metadata::validate`), plus duplicate keys refused outright. `file` only names the
    /// file in errors; the caller checks `dataSize` against the bytes actually present.
    static func decode(_ bytes: [UInt8], file: String) throws(SafetensorsError) -> SafetensorsHeader {
        func fail(_ p: SafetensorsError.Problem) -> SafetensorsError { SafetensorsError(file: file, p) }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw fail(.headerNotUTF8) }
        let json: JSONValue
        do { json = try JSONValue.parse(bytes) } catch { throw fail(.invalidJSON("\(error.message) at byte \(error.offset) of the header")) }
        guard case .object(let top) = json else { throw fail(.invalidHeader("the header is not a JSON object")) }

        var metadata: [String: String] = [:]
        var raw: [(entry: SafetensorsEntry, begin: UInt64, end: UInt64)] = []
        for (name, value) in top {
            if name == metadataKey {
                guard case .object(let pairs) = value else {
                    throw fail(.invalidHeader("\"__metadata__\" must be an object of strings"))
                }
                for (k, v) in pairs {
                    guard case .string(let s) = v else {
                        throw fail(.invalidHeader("metadata value for \(JSONValue.quote(k)) is not a string"))
                    }
                    metadata[k] = s
                }
                continue
            }
            raw.append(try tensorInfo(name: name, value: value, fail: fail))
        }

        raw.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expected: UInt64 = 0
        for (entry, begin, end) in raw {
            guard begin == expected, end >= begin else {
                throw fail(.badOffsets(tensor: entry.name, begin: begin, end: end, expectedBegin: expected))
            }
            expected = end
            var elements = 1
            for d in entry.shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail(.sizeOverflow(tensor: entry.name)) }
                elements = p
            }
            guard let size = entry.dtype.byteCount(elements: elements) else {
                throw fail(.sizeOverflow(tensor: entry.name))
            }
            guard UInt64(size) == end - begin else {
                throw fail(.sizeMismatch(tensor: entry.name, dtype: entry.dtype, shape: entry.shape,
                                         expected: size, declared: end - begin))
            }
        }
        // Offsets are now known to equal exact sizes of `Int`-sized tensors, but their sum
        // can still exceed Int.max; the caller compares against the real file size anyway.
        guard expected <= UInt64(Int.max) else { throw fail(.bufferSizeMismatch(covered: expected, available: 0)) }
        return SafetensorsHeader(entries: raw.map(\.entry), metadata: metadata)
    }

    private static func tensorInfo(
        name: String, value: JSONValue, fail: (SafetensorsError.Problem) -> SafetensorsError
    ) throws(SafetensorsError) -> (entry: SafetensorsEntry, begin: UInt64, end: UInt64) {
        let quotedName = JSONValue.quote(name)
        guard case .object(let fields) = value else {
            throw fail(.invalidHeader("tensor \(quotedName) is not an object"))
        }
        func field(_ key: String) throws(SafetensorsError) -> JSONValue {
            // Unknown fields are ignored, as the reference reader does.
            guard let v = fields.first(where: { $0.0 == key })?.1 else {
                throw fail(.invalidHeader("tensor \(quotedName) has no \"\(key)\""))
            }
            return v
        }
        guard case .string(let dtypeName) = try field("dtype") else {
            throw fail(.invalidHeader("tensor \(quotedName): \"dtype\" is not a string"))
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw fail(.unknownDType(tensor: name, dtype: dtypeName))
        }
        guard case .array(let dims) = try field("shape") else {
            throw fail(.invalidHeader("tensor \(quotedName): \"shape\" is not an array"))
        }
        var shape: [Int] = []
        for d in dims {
            guard let n = d.unsignedInteger, n <= UInt64(Int.max) else {
                throw fail(.invalidHeader("tensor \(quotedName): \"shape\" must hold non-negative integers"))
            }
            shape.append(Int(n))
        }
        guard case .array(let offsets) = try field("data_offsets"), offsets.count == 2,
              let begin = offsets[0].unsignedInteger, let end = offsets[1].unsignedInteger
        else {
            throw fail(.invalidHeader("tensor \(quotedName): \"data_offsets\" must be [begin, end] with non-negative integers"))
        }
        // Sizes fit in Int once validated against dtype and shape; clamp until then.
        let entry = SafetensorsEntry(name: name, dtype: dtype, shape: shape,
                                     begin: Int(clamping: begin), end: Int(clamping: end))
        return (entry, begin, end)
    }
}
