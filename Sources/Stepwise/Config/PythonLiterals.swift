/// Scans Python number and string literals, following the Python 3 tokenizer's rules
/// (underscores between digits, `0x`/`0o`/`0b`, `.5`, `5.`, `1e-3`, every quote form,
/// raw strings, escapes). Shared by the `.py` reader and the command-line value parser.
struct PythonLiteralScanner {
    enum Number: Equatable {
        /// An integer's magnitude; a leading minus is a separate operator in Python.
        case int(UInt64)
        case float(Double)
    }

    let source: SourceText
    var i: Int

    init(_ source: SourceText, at i: Int) { self.source = source; self.i = i }

    private func peek(_ k: Int = 0) -> Unicode.Scalar? { source[i + k] }

    // MARK: Numbers

    /// Scans a number starting at a digit, or at a '.' followed by a digit.
    mutating func scanNumber() throws -> Number {
        let start = i
        if peek() == "0", let p = peek(1), "xXoObB".unicodeScalars.contains(p) {
            let radix = p == "x" || p == "X" ? 16 : p == "o" || p == "O" ? 8 : 2
            i += 2
            let digits = try digitRun(start: start, radix: radix, leadingUnderscore: true)
            guard !digits.isEmpty else { throw invalid(start, "invalid \(radixName(radix)) literal") }
            try rejectSuffix(start)
            guard let v = UInt64(digits, radix: radix) else { throw tooLarge(start) }
            return .int(v)
        }
        let intPart = try digitRun(start: start, radix: 10, leadingUnderscore: false)
        var text = intPart
        var isFloat = false
        if peek() == "." {
            i += 1
            isFloat = true
            text += "." + (try digitRun(start: start, radix: 10, leadingUnderscore: false))
        }
        if let e = peek(), e == "e" || e == "E" {
            var k = 1
            if let s = peek(1), s == "+" || s == "-" { k = 2 }
            if peek(k)?.isASCIIDigit == true {
                text += "e"
                if k == 2, let sign = peek(1) { text.unicodeScalars.append(sign) }
                i += k
                text += try digitRun(start: start, radix: 10, leadingUnderscore: false)
                isFloat = true
            }
        }
        if let j = peek(), j == "j" || j == "J" {
            throw source.error(.unsupported, "unsupported Python: complex number literal", at: start)
        }
        try rejectSuffix(start)
        if !isFloat {
            if intPart.count > 1, intPart.first == "0", intPart.contains(where: { $0 != "0" }) {
                throw invalid(start, "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers")
            }
            guard let v = UInt64(intPart) else { throw tooLarge(start) }
            return .int(v)
        }
        // Overflow gives inf and underflow 0, as Python's float() does.
        guard let d = Double(text) else { throw invalid(start, "invalid decimal literal") }
        return .float(d)
    }

    /// digit (_? digit)*, returned without underscores. With `leadingUnderscore` an
    /// underscore may also come first (`0x_ff`).
    private mutating func digitRun(start: Int, radix: Int, leadingUnderscore: Bool) throws -> String {
        var out = ""
        var first = true
        while let c = peek() {
            if c == "_" && (!first || leadingUnderscore) {
                guard let n = peek(1), isDigit(n, radix) else {
                    throw invalid(start, "invalid \(radixName(radix)) literal")
                }
                i += 1
                continue
            }
            guard isDigit(c, radix) else { break }
            out.unicodeScalars.append(c)
            i += 1
            first = false
        }
        return out
    }

    private func isDigit(_ c: Unicode.Scalar, _ radix: Int) -> Bool {
        guard c.isASCII, let v = Int(String(Character(c)), radix: 16) else { return false }
        return v < radix
    }

    private func radixName(_ radix: Int) -> String {
        switch radix {
        case 16: "hexadecimal"
        case 8: "octal"
        case 2: "binary"
        default: "decimal"
        }
    }

    /// `1abc`, `0x1g`, `1_`: Python refuses a number running into a name.
    private func rejectSuffix(_ start: Int) throws {
        if let c = peek(), c.isIdentifierContinue {
            throw invalid(start, "invalid number literal: \(c.displayed) after the digits")
        }
    }

    private func invalid(_ at: Int, _ message: String) -> ConfigError {
        source.error(.syntax, message, at: at)
    }

    private func tooLarge(_ at: Int) -> ConfigError {
        source.error(.syntax, "integer literal does not fit in 64 bits", at: at)
    }

    // MARK: Strings

    /// The prefixes Python accepts before a quote (any case). Stepwise evaluates only
    /// `r` and `u`; bytes and f-strings are refused.
    static let stringPrefixes: Set<String> = ["r", "u", "b", "br", "rb", "f", "fr", "rf"]

    /// Scans a string literal whose prefix (possibly empty) starts at `start`; `i` is at
    /// the opening quote.
    mutating func scanString(prefix: String, start: Int) throws -> String {
        let p = prefix.lowercased()
        if p.contains("b") {
            throw source.error(.unsupported, "unsupported Python: bytes literal", at: start)
        }
        if p.contains("f") {
            throw source.error(.unsupported, "unsupported Python: f-string", at: start)
        }
        let raw = p.contains("r")
        guard let quote = peek() else { throw invalid(start, "unterminated string literal") }
        let triple = peek(1) == quote && peek(2) == quote
        i += triple ? 3 : 1
        var out = String.UnicodeScalarView()
        while true {
            guard let c = peek() else {
                throw invalid(start, triple ? "unterminated triple-quoted string literal" : "unterminated string literal")
            }
            if c == "\n" && !triple { throw invalid(start, "unterminated string literal") }
            if c == quote && (!triple || (peek(1) == quote && peek(2) == quote)) {
                i += triple ? 3 : 1
                return String(out)
            }
            guard c == "\\" else { out.append(c); i += 1; continue }
            guard let n = peek(1) else {
                throw invalid(start, triple ? "unterminated triple-quoted string literal" : "unterminated string literal")
            }
            if raw {
                // A backslash keeps the next character from closing the string, and both stay.
                out.append(c); out.append(n); i += 2
                continue
            }
            try scanEscape(n, into: &out)
        }
    }

    /// `i` is at the backslash; `n` follows it.
    private mutating func scanEscape(_ n: Unicode.Scalar, into out: inout String.UnicodeScalarView) throws {
        let at = i
        i += 2
        switch n {
        case "\n": break  // a backslash-newline joins the lines
        case "\\", "'", "\"": out.append(n)
        case "a": out.append("\u{07}")
        case "b": out.append("\u{08}")
        case "f": out.append("\u{0C}")
        case "n": out.append("\n")
        case "r": out.append("\r")
        case "t": out.append("\t")
        case "v": out.append("\u{0B}")
        case "0"..."7":
            var v = n.value - 48
            for _ in 0..<2 {
                guard let d = peek(), ("0"..."7").contains(d) else { break }
                v = v * 8 + d.value - 48
                i += 1
            }
            out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
        case "x", "u", "U":
            let width = n == "x" ? 2 : n == "u" ? 4 : 8
            var v: UInt32 = 0
            for _ in 0..<width {
                guard let d = peek(), d.isASCII, let h = UInt32(String(Character(d)), radix: 16) else {
                    throw source.error(.syntax, "truncated \\\(Character(n)) escape (expected \(width) hex digits)", at: at)
                }
                v = v * 16 + h
                i += 1
            }
            guard let s = Unicode.Scalar(v) else {
                throw source.error(.syntax, "\\\(Character(n)) escape is not a valid Unicode character", at: at)
            }
            out.append(s)
        case "N":
            throw source.error(.unsupported, "unsupported Python: \\N{...} escape; write the character itself or use \\u", at: at)
        default:
            // Python keeps unknown escapes as written.
            out.append("\\"); out.append(n)
        }
    }
}

/// Stand-ins for `{{_base_.key}}` references. The loader swaps each reference in the
/// text for a run of the same length (so later columns stay right) made of private-use
/// markers around an index; every reader turns a run into a string it can find again.
enum BaseReference {
    static let marker: Unicode.Scalar = "\u{E000}"

    /// The reference index a placeholder string stands for, if it is exactly one.
    static func index(of s: String) -> Int? {
        let u = s.unicodeScalars
        guard u.first == marker else { return nil }
        var digits = "", rest = u.dropFirst()
        while let d = rest.first, d.isASCIIDigit { digits.unicodeScalars.append(d); rest = rest.dropFirst() }
        guard !digits.isEmpty, !rest.isEmpty, rest.allSatisfy({ $0 == marker }) else { return nil }
        return Int(digits)
    }

    static func containsMarker(_ s: String) -> Bool { s.unicodeScalars.contains(marker) }

    /// Scans a placeholder run at `i` (at a marker): marker, digits, markers.
    static func scan(_ source: SourceText, at i: inout Int) -> String? {
        var k = i + 1
        while source[k]?.isASCIIDigit == true { k += 1 }
        guard k > i + 1, source[k] == marker else { return nil }
        while source[k] == marker { k += 1 }
        let text = source.text(i..<k)
        i = k
        return text
    }
}
