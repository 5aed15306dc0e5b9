import Foundation

/// Follows `_base_` chains the way MMEngine's `Config._file2dict` does: each base is
/// loaded completely (its own bases included), the bases are combined in order with no
/// key allowed in two of them, `{{_base_.key}}` references take values from that
/// combination, and the file's own values are merged over it. Keys starting with `__`
/// and `_deprecation_` are dropped, as MMEngine drops them.
struct InheritanceResolver {
    private struct Frame { let display: String; let canonical: String }
    private var chain: [Frame] = []

    static let baseKey = "_base_"

    /// `display` is the path as the user (or the inheriting file) wrote it, used in
    /// origins and messages; `requestedBy` is the `_base_` entry that asked for it.
    mutating func load(path display: String, requestedBy: ConfigOrigin?, as written: String) throws -> ConfigDict {
        let canonical = URL(fileURLWithPath: display).standardizedFileURL.resolvingSymlinksInPath().path
        if let k = chain.firstIndex(where: { $0.canonical == canonical }) {
            let cycle = (chain[k...].map(\.display) + [display]).joined(separator: " -> ")
            throw ConfigError(.inheritance, "inheritance cycle: \(cycle)", at: requestedBy ?? ConfigOrigin(file: display))
        }
        let ext = (display as NSString).pathExtension
        guard let format = ConfigFormat(pathExtension: ext) else {
            let message = "unsupported config file type '.\(ext)' (use .py, .yaml, .yml or .json)"
            throw ConfigError(requestedBy == nil ? .io : .inheritance,
                              requestedBy == nil ? message : "base config '\(written)': \(message)",
                              at: requestedBy ?? ConfigOrigin(file: display))
        }
        let text = try read(display, requestedBy: requestedBy, as: written)
        chain.append(Frame(display: display, canonical: canonical))
        defer { chain.removeLast() }
        return try resolve(text: text, format: format, file: display,
                           directory: (display as NSString).deletingLastPathComponent)
    }

    private func read(_ path: String, requestedBy: ConfigOrigin?, as written: String) throws -> String {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if let requestedBy, !exists {
            throw ConfigError(.inheritance, "base config '\(written)' not found (looked for \(path), relative to \(requestedBy.file))",
                              at: requestedBy)
        }
        let at = requestedBy ?? ConfigOrigin(file: path)
        guard exists else { throw ConfigError(.io, "config file not found", at: at) }
        guard !isDirectory.boolValue else { throw ConfigError(.io, "\(path) is a directory, not a config file", at: at) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(.io, "cannot read \(path)", at: at)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(.io, "\(path) is not valid UTF-8 text", at: at)
        }
        return text
    }

    mutating func resolve(text: String, format: ConfigFormat, file: String, directory: String) throws -> ConfigDict {
        let (substituted, references) = BaseReferences.substitute(in: text, file: file)
        var raw: ConfigDict
        switch format {
        case .python: raw = try PythonConfigParser.parse(SourceText(substituted, file: file))
        case .json: raw = try JSONConfigParser.parse(SourceText(substituted, file: file))
        default: raw = try YAMLConfigReader.parse(substituted, file: file)
        }

        var bases = ConfigDict()
        var hasBases = false
        if let baseValue = raw[Self.baseKey] {
            hasBases = true
            let at = raw.origin(of: Self.baseKey) ?? ConfigOrigin(file: file)
            var ownerOfKey: [String: String] = [:]
            for written in try basePaths(baseValue, at: at) {
                guard !written.contains("::") else {
                    throw ConfigError(.unsupported, "package-scoped base configs ('\(written)') are not supported; use a file path",
                                      at: at)
                }
                let path = Self.join(directory, written)
                let base = try load(path: path, requestedBy: at, as: written)
                for e in base.entries {
                    if let other = ownerOfKey[e.key] {
                        throw ConfigError(.inheritance, "key '\(e.key)' is defined in two base configs, \(other) and \(path); "
                                              + "MMEngine does not merge bases, so define it in one of them or in \(file)", at: at)
                    }
                    ownerOfKey[e.key] = path
                    bases[e.key, origin: e.origin] = e.value
                }
            }
            raw[Self.baseKey] = nil
        }

        raw = try references.substitute(in: raw, bases: hasBases ? bases : nil)
        let merged = try ConfigMerger.merge(raw, into: bases, allowListKeys: false)
        let kept = merged.entries.filter { !$0.key.hasPrefix("__") && $0.key != "_deprecation_" }
        return ConfigMerger.strippingDeleteKeys(ConfigDict(kept, origin: ConfigOrigin(file: file)))
    }

    private func basePaths(_ value: ConfigValue, at: ConfigOrigin) throws -> [String] {
        switch value {
        case .string(let s): return [s]
        case .list(let items):
            return try items.map {
                guard case .string(let s) = $0 else {
                    throw ConfigError(.type, "_base_ must be a path or a list of paths, but it lists \($0.typeDescription)", at: at)
                }
                return s
            }
        default:
            throw ConfigError(.type, "_base_ must be a path or a list of paths, not \(value.typeDescription)", at: at)
        }
    }

    /// Joins a base path to the directory of the file naming it, lexically, so messages
    /// show paths the way the user wrote them.
    static func join(_ directory: String, _ path: String) -> String {
        if path.hasPrefix("/") || directory.isEmpty { return normalize(path) }
        return normalize(directory + "/" + path)
    }

    static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
            } else if part != ".." || !absolute {
                parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
    }
}
