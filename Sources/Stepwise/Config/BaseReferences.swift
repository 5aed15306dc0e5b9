/// `{{_base_.key.path}}` references. MMEngine swaps each one in the file's *text* for a
/// quoted placeholder before parsing and, after parsing, replaces every value equal to
/// a placeholder with the referenced value from the combined bases. So a reference
/// works as a whole value (in any of the three formats, where `{{...}}` would not even
/// parse) and silently fails inside a longer string; Stepwise reports that case as an
/// error instead, and also accepts a reference written in quotes as the whole value.
struct BaseReferences {
    struct Reference { let path: String; let origin: ConfigOrigin }
    private(set) var references: [Reference] = []

    /// Replaces each reference in `text` with a placeholder of the same length (see
    /// `BaseReference`), so the readers' lines and columns still match the file.
    static func substitute(in text: String, file: String) -> (String, BaseReferences) {
        let source = SourceText(text, file: file)
        let s = source.scalars
        guard s.count >= 4, text.contains("{{") else { return (text, BaseReferences()) }
        var out = String.UnicodeScalarView()
        var found = BaseReferences()
        var k = 0
        while k < s.count {
            if s[k] == "{", k + 1 < s.count, s[k + 1] == "{", let (path, end) = match(s, at: k) {
                let index = String(found.references.count).unicodeScalars
                found.references.append(Reference(path: path, origin: source.origin(k)))
                out.append(BaseReference.marker)
                out.append(contentsOf: index)
                // A reference spanning lines (legal, if odd) shifts later lines; accepted.
                let pad = max(1, (end - k) - 1 - index.count)
                out.append(contentsOf: repeatElement(BaseReference.marker, count: pad))
                k = end
                continue
            }
            out.append(s[k])
            k += 1
        }
        return (String(out), found)
    }

    /// `\{\{\s*_base_\.([\w.]+)\s*\}\}` at `k`, as MMEngine's pattern.
    private static func match(_ s: [Unicode.Scalar], at k: Int) -> (String, Int)? {
        var j = k + 2
        while j < s.count, s[j].properties.isWhitespace { j += 1 }
        for c in "_base_.".unicodeScalars {
            guard j < s.count, s[j] == c else { return nil }
            j += 1
        }
        var path = String.UnicodeScalarView()
        while j < s.count, s[j] == "." || s[j] == "_" || s[j].properties.isAlphabetic || s[j].properties.numericType != nil {
            path.append(s[j])
            j += 1
        }
        guard !path.isEmpty else { return nil }
        while j < s.count, s[j].properties.isWhitespace { j += 1 }
        guard j + 1 < s.count, s[j] == "}", s[j + 1] == "}" else { return nil }
        return (String(path), j + 2)
    }

    /// Replaces placeholders in `dict` with values from `bases` (nil: the file has no `_base_`).
    func substitute(in dict: ConfigDict, bases: ConfigDict?) throws -> ConfigDict {
        guard !references.isEmpty else { return dict }
        var out = ConfigDict(origin: dict.origin)
        for e in dict.entries {
            if let r = reference(in: e.key) {
                throw ConfigError(.reference, "{{_base_.\(r.path)}} cannot be used as a key", at: r.origin)
            }
            out[e.key, origin: e.origin] = try substitute(in: e.value, bases: bases)
        }
        return out
    }

    private func substitute(in value: ConfigValue, bases: ConfigDict?) throws -> ConfigValue {
        switch value {
        case .string(let s):
            if let i = BaseReference.index(of: s), i < references.count {
                return try resolve(references[i], in: bases)
            }
            if let r = reference(in: s) {
                throw ConfigError(.reference, "{{_base_.\(r.path)}} inside a longer string is not substituted (MMEngine "
                                      + "replaces only a whole value); use it as the whole value", at: r.origin)
            }
            return value
        case .list(let items): return .list(try items.map { try substitute(in: $0, bases: bases) })
        case .dict(let d): return .dict(try substitute(in: d, bases: bases))
        default: return value
        }
    }

    /// The reference whose placeholder appears somewhere inside `s`.
    private func reference(in s: String) -> Reference? {
        guard BaseReference.containsMarker(s) else { return nil }
        let u = Array(s.unicodeScalars)
        guard let m = u.firstIndex(of: BaseReference.marker) else { return nil }
        var digits = ""
        var k = m + 1
        while k < u.count, u[k].isASCIIDigit { digits.unicodeScalars.append(u[k]); k += 1 }
        guard let i = Int(digits), i < references.count else { return nil }
        return references[i]
    }

    private func resolve(_ r: Reference, in bases: ConfigDict?) throws -> ConfigValue {
        guard let bases else {
            throw ConfigError(.reference, "{{_base_.\(r.path)}} refers to base configs, but this file has no _base_", at: r.origin)
        }
        var current = ConfigValue.dict(bases)
        var walked: [String] = []
        for key in r.path.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
            guard case .dict(let d) = current else {
                throw ConfigError(.reference, "{{_base_.\(r.path)}}: '\(walked.joined(separator: "."))' is \(current.typeDescription), "
                                      + "not a dict, in the base configs", at: r.origin)
            }
            guard let next = d[key] else {
                let inside = walked.isEmpty ? "" : " in '\(walked.joined(separator: "."))'"
                throw ConfigError(.reference, "{{_base_.\(r.path)}}: the base configs define no key '\(key)'\(inside)", at: r.origin)
            }
            walked.append(key)
            current = next
        }
        return current
    }
}
