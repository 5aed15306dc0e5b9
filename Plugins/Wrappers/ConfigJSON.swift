import StepwiseABI
import StepwiseKit

/// A config value handed to a JSON-typed hyperparameter (`clip_grad`, `loss_scale`).
/// The host passes dicts and lists as JSON text, numbers as numbers and strings as their
/// raw text; this reads all of them back into one small value model.
indirect enum ConfigJSON: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case list([ConfigJSON])
    case dict([(String, ConfigJSON)])

    static func == (a: ConfigJSON, b: ConfigJSON) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.list(let x), .list(let y)): x == y
        case (.dict(let x), .dict(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    var number: Double? { if case .number(let x) = self { x } else { nil } }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var dict: [(String, ConfigJSON)]? { if case .dict(let d) = self { d } else { nil } }

    /// Python-like rendering for messages.
    var rendered: String {
        switch self {
        case .null: "None"
        case .bool(let b): b ? "True" : "False"
        case .number(let x): x == x.rounded() && abs(x) < 1e15 ? "\(Int64(x))" : "\(x)"
        case .string(let s): "'\(s)'"
        case .list(let l): "[" + l.map(\.rendered).joined(separator: ", ") + "]"
        case .dict(let d): "{" + d.map { "'\($0.0)': \($0.1.rendered)" }.joined(separator: ", ") + "}"
        }
    }

    /// Reads hyperparameter `index` of `values`, whatever form the host gave it.
    static func read(_ values: Values, _ index: Int) -> ConfigJSON {
        let v = values[index]
        switch v.type {
        case STEPWISE_TYPE_NONE: return .null
        case STEPWISE_TYPE_BOOL: return .bool(v.b)
        case STEPWISE_TYPE_FLOAT: return .number(v.f)
        case STEPWISE_TYPE_INT: return .number(Double(v.i))
        case STEPWISE_TYPE_STRING, STEPWISE_TYPE_JSON:
            let text = v.s.map { String(cString: $0) } ?? ""
            var parser = Parser(Array(text.utf8))
            if let parsed = parser.document() { return parsed }
            return .string(text)
        case STEPWISE_TYPE_FLOAT_VECTOR:
            return .list((0..<Int(v.count)).map { .number(v.fv[$0]) })
        case STEPWISE_TYPE_INT_VECTOR:
            return .list((0..<Int(v.count)).map { .number(Double(v.iv[$0])) })
        default: return .null
        }
    }

    /// A strict JSON reader, plus the NaN / Infinity literals the host writes for
    /// non-finite floats. Returns nil on anything malformed.
    struct Parser {
        let bytes: [UInt8]
        var i = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func document() -> ConfigJSON? {
            guard let v = value(depth: 0) else { return nil }
            skipSpace()
            return i == bytes.count ? v : nil
        }

        private mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        private mutating func literal(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { return false }
            i += w.count
            return true
        }

        private mutating func value(depth: Int) -> ConfigJSON? {
            guard depth < 64 else { return nil }
            skipSpace()
            guard i < bytes.count else { return nil }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var entries: [(String, ConfigJSON)] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .dict(entries) }
                while true {
                    skipSpace()
                    guard let key = string() else { return nil }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
                    i += 1
                    guard let v = value(depth: depth + 1) else { return nil }
                    entries.append((key, v))
                    skipSpace()
                    guard i < bytes.count else { return nil }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return .dict(entries) }
                    return nil
                }
            case UInt8(ascii: "["):
                i += 1
                var items: [ConfigJSON] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .list(items) }
                while true {
                    guard let v = value(depth: depth + 1) else { return nil }
                    items.append(v)
                    skipSpace()
                    guard i < bytes.count else { return nil }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return .list(items) }
                    return nil
                }
            case UInt8(ascii: "\""):
                return string().map(ConfigJSON.string)
            default:
                if literal("true") { return .bool(true) }
                if literal("false") { return .bool(false) }
                if literal("null") { return .null }
                if literal("NaN") { return .number(.nan) }
                if literal("Infinity") { return .number(.infinity) }
                if literal("-Infinity") { return .number(-.infinity) }
                return number()
            }
        }

        private mutating func number() -> ConfigJSON? {
            let start = i
            let allowed = Set("+-0123456789.eE".utf8)
            while i < bytes.count, allowed.contains(bytes[i]) { i += 1 }
            guard i > start, let x = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else { return nil }
            return .number(x)
        }

        private mutating func string() -> String? {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
            var out: [UInt8] = []
            while i < bytes.count {
                let c = bytes[i]
                i += 1
                if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
                guard c == UInt8(ascii: "\\") else { out.append(c); continue }
                guard i < bytes.count else { return nil }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    guard i + 4 <= bytes.count,
                          let code = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16),
                          let scalar = Unicode.Scalar(code) else { return nil }
                    i += 4
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: out.append(e)
                }
            }
            return nil
        }
    }
}
