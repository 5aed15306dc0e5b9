import StepwiseABI

/// Which parameter lands in which param group with which hyperparameters, for every
/// wrapper an `optim_wrapper` config builds: what `stepwise groups` shows. Built from
/// parameter descriptions alone (no tensors), validating everything `OptimWrapper` would:
/// the wrapper's keys, the optimizer's keys, each group's overrides.
public struct GroupsReport: Sendable {
    public struct Group: Sendable {
        public var index: Int
        public var params: [String]
        /// Every hyperparameter of the group after overrides, in schema order.
        public var values: [(key: String, value: ConfigValue)]
        /// The keys this group overrides.
        public var overridden: [String]
        public var gradCentralization: Bool
    }

    public struct Param: Sendable {
        public var spec: ParamSpec
        public var group: Int?
        /// Why it got its settings, or why it is not optimized.
        public var reasons: [String]
    }

    public struct Wrapper: Sendable {
        /// The wrapper's name in an OptimWrapperDict, nil for a single wrapper.
        public var name: String?
        public var wrapperType: String
        /// The wrapper's hyperparameters as given in the config.
        public var wrapperSettings: [(key: String, value: ConfigValue)]
        public var optimizerType: String
        public var source: ParamGroupPlan.Source
        public var groups: [Group]
        public var params: [Param]
    }

    public var wrappers: [Wrapper]

    /// `config` is an `optim_wrapper` dict: one wrapper, or named wrappers.
    public static func build(registry: PluginRegistry, config: ConfigDict, params: [ParamSpec]) throws -> GroupsReport {
        if OptimWrapperDict.isMultiWrapperConfig(config) {
            var wrappers: [Wrapper] = []
            for e in config.entries where e.key != "constructor" {
                guard var sub = e.value.dict else { throw StepwiseError.config("optim_wrapper '\(e.key)' must be a wrapper config dict") }
                if sub.origin == nil { sub.origin = config.origin }
                let prefix = e.key + "."
                let members = params.filter { $0.name.hasPrefix(prefix) }
                guard !members.isEmpty else {
                    throw StepwiseError.config("optim_wrapper '\(e.key)' matches no parameter named '\(prefix)*'")
                }
                do {
                    wrappers.append(try wrapper(name: e.key, registry: registry, config: sub, params: members, prefix: prefix))
                } catch let error as StepwiseError {
                    throw StepwiseError(error.category, "optim_wrapper '\(e.key)': \(error.message)")
                }
            }
            return GroupsReport(wrappers: wrappers)
        }
        return GroupsReport(wrappers: [try wrapper(name: nil, registry: registry, config: config, params: params, prefix: "")])
    }

    private static func wrapper(name: String?, registry: PluginRegistry, config: ConfigDict, params: [ParamSpec],
                                prefix: String) throws -> Wrapper {
        let parts = try OptimWrapperConfig(config)
        let wrapperComponent = try registry.component(.wrapper, for: parts.wrapper)
        let wrapperValues = try wrapperComponent.resolve(parts.wrapper)
        var plan = try parts.plan(params: params.map { $0.dropping(prefix: prefix) })
        plan.restorePrefix(prefix)

        let optimizer = try registry.component(.optimizer, for: parts.optimizer)
        let defaults = try optimizer.resolve(parts.optimizer)
        if let api = optimizer.optimizerAPI, api.pointee.flags & UInt32(STEPWISE_OPT_SINGLE_GROUP) != 0, plan.groups.count > 1 {
            throw StepwiseError.config("\(optimizer.typeName) doesn't support per-parameter options (parameter groups)")
        }
        var groups: [Group] = []
        for (i, g) in plan.groups.enumerated() {
            let resolved = try optimizer.resolve(g.config, ignoring: ["type", "params"], overriding: defaults)
            let values = optimizer.hyperparams.enumerated()
                .filter { !$0.element.hasNoEffect }
                .map { (key: $0.element.name, value: resolved.values[$0.offset]) }
            groups.append(Group(index: i, params: g.params, values: values, overridden: g.overrides.keys,
                                gradCentralization: g.gradCentralization))
        }
        let groupOf = plan.groupOf
        let skipped = Dictionary(plan.skipped.map { ($0.name, $0.reason) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<String>()
        var rows: [Param] = []
        for spec in params {
            if let group = groupOf[spec.name], seen.insert(spec.name).inserted {
                rows.append(Param(spec: spec, group: group, reasons: plan.reasons[spec.name] ?? []))
            } else {
                rows.append(Param(spec: spec, group: nil, reasons: [skipped[spec.name] ?? "listed twice"]))
            }
        }
        let settings = wrapperValues.explicitKeys.compactMap { key in wrapperValues[key].map { (key: key, value: $0) } }
        return Wrapper(name: name, wrapperType: wrapperComponent.typeName, wrapperSettings: settings,
                       optimizerType: optimizer.typeName, source: plan.source, groups: groups, params: rows)
    }
}

extension ParamSpec {
    /// Parses parameter descriptions written on a command line: items separated by
    /// commas or spaces, each `name:SHAPE[:tag]` with SHAPE like `128x2` (or `-` for a
    /// scalar) and tag weight, bias, norm, dwconv, embedding or other. Without a tag, a
    /// parameter whose name ends in `bias` is a bias, anything else a weight.
    public static func parseList(_ text: String) throws -> [ParamSpec] {
        let items = text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" }).map(String.init)
        guard !items.isEmpty else { throw StepwiseError.usage("no parameters given (expected name:SHAPE[:tag], e.g. fc1.weight:128x2)") }
        return try items.map { item in
            let parts = item.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty else {
                throw StepwiseError.usage("'\(item)' is not name:SHAPE[:tag] (e.g. fc1.weight:128x2 or fc1.bias:128:bias)")
            }
            let shape: [Int]
            if parts[1] == "-" || parts[1].isEmpty {
                shape = []
            } else {
                let dims = parts[1].split(separator: "x").map { Int($0) }
                guard dims.allSatisfy({ ($0 ?? -1) >= 0 }) else {
                    throw StepwiseError.usage("'\(item)': the shape '\(parts[1])' is not extents joined by 'x' (e.g. 128x2)")
                }
                shape = dims.compactMap { $0 }
            }
            return ParamSpec(name: parts[0], shape: shape, tag: try tag(parts.count == 3 ? parts[2] : nil, name: parts[0]))
        }
    }

    /// Parameter descriptions from a config: `{name: {shape: [...], tag: bias}, ...}`, or
    /// such a dict under a `params` key (a conformance case).
    public static func parseDict(_ config: ConfigDict) throws -> [ParamSpec] {
        let dict = config["params"]?.dict ?? config
        return try dict.entries.map { e in
            guard let d = e.value.dict, let dims = d["shape"]?.list else {
                throw StepwiseError.config("parameter '\(e.key)' needs a dict with a 'shape' list")
            }
            let shape = try dims.map { v -> Int in
                guard let n = v.int, n >= 0 else { throw StepwiseError.config("parameter '\(e.key)': shape extents must be non-negative ints") }
                return Int(n)
            }
            return ParamSpec(name: e.key, shape: shape, tag: try tag(d["tag"]?.string, name: e.key))
        }
    }

    static func tag(_ text: String?, name: String) throws -> stepwise_param_tag {
        guard let text else {
            return name.split(separator: ".").last == "bias" ? STEPWISE_PARAM_BIAS : STEPWISE_PARAM_WEIGHT
        }
        guard let tag = stepwise_param_tag(name: text) else {
            throw StepwiseError.usage("parameter '\(name)': unknown tag '\(text)' (weight, bias, norm, dwconv, embedding, other)")
        }
        return tag
    }
}
