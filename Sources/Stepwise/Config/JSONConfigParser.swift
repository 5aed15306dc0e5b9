/// Reads a JSON config keeping what Foundation's JSONSerialization loses: key order,
/// ints apart from floats, and each key's line and column. Accepts what Python's `json`
/// module (MMEngine's reader) accepts, including `NaN` and `Infinity`; a repeated key
/// keeps its first position and takes the last value, as a Python dict does.
struct JSONConfigParser {
    private let source: SourceText
    private var i = 0
    private var depth = 0

    static let maxNesting = 512

    static func parse(_ source: SourceText) throws -> ConfigDict {
        var parser = JSONConfigParser(source: source)
        parser.skipWhitespace()
        guard parser.peek() == "{" else {
            if parser.peek() == nil { return ConfigDict(origin: ConfigOrigin(file: source.file)) }
            throw source.error(.type, "a JSON config must be an object ({...}) at the top level", at: parser.i)
        }
        var top = try parser.object()
        parser.skipWhitespace()
        if let c = parser.peek() {
            throw source.error(.syntax, "extra data after the top-level object: \(c.displayed)", at: parser.i)
        }
        top.origin = ConfigOrigin(file: source.file)
        return top
    }

    private init(source: SourceText) { self.source = source }

    private func peek(_ k: Int = 0) -> Unicode.Scalar? { source[i + k] }

    private mutating func skipWhitespace() {
        while let c = peek(), c == " " || c == "\t" || c == "\n" { i += 1 }
    }

    private func fail(_ message: String, at offset: Int? = nil) -> ConfigError {
        source.error(.syntax, message, at: offset ?? i)
    }

    private func found() -> String { peek()?.displayed ?? "end of file" }

    private mutating func value() throws -> ConfigValue {
        skipWhitespace()
        guard let c = peek() else { throw fail("expected a value, found end of file") }
        switch c {
        case "{": return .dict(try object())
        case "[": return .list(try array())
        case "\"": return .string(try string())
        case "-", "0"..."9": return try number()
        case BaseReference.marker:
            guard let text = BaseReference.scan(source, at: &i) else { throw fail("invalid character \(c.displayed)") }
            return .string(text)
        default:
            for (word, v) in [("true", ConfigValue.bool(true)), ("false", .bool(false)), ("null", .null),
                              ("NaN", .float(.nan)), ("Infinity", .float(.infinity))] where matches(word) {
                i += word.unicodeScalars.count
                return v
            }
            throw fail("expected a value, found \(found())")
        }
    }

    private func matches(_ word: String) -> Bool {
        for (k, s) in word.unicodeScalars.enumerated() where peek(k) != s { return false }
        return true
    }

    private mutating func enter() throws {
        depth += 1
        if depth > Self.maxNesting { throw fail("nesting deeper than \(Self.maxNesting) levels") }
    }

    private mutating func object() throws -> ConfigDict {
        try enter()
        var dict = ConfigDict(origin: source.origin(i))
        i += 1
        skipWhitespace()
        if peek() == "}" { i += 1; depth -= 1; return dict }
        while true {
            skipWhitespace()
            let keyAt = i
            guard peek() == "\"" else { throw fail("expected a key in double quotes, found \(found())") }
            let key = try string()
            skipWhitespace()
            guard peek() == ":" else { throw fail("expected ':' after the key, found \(found())") }
            i += 1
            dict[key, origin: source.origin(keyAt)] = try value()
            skipWhitespace()
            if peek() == "," { i += 1; continue }
            if peek() == "}" { i += 1; depth -= 1; return dict }
            throw fail("expected ',' or '}', found \(found())")
        }
    }

    private mutating func array() throws -> [ConfigValue] {
        try enter()
        i += 1
        var items: [ConfigValue] = []
        skipWhitespace()
        if peek() == "]" { i += 1; depth -= 1; return items }
        while true {
            items.append(try value())
            skipWhitespace()
            if peek() == "," { i += 1; continue }
            if peek() == "]" { i += 1; depth -= 1; return items }
            throw fail("expected ',' or ']', found \(found())")
        }
    }

    private mutating func string() throws -> String {
        let start = i
        i += 1
        var out = String.UnicodeScalarView()
        while true {
            guard let c = peek() else { throw fail("unterminated string", at: start) }
            i += 1
            switch c {
            case "\"": return String(out)
            case "\\":
                guard let e = peek() else { throw fail("unterminated string", at: start) }
                i += 1
                switch e {
                case "\"", "\\", "/": out.append(e)
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "t": out.append("\t")
                case "u": out.append(try unicodeEscape())
                default: throw fail("invalid escape \\\(Character(e))", at: i - 2)
                }
            case _ where c.value < 0x20:
                throw fail("control character \(c.displayed) in a string (escape it)", at: i - 1)
            default:
                out.append(c)
            }
        }
    }

    /// After `\u`: four hex digits, joining a surrogate pair when one follows. A lone
    /// surrogate (which Python keeps) has no Swift form and reads as U+FFFD.
    private mutating func unicodeEscape() throws -> Unicode.Scalar {
        let high = try hex4()
        if (0xD800..<0xDC00).contains(high), peek() == "\\", peek(1) == "u" {
            let save = i
            i += 2
            let low = try hex4()
            if (0xDC00..<0xE000).contains(low) {
                return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)) ?? "\u{FFFD}"
            }
            i = save
        }
        return Unicode.Scalar(high) ?? "\u{FFFD}"
    }

    private mutating func hex4() throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let d = peek(), d.isASCII, let h = UInt32(String(Character(d)), radix: 16) else {
                throw fail("invalid \\u escape: expected 4 hex digits")
            }
            v = v * 16 + h
            i += 1
        }
        return v
    }

    private mutating func number() throws -> ConfigValue {
        let start = i
        if peek() == "-" {
            i += 1
            if matches("Infinity") { i += 8; return .float(-.infinity) }
        }
        guard let first = peek(), first.isASCIIDigit else { throw fail("expected a digit after '-'", at: start) }
        i += 1
        if first != "0" { while peek()?.isASCIIDigit == true { i += 1 } }
        var isFloat = false
        if peek() == ".", peek(1)?.isASCIIDigit == true {
            isFloat = true
            i += 1
            while peek()?.isASCIIDigit == true { i += 1 }
        }
        if let e = peek(), e == "e" || e == "E" {
            var k = 1
            if let s = peek(1), s == "+" || s == "-" { k = 2 }
            if peek(k)?.isASCIIDigit == true {
                isFloat = true
                i += k
                while peek()?.isASCIIDigit == true { i += 1 }
            }
        }
        let text = source.text(start..<i)
        if isFloat {
            guard let d = Double(text) else { throw fail("invalid number \(text)", at: start) }
            return .float(d)
        }
        guard let v = Int64(text) else { throw fail("integer \(text) does not fit in 64 bits", at: start) }
        return .int(v)
    }
}
