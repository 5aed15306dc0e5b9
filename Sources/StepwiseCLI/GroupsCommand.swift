import ArgumentParser
import Foundation
import Stepwise

struct GroupsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "groups",
        abstract: "Show which parameter lands in which param group, with which hyperparameters.",
        discussion: """
            Checks the optim_wrapper of CONFIG (paramwise_cfg, custom_keys, MMCV paramwise_options, \
            torch or MindSpore param_groups; MMCV 1.x optimizer + optimizer_config work too) against \
            a model's parameters before training. Nothing is allocated or trained.

            SPEC is a config file (.yaml, .json, .py) mapping each parameter name to \
            {shape: [...], tag: ...}, or a list like
              fc1.weight:128x2,fc1.bias:128,bn1.weight:128:norm,bn1.bias:128:norm
            Tags: weight, bias, norm, dwconv, embedding, other. Without one, a name ending in \
            'bias' is a bias and anything else a weight. Without --params, CONFIG's own `params` \
            dict is used (conformance cases have one).
            """)

    @OptionGroup var plugins: PluginOptions

    @Argument(help: ArgumentHelp("A config with an optim_wrapper (or MMCV's optimizer).", valueName: "config"))
    var config: String

    @Option(help: ArgumentHelp("The model's parameters: a file, or name:SHAPE[:tag] items.", valueName: "spec"))
    var params: String?

    @Flag(help: "Print JSON for machines.")
    var json = false

    func run() throws {
        let registry = plugins.load()
        let file = try ConfigLoader.load(path: config)
        let optimWrapper = try optimWrapperConfig(file)
        let specs = try parameterSpecs(file)
        let report = try GroupsReport.build(registry: registry, config: optimWrapper, params: specs)
        if json {
            printJSON(report.wrappers.map(wrapperJSON))
        } else {
            print(report.wrappers.map(render).joined(separator: "\n\n"))
        }
    }

    private func optimWrapperConfig(_ file: ConfigDict) throws -> ConfigDict {
        if var ow = file["optim_wrapper"]?.dict {
            // A conformance case keeps its explicit groups beside optim_wrapper.
            if let groups = file["param_groups"], ow["param_groups"] == nil { ow["param_groups"] = groups }
            if ow.origin == nil { ow.origin = file.origin }
            return ow
        }
        if let optimizer = file["optimizer"]?.dict {
            return try OptimWrapperConfig.fromMMCV(optimizer: optimizer, optimizerConfig: file["optimizer_config"]?.dict)
        }
        throw ValidationError("\(config) has no optim_wrapper (nor an MMCV-style optimizer) to show.")
    }

    private func parameterSpecs(_ file: ConfigDict) throws -> [ParamSpec] {
        guard let params else {
            guard file["params"]?.dict != nil else {
                throw ValidationError("give the model's parameters with --params (a file, or name:SHAPE[:tag] items); \(config) has no `params`.")
            }
            return try ParamSpec.parseDict(file)
        }
        if FileManager.default.fileExists(atPath: params) {
            return try ParamSpec.parseDict(try ConfigLoader.load(path: params))
        }
        return try ParamSpec.parseList(params)
    }

    private func render(_ w: GroupsReport.Wrapper) -> String {
        var lines: [String] = []
        let settings = w.wrapperSettings.filter { $0.key != "type" }.map { "\($0.key)=\(show($0.value))" }
        lines.append("\(w.name.map { "[\($0)] " } ?? "")\(w.wrapperType)\(settings.isEmpty ? "" : " (\(settings.joined(separator: ", ")))") over \(w.optimizerType)")
        let optimized = w.params.filter { $0.group != nil }.count
        lines.append("\(w.groups.count) param group\(w.groups.count == 1 ? "" : "s") from \(source(w.source)); \(optimized) of \(w.params.count) parameters optimized")
        lines.append("")
        // Show every key any group overrides, plus the learning rate and weight decay.
        var keys: [String] = []
        for k in ["lr", "weight_decay"] + w.groups.flatMap(\.overridden) where !keys.contains(k) {
            if w.groups.first?.values.contains(where: { $0.key == k }) ?? false { keys.append(k) }
        }
        var header = ["GROUP", "PARAMS"] + keys.map { $0.uppercased() }
        if w.groups.contains(where: \.gradCentralization) { header.append("GRAD_CENTRALIZATION") }
        let groupRows = w.groups.map { g -> [String] in
            var row = ["\(g.index)", "\(g.params.count)"]
            for k in keys { row.append(g.values.first { $0.key == k }.map { show($0.value) } ?? "") }
            if header.last == "GRAD_CENTRALIZATION" { row.append(g.gradCentralization ? "yes" : "") }
            return row
        }
        lines.append(table(groupRows, header: header))
        lines.append("")
        let paramRows = w.params.map { p in
            [p.spec.name, "[\(p.spec.shape.map(String.init).joined(separator: ", "))]", p.spec.tag.name,
             p.group.map(String.init) ?? "-", p.reasons.joined(separator: ", ")]
        }
        lines.append(table(paramRows, header: ["PARAMETER", "SHAPE", "TAG", "GROUP", "WHY"]))
        return lines.joined(separator: "\n")
    }

    private func source(_ s: ParamGroupPlan.Source) -> String {
        switch s {
        case .single: "no parameter-wise settings"
        case .paramwiseCfg: "paramwise_cfg"
        case .paramwiseOptions: "paramwise_options"
        case .paramGroups: "param_groups"
        }
    }

    private func wrapperJSON(_ w: GroupsReport.Wrapper) -> [String: Any] {
        var out: [String: Any] = [
            "wrapper": w.wrapperType, "optimizer": w.optimizerType, "source": w.source.rawValue,
            "wrapper_settings": Dictionary(w.wrapperSettings.map { ($0.key, plain($0.value)) }, uniquingKeysWith: { a, _ in a }),
            "groups": w.groups.map { g in
                ["index": g.index, "params": g.params, "overridden": g.overridden,
                 "grad_centralization": g.gradCentralization,
                 "hyperparameters": Dictionary(g.values.map { ($0.key, plain($0.value)) }, uniquingKeysWith: { a, _ in a })] as [String: Any]
            },
            "params": w.params.map { p in
                ["name": p.spec.name, "shape": p.spec.shape, "tag": p.spec.tag.name,
                 "group": p.group.map { $0 as Any } ?? NSNull(), "reasons": p.reasons] as [String: Any]
            },
        ]
        if let name = w.name { out["name"] = name }
        return out
    }

    private func show(_ v: ConfigValue) -> String {
        switch v {
        case .null: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): "\(i)"
        case .float(let f): "\(f)"
        case .string(let s): s
        case .list(let l): "[" + l.map(show).joined(separator: ", ") + "]"
        case .dict(let d): "{" + d.entries.map { "\($0.key): \(show($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    private func plain(_ v: ConfigValue) -> Any {
        switch v {
        case .null: NSNull()
        case .bool(let b): b
        case .int(let i): i
        case .float(let f): f.isFinite ? f as Any : "\(f)"
        case .string(let s): s
        case .list(let l): l.map(plain)
        case .dict(let d): Dictionary(d.entries.map { ($0.key, plain($0.value)) }, uniquingKeysWith: { a, _ in a })
        }
    }
}
