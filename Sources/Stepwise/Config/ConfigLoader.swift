import Foundation

/// The syntaxes a config can be written in.
public enum ConfigFormat: String, Sendable, CaseIterable {
    case yaml, json
    /// An MMEngine-style `.py` config of literal assignments.
    case python
    /// One command-line override, `key.path=value` (MMEngine's `--cfg-options`).
    case override
    /// A dict written inline: `{type: Adam, lr: 1e-3}` or `dict(type='Adam', lr=1e-3)`.
    case inline

    /// The file format an extension names (`yaml`, `yml`, `json`, `py`), if any.
    public init?(pathExtension ext: String) {
        switch ext.lowercased() {
        case "yaml", "yml": self = .yaml
        case "json": self = .json
        case "py": self = .python
        default: return nil
        }
    }
}

/// Reads configs into `ConfigDict`s. Every failure is a `ConfigError` naming the file,
/// line and column to fix.
public enum ConfigLoader {
    /// Loads a `.py`, `.yaml`/`.yml` or `.json` config, following `_base_` inheritance
    /// and `{{_base_.key}}` references the way MMEngine's `Config.fromfile` does.
    public static func load(path: String) throws -> ConfigDict {
        var resolver = InheritanceResolver()
        return try resolver.load(path: path, requestedBy: nil, as: path)
    }

    /// Parses config text that is not in a file. `origin` names it in origins and errors
    /// (e.g. `--cfg-options`). Documents (`yaml`, `json`, `python`) may use `_base_`,
    /// resolved against the current directory. An `override` gives the nested dict it
    /// sets (`a.b=1` -> `{a: {b: 1}}`); `inline` must be a dict.
    public static func parse(string: String, format: ConfigFormat, origin: String = "<string>") throws -> ConfigDict {
        switch format {
        case .yaml, .json, .python:
            var resolver = InheritanceResolver()
            return try resolver.resolve(text: string, format: format, file: origin, directory: "")
        case .override:
            return try parseOverride(string, origin: origin)
        case .inline:
            let source = SourceText(string, file: origin)
            var parser = CommandLineValueParser(source)
            guard case .dict(var d) = try parser.parseAll() else {
                throw ConfigError(.type, "expected a dict such as {type: Adam, lr: 1e-3}", at: source.origin(0))
            }
            d.origin = ConfigOrigin(file: origin)
            return d
        }
    }

    /// Applies `key.path=value` overrides in order, merging each into `config` as
    /// MMEngine's `Config.merge_from_dict` does (numeric keys may index lists).
    public static func applying(overrides: [String], to config: ConfigDict, origin: String = "--cfg-options") throws -> ConfigDict {
        var out = config
        for text in overrides {
            let override = try parseOverride(text, origin: origin)
            out = try ConfigMerger.merge(override, into: out, allowListKeys: true)
        }
        return ConfigMerger.strippingDeleteKeys(out)
    }

    /// Merges `child` into `base` by MMEngine's rules (see `ConfigMerger`): dicts merge,
    /// everything else replaces, `_delete_=True` replaces a dict instead of merging.
    public static func merge(_ child: ConfigDict, into base: ConfigDict, allowListKeys: Bool = false) throws -> ConfigDict {
        ConfigMerger.strippingDeleteKeys(try ConfigMerger.merge(child, into: base, allowListKeys: allowListKeys))
    }

    private static func parseOverride(_ text: String, origin: String) throws -> ConfigDict {
        let source = SourceText(text, file: origin)
        guard let eq = source.scalars.firstIndex(of: "=") else {
            throw ConfigError(.syntax, "expected key.path=value, e.g. optimizer.lr=0.01", at: source.origin(0))
        }
        let key = source.text(0..<eq).trimmingWhitespace
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !key.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else {
            throw ConfigError(.syntax, "'\(key)' is not a key path such as optimizer.lr", at: source.origin(0))
        }
        var parser = CommandLineValueParser(source, at: eq + 1)
        var value = try parser.parseAll()
        let at = source.origin(0)
        for part in parts.dropFirst().reversed() {
            var d = ConfigDict(origin: at)
            d[part, origin: at] = value
            value = .dict(d)
        }
        var top = ConfigDict(origin: ConfigOrigin(file: origin))
        top[parts[0], origin: at] = value
        return top
    }
}
