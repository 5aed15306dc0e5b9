/// A config's text as Unicode scalars plus its line starts, so the hand-written readers
/// report 1-based lines and columns the way libyaml does (columns count scalars).
struct SourceText {
    let file: String
    let scalars: [Unicode.Scalar]
    private let lineStarts: [Int]

    init(_ text: String, file: String) {
        self.file = file
        // Universal newlines, as Python reads source: "\r\n" and a lone "\r" end a line.
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.unicodeScalars.count)
        var starts = [0]
        var previousWasCR = false
        // A byte-order mark is an encoding artifact, not config text.
        let body = text.unicodeScalars.dropFirst(text.unicodeScalars.first == "\u{FEFF}" ? 1 : 0)
        for s in body {
            if s == "\n" && previousWasCR { previousWasCR = false; continue }
            previousWasCR = s == "\r"
            out.append(s == "\r" ? "\n" : s)
            if out.last == "\n" { starts.append(out.count) }
        }
        scalars = out
        lineStarts = starts
    }

    var count: Int { scalars.count }

    subscript(_ i: Int) -> Unicode.Scalar? { i >= 0 && i < scalars.count ? scalars[i] : nil }

    func text(_ range: Range<Int>) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars[range])
        return String(s)
    }

    func location(_ offset: Int) -> (line: Int, column: Int) {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return (lo + 1, offset - lineStarts[lo] + 1)
    }

    func origin(_ offset: Int) -> ConfigOrigin {
        let (line, column) = location(offset)
        return ConfigOrigin(file: file, line: line, column: column)
    }

    func error(_ kind: ConfigError.Kind, _ message: String, at offset: Int) -> ConfigError {
        ConfigError(kind, message, at: origin(offset))
    }
}

extension Unicode.Scalar {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
    var isIdentifierStart: Bool { self == "_" || properties.isXIDStart }
    var isIdentifierContinue: Bool { self == "_" || properties.isXIDContinue }

    /// How messages show a character: the character itself, or its code point when
    /// it would be invisible.
    var displayed: String {
        if value < 0x20 || value == 0x7F || properties.isWhitespace || value == 0xE000 {
            return "U+" + String(value, radix: 16, uppercase: true).leftPadded(to: 4)
        }
        return "'\(Character(self))'"
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
