import Yams

/// Reads a YAML config through Yams' node tree, so key order and each key's line and
/// column survive. Plain scalars are typed here rather than by Yams, by the rules in
/// `YAMLScalar`.
struct YAMLConfigReader {
    private let file: String
    /// Aliases share nodes, so a few lines can expand into billions of values; stop early.
    private var budget = 1_000_000

    private static let strTag = "tag:yaml.org,2002:str"

    static func parse(_ text: String, file: String) throws -> ConfigDict {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw convert(e, file: file)
        }
        guard let node else { return ConfigDict(origin: ConfigOrigin(file: file)) }
        var reader = YAMLConfigReader(file: file)
        guard case .mapping(let m) = node else {
            throw ConfigError(.type, "a YAML config must be a mapping (key: value lines) at the top level, not \(try reader.value(node).typeDescription)",
                              at: reader.origin(node.mark))
        }
        var dict = try reader.mapping(m)
        dict.origin = ConfigOrigin(file: file)
        return dict
    }

    private init(file: String) { self.file = file }

    private func origin(_ mark: Mark?) -> ConfigOrigin {
        ConfigOrigin(file: file, line: mark?.line, column: mark?.column)
    }

    private mutating func value(_ node: Node) throws -> ConfigValue {
        budget -= 1
        guard budget > 0 else {
            throw ConfigError(.syntax, "the YAML expands to more than a million values (aliases nested too deeply?)", at: origin(node.mark))
        }
        switch node {
        case .scalar(let s): return try scalar(s)
        case .mapping(let m): return .dict(try mapping(m))
        case .sequence(let seq):
            try requireTag(seq.tag.rawValue, allowed: ["tag:yaml.org,2002:seq"], mark: seq.mark)
            return .list(try seq.map { try value($0) })
        case .alias(let a):
            throw ConfigError(.syntax, "unresolved alias *\(a.anchor)", at: origin(a.mark))
        }
    }

    private func requireTag(_ tag: String, allowed: Set<String>, mark: Mark?) throws {
        guard tag.isEmpty || tag == "!" || allowed.contains(tag) else {
            throw ConfigError(.unsupported, "unsupported YAML tag \(tag)", at: origin(mark))
        }
    }

    private func scalar(_ s: Node.Scalar) throws -> ConfigValue {
        let tag = s.tag.rawValue
        switch tag {
        case "":
            guard s.style == .plain || s.style == .any else { return .string(s.string) }
            do {
                return try YAMLScalar.resolve(s.string)
            } catch {
                throw ConfigError(.syntax, error.message, at: origin(s.mark))
            }
        case "!", Self.strTag:
            return .string(s.string)
        case "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null":
            let kind = String(tag.split(separator: ":").last ?? "")
            switch (kind, try? YAMLScalar.resolve(s.string)) {
            case ("int", .int(let i)?): return .int(i)
            case ("float", .float(let d)?): return .float(d)
            case ("float", .int(let i)?): return .float(Double(i))
            case ("bool", .bool(let b)?): return .bool(b)
            case ("null", .null?): return .null
            default:
                throw ConfigError(.type, "'\(s.string)' is not a valid !!\(kind)", at: origin(s.mark))
            }
        default:
            throw ConfigError(.unsupported, "unsupported YAML tag \(tag)", at: origin(s.mark))
        }
    }

    private mutating func mapping(_ m: Node.Mapping) throws -> ConfigDict {
        try requireTag(m.tag.rawValue, allowed: ["tag:yaml.org,2002:map"], mark: m.mark)
        // YAML 1.1 merge keys, as PyYAML applies them: merged pairs come first (the
        // earliest merged mapping last, so it wins), then the mapping's own pairs.
        var merged: [ConfigDict.Entry] = []
        var own: [ConfigDict.Entry] = []
        for (k, v) in m {
            guard case .scalar(let ks) = k else {
                throw ConfigError(.type, "config keys must be strings, not a \(k.mapping != nil ? "mapping" : "list")",
                                  at: origin(k.mark))
            }
            let isMergeKey = ks.string == "<<" && (ks.style == .plain || ks.style == .any)
                && ["", "tag:yaml.org,2002:merge"].contains(ks.tag.rawValue)
            guard isMergeKey else {
                own.append(ConfigDict.Entry(key: ks.string, value: try value(v), origin: origin(ks.mark)))
                continue
            }
            let sources: [Node]
            switch v {
            case .mapping: sources = [v]
            case .sequence(let seq): sources = Array(seq)
            default: sources = [v]
            }
            for source in sources.reversed() {
                guard case .mapping(let sm) = source else {
                    throw ConfigError(.type, "a '<<' merge key needs a mapping or a list of mappings", at: origin(source.mark))
                }
                merged += try mapping(sm).entries
            }
        }
        var dict = ConfigDict(origin: origin(m.mark))
        for e in merged + own { dict[e.key, origin: e.origin] = e.value }
        return dict
    }

    static func convert(_ e: YamlError, file: String) -> ConfigError {
        func at(_ mark: Mark) -> ConfigOrigin { ConfigOrigin(file: file, line: mark.line, column: mark.column) }
        func text(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context else { return problem }
            return "\(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
        }
        switch e {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            return ConfigError(.syntax, text(problem, context), at: at(mark))
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return ConfigError(.syntax, "duplicate key \(keys) in one mapping", at: at(context.mark))
        case let .reader(problem, offset, _, yaml):
            var line = 1, column = 1
            for ch in yaml.unicodeScalars.prefix(offset ?? 0) {
                if ch == "\n" { line += 1; column = 1 } else { column += 1 }
            }
            return ConfigError(.syntax, problem, at: ConfigOrigin(file: file, line: line, column: column))
        default:
            return ConfigError(.syntax, "\(e)", at: ConfigOrigin(file: file))
        }
    }
}
