import ArgumentParser
import Foundation
import Stepwise
import StepwiseABI

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List every registered component: type, kind, plugin and a one-line summary.")

    @OptionGroup var plugins: PluginOptions

    @Option(help: ArgumentHelp("Only this kind: optimizer, scheduler, wrapper, hook or communicator.", valueName: "kind"))
    var kind: ComponentKind?

    @Flag(help: "Print JSON for machines.")
    var json = false

    func run() throws {
        let registry = plugins.load()
        let components = registry.components(kind: kind)
        if json {
            printJSON(components.map { c in
                ["type": c.typeName, "qualified_name": c.qualifiedName, "kind": c.kind.rawValue,
                 "plugin": c.plugin.fileName, "plugin_version": c.plugin.version, "summary": c.summary] as [String: Any]
            })
            return
        }
        let rows = components.map { [$0.typeName, $0.kind.rawValue, "\($0.plugin.fileName) \($0.plugin.version)", $0.summary] }
        print(table(rows, header: ["TYPE", "KIND", "PLUGIN", "SUMMARY"]))
        print("\(components.count) components from \(registry.plugins.count) plugins")
    }
}

extension ComponentKind: ExpressibleByArgument {}

struct DescribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show a component's hyperparameters: types, defaults, valid ranges and docs.",
        discussion: "TYPE is a short name (Adam) or a qualified one (stepwise.Adam).")

    @OptionGroup var plugins: PluginOptions

    @Argument(help: "The component's type name.")
    var type: String

    @Flag(help: "Print JSON for machines.")
    var json = false

    func run() throws {
        let registry = plugins.load()
        let matches = ComponentKind.allCases.compactMap { try? registry.component($0, type: type) }
        guard let c = matches.first else {
            // Let the optimizer registry phrase the error with a suggestion across kinds.
            let all = registry.components().map(\.typeName)
            let hint = Suggest.nearest(type, in: all).map { " Did you mean '\($0)'?" } ?? ""
            throw ValidationError("unknown component type '\(type)'.\(hint) Run `stepwise list` to see them all.")
        }
        let slots = slotNames(c)
        if json {
            printJSON([
                "type": c.typeName, "qualified_name": c.qualifiedName, "kind": c.kind.rawValue,
                "summary": c.summary, "reference": c.reference,
                "plugin": ["file": c.plugin.path, "id": c.plugin.id, "name": c.plugin.name, "version": c.plugin.version],
                "hyperparameters": c.hyperparams.map(describeJSON),
                "state_slots": slots,
            ] as [String: Any])
            return
        }
        print("\(c.typeName) (\(c.kind.rawValue), \(c.qualifiedName), from \(c.plugin.fileName) \(c.plugin.version))")
        print(c.summary)
        if !c.reference.isEmpty { print("Reference: \(c.reference)") }
        print("")
        let rows = c.hyperparams.map { h in
            [h.name, h.typeName, h.isRequired ? "(required)" : render(h.defaultValue ?? .null),
             h.rangeDescription ?? "", h.roleName ?? "", h.doc]
        }
        print(table(rows, header: ["KEY", "TYPE", "DEFAULT", "RANGE", "ROLE", "DESCRIPTION"]))
        if !slots.isEmpty { print("\nState slots per parameter: \(slots.joined(separator: ", "))") }
    }

    func slotNames(_ c: Component) -> [String] {
        guard let api = c.optimizerAPI else { return [] }
        return (0..<Int(api.pointee.slot_count)).map { String(cString: api.pointee.slots[$0]!.pointee.name) }
    }

    func describeJSON(_ h: HyperparamInfo) -> [String: Any] {
        var d: [String: Any] = ["name": h.name, "type": h.typeName, "doc": h.doc, "required": h.isRequired,
                                "nullable": h.isNullable, "no_effect": h.hasNoEffect]
        if let v = h.defaultValue { d["default"] = jsonValue(v) }
        if let lo = h.min { d["min"] = lo; d["min_exclusive"] = h.minExclusive }
        if let hi = h.max { d["max"] = hi; d["max_exclusive"] = h.maxExclusive }
        if let r = h.roleName { d["role"] = r }
        if let c = h.choices { d["choices"] = c }
        return d
    }
}

struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "Show each plugin file found: loaded (with its components) or rejected, and why.")

    @OptionGroup var plugins: PluginOptions

    @Flag(help: "Print JSON for machines.")
    var json = false

    func run() throws {
        let start = DispatchTime.now()
        let registry = plugins.load(quiet: true)
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        if json {
            printJSON(["load_ms": ms, "plugins": registry.records.map { r -> [String: Any] in
                var d: [String: Any] = ["path": r.path, "warnings": r.warnings]
                switch r.status {
                case .loaded:
                    d["status"] = "loaded"
                    d["id"] = r.plugin?.id
                    d["version"] = r.plugin?.version
                    d["abi"] = r.plugin.map { "\($0.abiVersion.major).\($0.abiVersion.minor)" }
                    d["components"] = r.plugin?.components.map(\.typeName)
                case .rejected(let why): d["status"] = "rejected"; d["reason"] = why
                case .ignored(let why): d["status"] = "ignored"; d["reason"] = why
                }
                return d
            }])
            return
        }
        for r in registry.records {
            switch r.status {
            case .loaded:
                let p = r.plugin!
                print("loaded    \(r.path)  [\(p.id) \(p.version), ABI \(p.abiVersion.major).\(p.abiVersion.minor), \(p.components.count) components]")
            case .rejected(let why): print("rejected  \(r.path): \(why)")
            case .ignored(let why): print("ignored   \(r.path): \(why)")
            }
            for w in r.warnings { print("          warning: \(w)") }
        }
        print(String(format: "%d plugins loaded, %d rejected, in %.1f ms", registry.plugins.count,
                     registry.records.filter { if case .rejected = $0.status { true } else { false } }.count, ms))
    }
}

func render(_ v: ConfigValue) -> String {
    switch v {
    case .null: "None"
    case .bool(let b): b ? "True" : "False"
    case .int(let i): "\(i)"
    case .float(let f): f == f.rounded() && abs(f) < 1e16 ? String(format: "%.1f", f) : "\(f)"
    case .string(let s): "'\(s)'"
    case .list(let l): "(" + l.map(render).joined(separator: ", ") + ")"
    case .dict: "{...}"
    }
}

func jsonValue(_ v: ConfigValue) -> Any {
    switch v {
    case .null: NSNull()
    case .bool(let b): b
    case .int(let i): i
    case .float(let f): f
    case .string(let s): s
    case .list(let l): l.map(jsonValue)
    case .dict(let d): Dictionary(d.entries.map { ($0.key, jsonValue($0.value)) }, uniquingKeysWith: { a, _ in a })
    }
}
