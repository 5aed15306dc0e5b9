/// The JSON a safetensors header needs, parsed and printed by hand: Foundation's
/// JSONSerialization forgets key order, merges duplicate keys silently, and turns large
/// integers into doubles, while a header must be checked for exactly those.
enum HeaderJSON: Equatable {
    case object([(key: String, value: HeaderJSON)])
    case array([HeaderJSON])
    case string(String)
    /// The number's text, as written; headers only need exact non-negative integers.
    case number(String)
    case bool(Bool)
    case null

    static func == (a: HeaderJSON, b: HeaderJSON) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.array(let x), .array(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.bool(let x), .bool(let y)): x == y
        case (.null, .null): true
        default: false
        }
    }

    /// The value as an exact unsigned integer, when it is written as one.
    var unsignedInteger: UInt64? {
        guard case .number(let text) = self, !text.isEmpty,
              text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return UInt64(text)
    }

    // MARK: Printing (compact, the way serde_json prints, so headers match the reference byte for byte)

    static func quoted(_ s: String) -> String {
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

    // MARK: Parsing

    struct ParseError: Error { var message: String }

    /// Parses one JSON value filling `bytes` (surrounding whitespace allowed).
    static func parse(_ bytes: [UInt8]) throws(ParseError) -> HeaderJSON {
        var parser = Parser(bytes: bytes)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.at >= bytes.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var at = 0
        // Deeply nested input must not exhaust the stack; real headers nest 3 levels.
        static let maxDepth = 64

        func error(_ message: String) -> ParseError {
            ParseError(message: "\(message) at byte \(at) of the header")
        }

        mutating func skipSpace() {
            while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
        }

        mutating func expect(_ literal: String) throws(ParseError) {
            for b in literal.utf8 {
                guard at < bytes.count, bytes[at] == b else { throw error("expected '\(literal)'") }
                at += 1
            }
        }

        mutating func value(depth: Int) throws(ParseError) -> HeaderJSON {
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

        mutating func object(depth: Int) throws(ParseError) -> HeaderJSON {
            at += 1
            var entries: [(key: String, value: HeaderJSON)] = []
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
                    throw error("duplicate key \(HeaderJSON.quoted(key))")
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

        mutating func array(depth: Int) throws(ParseError) -> HeaderJSON {
            at += 1
            var items: [HeaderJSON] = []
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

        mutating func number() throws(ParseError) -> HeaderJSON {
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

        mutating func string() throws(ParseError) -> String {
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

        mutating func hex4() throws(ParseError) -> UInt32 {
            let isHex: (UInt8) -> Bool = { (0x30...0x39).contains($0) || (0x41...0x46).contains($0 & 0xDF) }
            guard at + 4 <= bytes.count, bytes[at..<at + 4].allSatisfy(isHex),
                  let v = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16)
            else { throw error("invalid \\u escape") }
            at += 4
            return v
        }

        mutating func unicodeEscape() throws(ParseError) -> Unicode.Scalar {
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
