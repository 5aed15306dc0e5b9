/// MMEngine's merge rules (`Config._merge_a_into_b`, mmengine 0.10.7), applied to a child
/// config over its bases and to `--cfg-options` over a config:
/// - a child dict merges key by key into a base dict; any other child value replaces
///   the base value (lists are replaced whole, never concatenated);
/// - a child dict with a truthy `_delete_` replaces the base value instead of merging;
/// - a child dict over a base value that is not a dict is an error unless `_delete_`;
/// - with `allowListKeys` (command-line overrides), numeric keys address list
///   elements: `pipeline.0.type=X` changes the first element's `type`.
///
/// Deviation: MMEngine leaves `_delete_=True` inside a dict whose key the base lacks,
/// where it later fails as an unknown argument; Stepwise drops every `_delete_` key once
/// merging is done, since it has then served its purpose.
enum ConfigMerger {
    static let deleteKey = "_delete_"

    static func merge(_ a: ConfigDict, into b: ConfigDict, allowListKeys: Bool, path: [String] = []) throws -> ConfigDict {
        var out = b
        for e in a.entries {
            let keyPath = path + [e.key]
            guard case .dict(var v) = e.value else {
                out[e.key, origin: e.origin] = e.value
                continue
            }
            if let existing = out[e.key] {
                let delete = v[deleteKey]?.isTruthy ?? false
                v[deleteKey] = nil
                if !delete {
                    switch existing {
                    case .dict(let bd):
                        var merged = try merge(v, into: bd, allowListKeys: allowListKeys, path: keyPath)
                        merged.origin = v.origin ?? bd.origin
                        out[e.key, origin: e.origin] = .dict(merged)
                        continue
                    case .list(let bl) where allowListKeys:
                        out[e.key, origin: e.origin] = .list(try merge(v, intoList: bl, path: keyPath, at: e.origin))
                        continue
                    default:
                        let from = b.entries.first { $0.key == e.key }?.origin.map { " (set at \($0))" } ?? ""
                        throw ConfigError(
                            .merge,
                            "'\(keyPath.joined(separator: "."))' is a dict here but \(existing.typeDescription) in the base\(from); "
                                + "add \(deleteKey)=True to replace the base value instead of merging into it",
                            at: e.origin ?? a.origin ?? ConfigOrigin(file: "<config>"))
                    }
                }
            }
            out[e.key, origin: e.origin] = .dict(v)
        }
        return out
    }

    private static func merge(_ a: ConfigDict, intoList list: [ConfigValue], path: [String], at origin: ConfigOrigin?) throws -> [ConfigValue] {
        var out = list
        let where_ = path.joined(separator: ".")
        for e in a.entries {
            let at = e.origin ?? origin ?? ConfigOrigin(file: "<config>")
            guard !e.key.isEmpty, e.key.unicodeScalars.allSatisfy(\.isASCIIDigit), let index = Int(e.key) else {
                throw ConfigError(.merge, "'\(where_)' is a list, so '\(where_).\(e.key)' must be an element index such as '\(where_).0'", at: at)
            }
            guard index < out.count else {
                throw ConfigError(.merge, "index \(index) is out of range for '\(where_)', a list of \(out.count) element(s)", at: at)
            }
            switch (e.value, out[index]) {
            case (.dict(var d), .dict(let bd)) where !(d[deleteKey]?.isTruthy ?? false):
                d[deleteKey] = nil
                out[index] = .dict(try merge(d, into: bd, allowListKeys: true, path: path + [e.key]))
            case (.dict(let d), .list(let bl)):
                out[index] = .list(try merge(d, intoList: bl, path: path + [e.key], at: e.origin))
            default:
                out[index] = e.value
            }
        }
        return out
    }

    /// Removes leftover `_delete_` keys at every depth.
    static func strippingDeleteKeys(_ d: ConfigDict) -> ConfigDict {
        var out = ConfigDict(origin: d.origin)
        for e in d.entries where e.key != deleteKey {
            out[e.key, origin: e.origin] = strippingDeleteKeys(e.value)
        }
        return out
    }

    private static func strippingDeleteKeys(_ v: ConfigValue) -> ConfigValue {
        switch v {
        case .dict(let d): .dict(strippingDeleteKeys(d))
        case .list(let l): .list(l.map(strippingDeleteKeys))
        default: v
        }
    }
}

extension ConfigValue {
    /// Python truthiness, which is how MMEngine reads `_delete_`.
    var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let b): b
        case .int(let i): i != 0
        case .float(let f): f != 0
        case .string(let s): !s.isEmpty
        case .list(let l): !l.isEmpty
        case .dict(let d): !d.isEmpty
        }
    }
}
