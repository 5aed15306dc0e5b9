import Foundation
import StepwiseABI

/// Every loaded plugin and its components, by kind. Lookups accept the short type name
/// ("Adam") and the qualified one ("stepwise.Adam"); a short name two plugins both
/// declare stays with the first one loaded, with a diagnostic naming both files.
public final class PluginRegistry: @unchecked Sendable {
    public private(set) var records: [PluginRecord] = []
    private var byKind: [ComponentKind: [String: Component]] = [:]
    private var qualified: [ComponentKind: [String: Component]] = [:]
    private var pluginIDs: [String: LoadedPlugin] = [:]

    public init() {}

    /// Loads every plugin the options name. Never throws: each failure becomes a record
    /// with its one-line reason, and every other plugin still loads.
    public static func load(_ options: PluginLoadOptions = .init()) -> PluginRegistry {
        let registry = PluginRegistry()
        for (path, ignored) in PluginLoader.candidates(options) {
            if let ignored {
                registry.records.append(PluginRecord(path: path, status: .ignored(ignored)))
                continue
            }
            registry.add(path: path)
        }
        return registry
    }

    /// Loads one more plugin file.
    @discardableResult
    public func add(path: String) -> PluginRecord {
        var record: PluginRecord
        switch PluginLoader.open(path) {
        case .failure(let failure):
            record = PluginRecord(path: path, status: .rejected(failure.reason))
        case .success(let (_, plugin, components)):
            record = register(plugin, components, path: path)
        }
        records.append(record)
        return record
    }

    private func register(_ plugin: LoadedPlugin,
                          _ components: [(ComponentKind, UnsafePointer<stepwise_component>, [HyperparamInfo])],
                          path: String) -> PluginRecord {
        if let other = pluginIDs[plugin.id] {
            // Qualified names would collide too; accept only components whose short
            // names are new, so that nothing is silently shadowed.
            let clashes = components.filter { qualified[$0.0]?["\(plugin.id).\(String(cString: $0.1.pointee.type_name))"] != nil }
            if !clashes.isEmpty {
                let names = clashes.map { String(cString: $0.1.pointee.type_name) }
                return PluginRecord(path: path, status: .rejected(
                    "plugin id '\(plugin.id)' is already used by \(other.fileName) and both declare \(names.joined(separator: ", "))"))
            }
        }
        var warnings: [String] = []
        for (kind, raw, schema) in components {
            let component = Component(kind: kind, raw: raw, hyperparams: schema, plugin: plugin)
            plugin.components.append(component)
            qualified[kind, default: [:]][component.qualifiedName] = component
            if let existing = byKind[kind]?[component.typeName] {
                warnings.append("\(kind.rawValue) type '\(component.typeName)' is already registered by \(existing.plugin.fileName); use '\(component.qualifiedName)' for this one")
            } else {
                byKind[kind, default: [:]][component.typeName] = component
            }
        }
        if pluginIDs[plugin.id] == nil { pluginIDs[plugin.id] = plugin }
        return PluginRecord(path: path, status: .loaded, plugin: plugin, warnings: warnings)
    }

    public var plugins: [LoadedPlugin] { records.compactMap(\.plugin) }

    /// One line per rejected plugin or clash, naming the file and the reason.
    public var diagnostics: [PluginDiagnostic] {
        records.flatMap { r -> [PluginDiagnostic] in
            var out: [PluginDiagnostic] = []
            if case .rejected(let why) = r.status { out.append(PluginDiagnostic(path: r.path, message: why)) }
            if case .ignored(let why) = r.status, why == "plugin folder does not exist" {
                out.append(PluginDiagnostic(path: r.path, message: why))
            }
            out += r.warnings.map { PluginDiagnostic(path: r.path, message: $0) }
            return out
        }
    }

    /// Every registered component of `kind` (each once), sorted by name.
    public func components(kind: ComponentKind? = nil) -> [Component] {
        let kinds = kind.map { [$0] } ?? ComponentKind.allCases
        return kinds.flatMap { k in (qualified[k] ?? [:]).values.sorted { ($0.typeName, $0.qualifiedName) < ($1.typeName, $1.qualifiedName) } }
    }

    /// Finds a component by short or qualified name; an unknown name gets an error that
    /// lists what is registered and suggests the nearest name.
    public func component(_ kind: ComponentKind, type name: String, origin: ConfigOrigin? = nil) throws -> Component {
        if let c = byKind[kind]?[name] ?? qualified[kind]?[name] { return c }
        let where_ = origin.map { " in \($0)" } ?? ""
        for other in ComponentKind.allCases where other != kind {
            if let c = byKind[other]?[name] ?? qualified[other]?[name] {
                throw StepwiseError.config("'\(name)'\(where_) is \(c.kind.withArticle), not \(kind.withArticle)")
            }
        }
        let names = (byKind[kind] ?? [:]).keys.sorted()
        let hint = Suggest.nearest(name, in: names).map { " Did you mean '\($0)'?" } ?? ""
        let list = names.isEmpty
            ? "no \(kind.rawValue) plugin was found: the bundled plugins (libStepwisePlugin*.so) must sit beside the "
              + "executable — build them with `swift build` — and extra ones come from STEPWISE_PLUGIN_PATH or --plugin-dir"
            : "registered: \(names.joined(separator: ", "))"
        throw StepwiseError.config("unknown \(kind.rawValue) type '\(name)'\(where_).\(hint) (\(list))")
    }

    /// Builds from a config dict's `type` key.
    public func component(_ kind: ComponentKind, for config: ConfigDict) throws -> Component {
        guard let type = config["type"]?.string else {
            throw StepwiseError.config("\(kind.rawValue) config has no 'type' key\(config.origin.map { " in \($0)" } ?? "")")
        }
        return try component(kind, type: type, origin: config.origin(of: "type"))
    }
}
