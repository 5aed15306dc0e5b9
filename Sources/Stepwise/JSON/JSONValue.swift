import Foundation

/// JSON as Stepwise reads and writes it, by hand, because Foundation's JSONSerialization
/// loses what matters here: the order of object keys (a conformance case's `params` order
/// is the parameter order; a safetensors header is checked in order), duplicate keys
/// (merged silently; a header must refuse them), and the exact text of numbers (a float32
/// is read as a float32, never through a double; a header's offsets are exact integers).
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

    /// The value as an exact unsigned integer, when it is written as one.
    public var unsignedInteger: UInt64? {
        guard case .number(let text) = self, !text.isEmpty,
              text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return UInt64(text)
    }

    /// A JSON string literal, escaped the way serde_json prints (safetensors headers match
    /// the reference byte for byte).
    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Why a JSON text could not be read, and where.
public struct JSONReadError: Error, CustomStringConvertible {
    public let message: String
    /// The byte offset into the text.
    public let offset: Int
    public let line: Int
    public let column: Int
    public var description: String { "\(message) at line \(line), column \(column)" }
}

extension JSONValue {
    /// Reads one JSON value filling `bytes` (surrounding whitespace allowed). Strict:
    /// duplicate keys, leading zeros, control characters in strings, lone surrogates and
    /// nesting deeper than 64 levels are errors.
    public static func parse(_ bytes: [UInt8]) throws(JSONReadError) -> JSONValue {
        var parser = Parser(bytes: bytes)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.at >= bytes.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    public static func parse(_ text: String) throws(JSONReadError) -> JSONValue { try parse(Array(text.utf8)) }
fileprivate struct Parser {
    let bytes: [UInt8]
    var at = 0
    // Deeply nested input must not exhaust the stack; headers nest 3 levels, cases 5.
    static let maxDepth = 64

    func error(_ message: String) -> JSONReadError {
        var line = 1, column = 1
        for b in bytes.prefix(at) { if b == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 } }
        return JSONReadError(message: message, offset: at, line: line, column: column)
    }

    mutating func skipSpace() {
        while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
    }

    mutating func expect(_ literal: String) throws(JSONReadError) {
        for b in literal.utf8 {
            guard at < bytes.count, bytes[at] == b else { throw error("expected '\(literal)'") }
            at += 1
        }
    }

    mutating func value(depth: Int) throws(JSONReadError) -> JSONValue {
        guard depth < Self.maxDepth else { throw error("JSON nested more than \(Self.maxDepth) levels") }
        guard at < bytes.count else { throw error("unexpected end of the header") }
        switch bytes[at] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character '\(Character(Unicode.Scalar(bytes[at])))'")
        }
    }

    mutating func object(depth: Int) throws(JSONReadError) -> JSONValue {
        at += 1
        var entries: [(String, JSONValue)] = []
        var seen = Set<String>()
        skipSpace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(entries) }
        while true {
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw error("expected a key string") }
            let keyStart = at
            let key = try string()
            guard seen.insert(key).inserted else {
                at = keyStart
                throw error("duplicate key \(JSONValue.quote(key))")
            }
            skipSpace()
            try expect(":")
            skipSpace()
            entries.append((key, try value(depth: depth + 1)))
            skipSpace()
            guard at < bytes.count else { throw error("unterminated object") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            if bytes[at] == UInt8(ascii: "}") { at += 1; return .object(entries) }
            throw error("expected ',' or '}'")
        }
    }

    mutating func array(depth: Int) throws(JSONReadError) -> JSONValue {
        at += 1
        var items: [JSONValue] = []
        skipSpace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard at < bytes.count else { throw error("unterminated array") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            if bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
            throw error("expected ',' or ']'")
        }
    }

    mutating func number() throws(JSONReadError) -> JSONValue {
        let start = at
        func digits(_ p: inout Parser) -> Int {
            let s = p.at
            while p.at < p.bytes.count, p.bytes[p.at] >= 0x30, p.bytes[p.at] <= 0x39 { p.at += 1 }
            return p.at - s
        }
        if bytes[at] == UInt8(ascii: "-") { at += 1 }
        let intStart = at
        let n = digits(&self)
        guard n > 0 else { throw error("malformed number") }
        if n > 1, bytes[intStart] == UInt8(ascii: "0") { throw error("number with a leading zero") }
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            at += 1
            guard digits(&self) > 0 else { throw error("malformed number") }
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard digits(&self) > 0 else { throw error("malformed number") }
        }
        return .number(String(decoding: bytes[start..<at], as: UTF8.self))
    }

    mutating func string() throws(JSONReadError) -> String {
        at += 1
        var out = String.UnicodeScalarView()
        var runStart = at
        func flushRun(_ p: Parser, _ out: inout String.UnicodeScalarView) {
            out.append(contentsOf: String(decoding: p.bytes[runStart..<p.at], as: UTF8.self).unicodeScalars)
        }
        while at < bytes.count {
            let b = bytes[at]
            if b == UInt8(ascii: "\"") {
                flushRun(self, &out)
                at += 1
                return String(out)
            }
            if b < 0x20 { throw error("control character inside a string") }
            if b != UInt8(ascii: "\\") { at += 1; continue }
            flushRun(self, &out)
            at += 1
            guard at < bytes.count else { break }
            let e = bytes[at]
            at += 1
            switch e {
            case UInt8(ascii: "\""): out.append("\"")
            case UInt8(ascii: "\\"): out.append("\\")
            case UInt8(ascii: "/"): out.append("/")
            case UInt8(ascii: "b"): out.append("\u{08}")
            case UInt8(ascii: "f"): out.append("\u{0C}")
            case UInt8(ascii: "n"): out.append("\n")
            case UInt8(ascii: "r"): out.append("\r")
            case UInt8(ascii: "t"): out.append("\t")
            case UInt8(ascii: "u"): out.append(try unicodeEscape())
            default: throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
            }
            runStart = at
        }
        throw error("unterminated string")
    }

    mutating func hex4() throws(JSONReadError) -> UInt32 {
        let isHex: (UInt8) -> Bool = { (0x30...0x39).contains($0) || (0x41...0x46).contains($0 & 0xDF) }
        guard at + 4 <= bytes.count, bytes[at..<at + 4].allSatisfy(isHex),
              let v = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16)
        else { throw error("invalid \\u escape") }
        at += 4
        return v
    }

    mutating func unicodeEscape() throws(JSONReadError) -> Unicode.Scalar {
        let first = try hex4()
        if (0xDC00...0xDFFF).contains(first) { throw error("lone low surrogate in \\u escape") }
        if (0xD800...0xDBFF).contains(first) {
            guard at + 2 <= bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u")
            else { throw error("lone high surrogate in \\u escape") }
            at += 2
            let second = try hex4()
            guard (0xDC00...0xDFFF).contains(second) else { throw error("invalid surrogate pair") }
            let combined = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            guard let s = Unicode.Scalar(combined) else { throw error("invalid surrogate pair") }
            return s
        }
        guard let s = Unicode.Scalar(first) else { throw error("invalid \\u escape") }
        return s
    }
}
}
