/// One token of a `.py` config.
struct PyToken {
    enum Kind: Equatable {
        case name(String)
        case int(UInt64)
        case float(Double)
        case string(String)
        /// A `{{_base_.x}}` placeholder run (see `BaseReference`).
        case reference(String)
        case op(String)
        /// An indented statement; the parser reports it only if nothing earlier is wrong,
        /// so `def f():` is refused as a `def` rather than for its indented body.
        case indent
        case newline
        case end
    }
    var kind: Kind
    var offset: Int

    var describe: String {
        switch kind {
        case .name(let n): "'\(n)'"
        case .int, .float: "a number"
        case .string: "a string"
        case .reference: "a {{_base_}} reference"
        case .op(let o): "'\(o)'"
        case .indent: "indentation"
        case .newline: "end of line"
        case .end: "end of file"
        }
    }
}

/// Splits a `.py` config into tokens the way Python's tokenizer does: logical lines
/// end at newlines outside brackets, `\` joins lines, comments vanish, and a statement
/// may not be indented.
struct PythonLexer {
    private let source: SourceText
    private var i = 0
    private var tokens: [PyToken] = []
    private var brackets: [(Unicode.Scalar, Int)] = []
    private var atLineStart = true

    /// Python's own limit on nested brackets.
    static let maxNesting = 200

    private static let operators3: Set<String> = ["**=", "//=", ">>=", "<<=", "..."]
    private static let operators2: Set<String> = [
        "**", "//", "<<", ">>", "<=", ">=", "==", "!=", "->", ":=",
        "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=",
    ]
    private static let operators1 = Set("()[]{},:.;@=+-*/%&|^~<>".unicodeScalars)
    private static let closers: [Unicode.Scalar: Unicode.Scalar] = [")": "(", "]": "[", "}": "{"]

    init(_ source: SourceText) { self.source = source }

    static func tokenize(_ source: SourceText) throws -> [PyToken] {
        var lexer = PythonLexer(source)
        try lexer.run()
        return lexer.tokens
    }

    private func peek(_ k: Int = 0) -> Unicode.Scalar? { source[i + k] }

    private mutating func emit(_ kind: PyToken.Kind, at offset: Int) {
        tokens.append(PyToken(kind: kind, offset: offset))
    }

    private mutating func endLogicalLine(at offset: Int) {
        if let last = tokens.last, last.kind != .newline { emit(.newline, at: offset) }
    }

    private mutating func run() throws {
        while true {
            if atLineStart && brackets.isEmpty {
                let lineStart = i
                while let c = peek(), c == " " || c == "\t" || c == "\u{0C}" { i += 1 }
                atLineStart = false
                if let c = peek(), c != "\n", c != "#", i > lineStart { emit(.indent, at: i) }
            }
            while let c = peek(), c == " " || c == "\t" || c == "\u{0C}" { i += 1 }
            guard let c = peek() else {
                if let (open, at) = brackets.last {
                    throw source.error(.syntax, "'\(Character(open))' was never closed", at: at)
                }
                endLogicalLine(at: i)
                emit(.end, at: i)
                return
            }
            let start = i
            switch c {
            case "#":
                while let c = peek(), c != "\n" { i += 1 }
            case "\n":
                i += 1
                if brackets.isEmpty { endLogicalLine(at: start); atLineStart = true }
            case "\\":
                guard peek(1) == "\n" else {
                    throw source.error(.syntax, peek(1) == nil ? "unexpected end of file after line continuation"
                                       : "unexpected character after line continuation character", at: start)
                }
                i += 2
            case "'", "\"":
                var scanner = PythonLiteralScanner(source, at: i)
                let s = try scanner.scanString(prefix: "", start: start)
                i = scanner.i
                emit(.string(s), at: start)
            case BaseReference.marker:
                guard let text = BaseReference.scan(source, at: &i) else {
                    throw source.error(.syntax, "invalid character \(c.displayed)", at: start)
                }
                emit(.reference(text), at: start)
            case _ where c.isASCIIDigit || (c == "." && peek(1)?.isASCIIDigit == true):
                var scanner = PythonLiteralScanner(source, at: i)
                let n = try scanner.scanNumber()
                i = scanner.i
                switch n {
                case .int(let v): emit(.int(v), at: start)
                case .float(let d): emit(.float(d), at: start)
                }
            case _ where c.isIdentifierStart:
                while let c = peek(), c.isIdentifierContinue { i += 1 }
                let name = source.text(start..<i)
                if let q = peek(), q == "'" || q == "\"",
                   PythonLiteralScanner.stringPrefixes.contains(name.lowercased()) {
                    var scanner = PythonLiteralScanner(source, at: i)
                    let s = try scanner.scanString(prefix: name, start: start)
                    i = scanner.i
                    emit(.string(s), at: start)
                } else {
                    emit(.name(name), at: start)
                }
            default:
                try scanOperator(c, start: start)
            }
        }
    }

    private mutating func scanOperator(_ c: Unicode.Scalar, start: Int) throws {
        for width in [3, 2] {
            guard start + width <= source.count else { continue }
            let op = source.text(start..<start + width)
            if (width == 3 ? Self.operators3 : Self.operators2).contains(op) {
                i += width
                emit(.op(op), at: start)
                return
            }
        }
        guard Self.operators1.contains(c) else {
            throw source.error(.syntax, "invalid character \(c.displayed)", at: start)
        }
        if c == "(" || c == "[" || c == "{" {
            guard brackets.count < Self.maxNesting else {
                throw source.error(.syntax, "too many nested brackets (Python allows \(Self.maxNesting))", at: start)
            }
            brackets.append((c, start))
        } else if let open = Self.closers[c] {
            guard let (top, _) = brackets.last else {
                throw source.error(.syntax, "unmatched '\(Character(c))'", at: start)
            }
            guard top == open else {
                throw source.error(.syntax, "closing '\(Character(c))' does not match opening '\(Character(top))'", at: start)
            }
            brackets.removeLast()
        }
        i += 1
        emit(.op(String(Character(c))), at: start)
    }
}
