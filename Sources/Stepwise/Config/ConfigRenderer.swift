/// Writes a `ConfigDict` back out, in order, for `stepwise config show`. The YAML it
/// writes reads back (with `ConfigLoader`, and with PyYAML) as the same values: strings
/// that would read as something else are quoted, and floats always carry a dot.
public enum ConfigRenderer {
    /// Block-style YAML. With `origins`, each key's line ends in `# from file:line`.
    public static func yaml(_ dict: ConfigDict, origins: Bool = false) -> String {
        guard !dict.isEmpty else { return "{}\n" }
        var lines: [String] = []
        yamlDict(dict, indent: 0, origins: origins, into: &lines)
        return lines.joined(separator: "\n") + "\n"
    }

    /// JSON with two-space indents (lists of scalars on one line). Non-finite floats
    /// are written `NaN` / `Infinity`, as Python's json module writes and reads them.
    public static func json(_ dict: ConfigDict) -> String {
        var out = ""
        json(.dict(dict), indent: 0, into: &out)
        return out + "\n"
    }

    // MARK: YAML

    private static func comment(_ origin: ConfigOrigin?, _ enabled: Bool) -> String {
        guard enabled, let origin else { return "" }
        return "  # from \(origin.file)" + (origin.line.map { ":\($0)" } ?? "")
    }

    private static func isFlow(_ v: ConfigValue) -> Bool {
        switch v {
        case .dict(let d): d.isEmpty
        case .list(let l): l.allSatisfy { if case .dict(let d) = $0 { d.isEmpty } else if case .list(let x) = $0 { x.isEmpty } else { true } }
        default: true
        }
    }

    private static func yamlDict(_ d: ConfigDict, indent: Int, origins: Bool, into lines: inout [String]) {
        let pad = String(repeating: " ", count: indent)
        for e in d.entries {
            let head = pad + yamlString(e.key) + ":"
            if isFlow(e.value) {
                lines.append(head + " " + yamlFlow(e.value) + comment(e.origin, origins))
                continue
            }
            lines.append(head + comment(e.origin, origins))
            switch e.value {
            case .dict(let sub): yamlDict(sub, indent: indent + 2, origins: origins, into: &lines)
            case .list(let l): yamlList(l, indent: indent + 2, origins: origins, into: &lines)
            default: break
            }
        }
    }

    private static func yamlList(_ l: [ConfigValue], indent: Int, origins: Bool, into lines: inout [String]) {
        let pad = String(repeating: " ", count: indent)
        for item in l {
            if isFlow(item) {
                lines.append(pad + "- " + yamlFlow(item))
                continue
            }
            var sub: [String] = []
            switch item {
            case .dict(let d): yamlDict(d, indent: indent + 2, origins: origins, into: &sub)
            case .list(let x): yamlList(x, indent: indent + 2, origins: origins, into: &sub)
            default: break
            }
            // The first line of the nested block shares the dash's line.
            if let first = sub.first {
                sub[0] = pad + "- " + first.dropFirst(indent + 2)
            }
            lines += sub
        }
    }

    private static func yamlFlow(_ v: ConfigValue) -> String {
        switch v {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .int(let i): String(i)
        case .float(let d): yamlFloat(d)
        case .string(let s): yamlString(s)
        case .list(let l): "[" + l.map(yamlFlow).joined(separator: ", ") + "]"
        case .dict: "{}"
        }
    }

    static func yamlFloat(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
        var s = d.description
        // PyYAML needs a dot and a signed exponent: 1e-05 -> 1.0e-05.
        if let e = s.firstIndex(of: "e") {
            if !s[..<e].contains(".") { s.insert(contentsOf: ".0", at: e) }
            if let e2 = s.firstIndex(of: "e"), s[s.index(after: e2)] != "-", s[s.index(after: e2)] != "+" {
                s.insert("+", at: s.index(after: e2))
            }
        }
        return s
    }

    private static let plainSafe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./+-".unicodeScalars)

    /// Plain when it is unambiguous, else double-quoted with escapes.
    static func yamlString(_ s: String) -> String {
        let u = s.unicodeScalars
        if let first = u.first, first != "-", first != ".", u.allSatisfy(plainSafe.contains),
           (try? YAMLScalar.resolve(s)) == .string(s) {
            return s
        }
        var out = "\""
        for c in u {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where isYAMLPrintable(c): out.unicodeScalars.append(c)
            case _ where c.value <= 0xFFFF: out += "\\u" + String(c.value, radix: 16).leftPadded(to: 4)
            default: out += "\\U" + String(c.value, radix: 16).leftPadded(to: 8)
            }
        }
        return out + "\""
    }

    /// YAML's c-printable, minus the line-break characters a reader would fold.
    private static func isYAMLPrintable(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x20...0x7E, 0xA0...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: c.value != 0x2028 && c.value != 0x2029 && c.value != 0xFEFF
        default: false
        }
    }

    // MARK: JSON

    private static func json(_ v: ConfigValue, indent: Int, into out: inout String) {
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .float(let d):
            out += d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : d.description
        case .string(let s): out += JSONValue.quote(s)
        case .list(let l):
            if l.isEmpty { out += "[]"; return }
            if isFlow(v) {
                out += "["
                for (k, item) in l.enumerated() {
                    if k > 0 { out += ", " }
                    json(item, indent: indent, into: &out)
                }
                out += "]"
                return
            }
            let pad = String(repeating: " ", count: indent + 2)
            out += "[\n"
            for (k, item) in l.enumerated() {
                out += pad
                json(item, indent: indent + 2, into: &out)
                out += k + 1 < l.count ? ",\n" : "\n"
            }
            out += String(repeating: " ", count: indent) + "]"
        case .dict(let d):
            if d.isEmpty { out += "{}"; return }
            let pad = String(repeating: " ", count: indent + 2)
            out += "{\n"
            for (k, e) in d.entries.enumerated() {
                out += pad + JSONValue.quote(e.key) + ": "
                json(e.value, indent: indent + 2, into: &out)
                out += k + 1 < d.count ? ",\n" : "\n"
            }
            out += String(repeating: " ", count: indent) + "}"
        }
    }
}
