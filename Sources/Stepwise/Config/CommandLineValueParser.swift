/// Reads a value written on the command line (`--cfg-options optimizer.lr=1e-3`,
/// `pipeline=[a,b]`, `{type: Adam, lr: 1e-3}`). It accepts Python literal syntax, but
/// like MMEngine's `DictAction` a bare word is a string and top-level commas make a
/// list, so shells need no extra quoting. Bare words read as:
/// `true`/`false` in any case -> bool; `None`, `null`, `~` -> None; Python int and
/// float syntax (and `inf`, `nan`) -> numbers; anything else -> the trimmed string.
struct CommandLineValueParser {
    private let source: SourceText
    private var i: Int
    private var depth = 0

    static let maxNesting = 200

    init(_ source: SourceText, at start: Int = 0) {
        self.source = source
        self.i = start
    }

    private func peek(_ k: Int = 0) -> Unicode.Scalar? { source[i + k] }

    private mutating func skipWhitespace() {
        while let c = peek(), c.properties.isWhitespace { i += 1 }
    }

    private func fail(_ message: String, at offset: Int? = nil) -> ConfigError {
        source.error(.syntax, message, at: offset ?? i)
    }

    private func found() -> String { peek()?.displayed ?? "end of input" }

    /// The rest of the text as one value.
    mutating func parseAll() throws -> ConfigValue {
        skipWhitespace()
        guard peek() != nil else { return .string("") }
        var items = [try value(stops: [","])]
        var sawComma = false
        skipWhitespace()
        while peek() == "," {
            sawComma = true
            i += 1
            skipWhitespace()
            if peek() == nil { break }
            items.append(try value(stops: [","]))
            skipWhitespace()
        }
        guard peek() == nil else { throw fail("unexpected \(found())") }
        return sawComma ? .list(items) : items[0]
    }

    private mutating func value(stops: Set<Unicode.Scalar>) throws -> ConfigValue {
        skipWhitespace()
        guard let c = peek() else { throw fail("expected a value, found end of input") }
        switch c {
        case "{": return .dict(try dict())
        case "[": return .list(try sequence(closer: "]"))
        case "(": return .list(try sequence(closer: ")"))
        case "'", "\"": return .string(try quoted())
        default:
            if stringPrefixLength() != nil { return .string(try quoted()) }
            if isDictCall() { return .dict(try dictCall()) }
            return try bare(stops: stops)
        }
    }

    private func stringPrefixLength() -> Int? {
        for n in [1, 2] {
            guard let q = peek(n), q == "'" || q == "\"", i + n <= source.count else { continue }
            if PythonLiteralScanner.stringPrefixes.contains(source.text(i..<i + n).lowercased()) { return n }
        }
        return nil
    }

    private func isDictCall() -> Bool {
        guard i + 4 <= source.count, source.text(i..<i + 4) == "dict" else { return false }
        var k = 4
        while let c = peek(k), c == " " || c == "\t" { k += 1 }
        return peek(k) == "("
    }

    private mutating func quoted() throws -> String {
        var out = ""
        // Adjacent literals concatenate, as in Python.
        repeat {
            let start = i
            var prefix = ""
            if let p = stringPrefixLength() { prefix = source.text(i..<i + p); i += p }
            var scanner = PythonLiteralScanner(source, at: i)
            out += try scanner.scanString(prefix: prefix, start: start)
            i = scanner.i
            skipWhitespace()
        } while peek() == "'" || peek() == "\"" || stringPrefixLength() != nil
        return out
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= Self.maxNesting else { throw fail("more than \(Self.maxNesting) nested brackets") }
    }

    private mutating func sequence(closer: Unicode.Scalar) throws -> [ConfigValue] {
        try enter()
        i += 1
        var items: [ConfigValue] = []
        while true {
            skipWhitespace()
            if peek() == closer { break }
            items.append(try value(stops: [",", closer]))
            skipWhitespace()
            if peek() == "," { i += 1; continue }
            guard peek() == closer else { throw fail("expected ',' or '\(Character(closer))', found \(found())") }
        }
        i += 1
        depth -= 1
        return items
    }

    private mutating func dict() throws -> ConfigDict {
        try enter()
        var dict = ConfigDict(origin: source.origin(i))
        i += 1
        while true {
            skipWhitespace()
            if peek() == "}" { break }
            let keyAt = i
            let key: String
            switch try value(stops: [":", "=", ",", "}"]) {
            case .string(let s): key = s
            case .int, .float, .bool, .null:
                key = source.text(keyAt..<i).trimmingWhitespace
            default: throw fail("a dict key must be a string", at: keyAt)
            }
            skipWhitespace()
            guard peek() == ":" || peek() == "=" else { throw fail("expected ':' after the key '\(key)', found \(found())") }
            i += 1
            dict[key, origin: source.origin(keyAt)] = try value(stops: [",", "}"])
            skipWhitespace()
            if peek() == "," { i += 1; continue }
            guard peek() == "}" else { throw fail("expected ',' or '}', found \(found())") }
        }
        i += 1
        depth -= 1
        return dict
    }

    private mutating func dictCall() throws -> ConfigDict {
        try enter()
        var dict = ConfigDict(origin: source.origin(i))
        while peek() != "(" { i += 1 }
        i += 1
        while true {
            skipWhitespace()
            if peek() == ")" { break }
            let keyAt = i
            while let c = peek(), c.isIdentifierContinue { i += 1 }
            let key = source.text(keyAt..<i)
            skipWhitespace()
            guard !key.isEmpty, peek() == "=" else { throw fail("dict(...) takes key=value arguments", at: keyAt) }
            i += 1
            dict[key, origin: source.origin(keyAt)] = try value(stops: [",", ")"])
            skipWhitespace()
            if peek() == "," { i += 1; continue }
            guard peek() == ")" else { throw fail("expected ',' or ')', found \(found())") }
        }
        i += 1
        depth -= 1
        return dict
    }

    private mutating func bare(stops: Set<Unicode.Scalar>) throws -> ConfigValue {
        let start = i
        while let c = peek(), !stops.contains(c), !(stops.count > 1 && "[](){}".unicodeScalars.contains(c)) { i += 1 }
        let word = source.text(start..<i).trimmingWhitespace
        guard !word.isEmpty else { throw fail("expected a value, found \(found())", at: start) }
        return try Self.resolveBare(word, source: source, at: start)
    }

    static func resolveBare(_ word: String, source: SourceText, at offset: Int) throws -> ConfigValue {
        switch word.lowercased() {
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: break
        }
        if ["None", "null", "Null", "NULL", "~"].contains(word) { return .null }
        var body = Substring(word)
        var negative = false
        while let f = body.first, f == "-" || f == "+" {
            if f == "-" { negative.toggle() }
            body = body.dropFirst()
        }
        if ["inf", "infinity"].contains(body.lowercased()) { return .float(negative ? -.infinity : .infinity) }
        if body.lowercased() == "nan" { return .float(.nan) }
        guard let first = body.unicodeScalars.first,
              first.isASCIIDigit || (first == "." && body.count > 1) else { return .string(word) }
        // int("007") is 7 in Python, though 007 is no Python literal.
        if !body.isEmpty, body.allSatisfy({ $0.isASCII && $0.isNumber }) {
            guard let m = UInt64(body), m <= UInt64(Int64.max) + (negative ? 1 : 0) else {
                throw source.error(.syntax, "integer \(word) does not fit in 64 bits", at: offset)
            }
            return .int(negative ? (m == UInt64(Int64.max) + 1 ? Int64.min : -Int64(m)) : Int64(m))
        }
        let numberSource = SourceText(String(body), file: source.file)
        var scanner = PythonLiteralScanner(numberSource, at: 0)
        let n: PythonLiteralScanner.Number
        do {
            n = try scanner.scanNumber()
        } catch let e as ConfigError where e.message.hasSuffix("64 bits") {
            throw source.error(.syntax, "integer \(word) does not fit in 64 bits", at: offset)
        } catch {
            return .string(word)  // not a number, so a word
        }
        guard scanner.i == numberSource.count else { return .string(word) }
        switch n {
        case .float(let d): return .float(negative ? -d : d)
        case .int(let m):
            guard m <= UInt64(Int64.max) + (negative ? 1 : 0) else {
                throw source.error(.syntax, "integer \(word) does not fit in 64 bits", at: offset)
            }
            if negative { return .int(m == UInt64(Int64.max) + 1 ? Int64.min : -Int64(m)) }
            return .int(Int64(m))
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        let u = unicodeScalars
        guard let a = u.firstIndex(where: { !$0.properties.isWhitespace }),
              let b = u.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(u[a...b])
    }
}
