import Foundation

/// A JSON value that keeps what conformance cases need and Foundation's reader loses: the
/// order of object keys (`params` order is the parameter order) and the exact text of
/// numbers (so a float32 number is read as a float32, never through a double).
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let entries) = self { return entries.first { $0.0 == key }?.1 }
        return nil
    }
    public var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var object: [(String, JSONValue)]? { if case .object(let o) = self { o } else { nil } }
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var double: Double? { if case .number(let t) = self { Double(t) } else { nil } }
    /// The number read directly as a float32 (the shortest decimal of a float32 reads back
    /// to exactly it).
    public var float: Float? { if case .number(let t) = self { Float(t) } else { nil } }
    public var int: Int? {
        if case .number(let t) = self { return Int(t) ?? Double(t).flatMap { $0 == $0.rounded() ? Int(exactly: $0) : nil } }
        return nil
    }

    /// A float32 as its shortest round-tripping decimal; non-finite values become null.
    public static func float(_ x: Float) -> JSONValue { x.isFinite ? .number("\(x)") : .null }
    public static func double(_ x: Double) -> JSONValue { x.isFinite ? .number("\(x)") : .null }
    public static func floats(_ xs: [Float]) -> JSONValue { .array(xs.map(JSONValue.float)) }

    /// Compact JSON text; `indent` > 0 pretty-prints (arrays of numbers stay on one line).
    public func render(indent: Int = 0) -> String {
        var out = ""
        write(&out, indent: indent, level: 0)
        return out
    }

    private func write(_ out: inout String, indent: Int, level: Int) {
        let pad = indent > 0 ? "\n" + String(repeating: " ", count: indent * (level + 1)) : ""
        let close = indent > 0 ? "\n" + String(repeating: " ", count: indent * level) : ""
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let t): out += t
        case .string(let s): out += JSONValue.quote(s)
        case .array(let items):
            let flat = indent == 0 || items.allSatisfy { if case .number = $0 { true } else { $0 == .null } }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += flat ? (indent > 0 ? ", " : ",") : "," }
                if !flat { out += pad }
                item.write(&out, indent: indent, level: level + 1)
            }
            if !flat && !items.isEmpty { out += close }
            out += "]"
        case .object(let entries):
            out += "{"
            for (i, (k, v)) in entries.enumerated() {
                if i > 0 { out += "," }
                out += pad + JSONValue.quote(k) + (indent > 0 ? ": " : ":")
                v.write(&out, indent: indent, level: level + 1)
            }
            if !entries.isEmpty { out += close }
            out += "}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

/// Why a JSON text could not be read, with its line and column.
public struct JSONReadError: Error, CustomStringConvertible {
    public let message: String
    public let line: Int
    public let column: Int
    public var description: String { "\(message) at line \(line), column \(column)" }
}

extension JSONValue {
    /// Reads a whole JSON document.
    public static func parse(_ text: String) throws -> JSONValue {
        var reader = JSONReader(Array(text.utf8))
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.atEnd else { throw reader.error("unexpected text after the JSON value") }
        return value
    }
}

private struct JSONReader {
    let bytes: [UInt8]
    var i = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { i >= bytes.count }

    func error(_ message: String) -> JSONReadError {
        var line = 1, column = 1
        for b in bytes.prefix(i) { if b == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 } }
        return JSONReadError(message: message, line: line, column: column)
    }

    mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    mutating func expect(_ word: String) throws {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw error("expected \(word)") }
        i += w.count
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < 512 else { throw error("nesting is too deep") }
        guard i < bytes.count else { throw error("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var entries: [(String, JSONValue)] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(entries) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try string()
                skipSpace()
                try expect(":")
                skipSpace()
                entries.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard i < bytes.count else { throw error("unterminated object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(entries) }
                throw error("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw error("unterminated array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw error("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        default: return try number()
        }
    }

    mutating func number() throws -> JSONValue {
        let start = i
        let allowed = Set("+-0123456789.eE".utf8)
        while i < bytes.count, allowed.contains(bytes[i]) { i += 1 }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard !text.isEmpty, Double(text) != nil else { i = start; throw error("invalid value") }
        return .number(text)
    }

    mutating func string() throws -> String {
        i += 1
        var out: [UInt8] = []
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            if b == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            guard b == UInt8(ascii: "\\") else { out.append(b); continue }
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard i + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16)
                else { throw error("invalid \\u escape") }
                i += 4
                var scalar = code
                // A surrogate pair encodes one scalar above U+FFFF.
                if (0xD800..<0xDC00).contains(code), i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"),
                   bytes[i + 1] == UInt8(ascii: "u"),
                   let low = UInt32(String(decoding: bytes[i + 2..<i + 6], as: UTF8.self), radix: 16),
                   (0xDC00..<0xE000).contains(low) {
                    scalar = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                out.append(contentsOf: Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8))
            default: out.append(e)
            }
        }
        throw error("unterminated string")
    }
}
