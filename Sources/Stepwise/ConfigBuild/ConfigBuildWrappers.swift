import StepwiseABI

extension ConfigBuilder {
    /// The `optim_wrapper` dict this config means: its own (MMEngine), or the one MMCV's
    /// sections translate to.
    mutating func wrapperConfig() -> ConfigDict? {
        switch style {
        case .mmengine:
            guard let value = config["optim_wrapper"] else {
                // MMEngine's Runner ignores a top-level optimizer; say how to use it.
                let hint = config["optimizer"]?.dict != nil
                    ? " (MMEngine does not read a top-level optimizer: write optim_wrapper = dict(optimizer=optimizer))" : ""
                sink.error("the config has no optim_wrapper: add e.g. optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))\(hint)",
                           section: "optim_wrapper", at: config.origin(of: "optimizer") ?? file)
                return nil
            }
            guard var d = value.dict else {
                sink.error("optim_wrapper must be a dict, got \(value.typeDescription)", section: "optim_wrapper", at: origin("optim_wrapper"))
                return nil
            }
            if d.origin == nil { d.origin = origin("optim_wrapper") }
            return d
        case .mmcv:
            guard let t = sink.attempt(section: "optimizer", at: origin("optimizer"), { try MMCVOptimizerConfig.optimWrapper(config) })
            else { return nil }
            countsToEnd = t.countsToEnd
            return t.wrapper
        }
    }

    var wrapperSection: String { style == .mmengine ? "optim_wrapper" : "optimizer" }

    /// The wrapper(s), each named wrapper built on its own so every one's problems show.
    mutating func buildWrappers() -> AnyOptimWrapper? {
        guard let cfg = wrapperConfig() else { return nil }
        guard OptimWrapperDict.isMultiWrapperConfig(cfg) else {
            guard let w = buildWrapper(cfg, params: params, prefix: "", section: wrapperSection) else { return nil }
            return .single(w)
        }
        if let c = cfg["constructor"]?.string, c != "MultiOptimWrapperConstructor" {
            sink.error("optim_wrapper constructor '\(c)' is not supported for named wrappers (use MultiOptimWrapperConstructor)",
                       section: wrapperSection, at: cfg.origin(of: "constructor") ?? origin(wrapperSection))
            return nil
        }
        var items: [(name: String, wrapper: OptimWrapper)] = []
        var failed = false
        for e in cfg.entries where e.key != "constructor" {
            let section = "\(wrapperSection).\(e.key)"
            let at = e.origin ?? origin(wrapperSection)
            guard var sub = e.value.dict else {
                sink.error("optim_wrapper '\(e.key)' must be a wrapper config dict", section: section, at: at)
                failed = true
                continue
            }
            if sub.origin == nil { sub.origin = at }
            let prefix = e.key + "."
            let members = params.filter { $0.name.hasPrefix(prefix) }
            guard !members.isEmpty else {
                let roots = Set(params.compactMap { $0.name.split(separator: ".").first.map(String.init) }).sorted()
                sink.error("optim_wrapper '\(e.key)' matches no parameter named '\(prefix)*' (parameters start with: "
                           + "\(roots.joined(separator: ", ")))", section: section, at: at)
                failed = true
                continue
            }
            if let w = buildWrapper(sub, params: members, prefix: prefix, section: section) {
                items.append((e.key, w))
            } else {
                failed = true
            }
        }
        guard !failed else { return nil }
        return sink.attempt(section: wrapperSection, at: origin(wrapperSection)) { .dict(try OptimWrapperDict(items)) }
    }

    /// One wrapper over `params`; paramwise rules see names relative to `prefix`.
    private mutating func buildWrapper(_ cfg: ConfigDict, params: [Parameter], prefix: String, section: String) -> OptimWrapper? {
        do {
            if prefix.isEmpty { return try OptimWrapper(registry: registry, config: cfg, params: params) }
            return try OptimWrapper.relative(registry: registry, config: cfg, params: params, prefix: prefix)
        } catch {
            let before = sink.errors.count
            explainWrapper(cfg, params: params.map(\.spec), prefix: prefix, section: section)
            if sink.errors.count == before {
                sink.record(error, section: section, fallback: cfg.origin ?? origin(wrapperSection))
            }
            return nil
        }
    }

    /// Finds every problem of a wrapper config: its structure, the optimizer's keys, the
    /// wrapper's keys, then the param groups (which need a valid optimizer).
    private mutating func explainWrapper(_ cfg: ConfigDict, params: [ParamSpec], prefix: String, section: String) {
        let at = cfg.origin ?? origin(wrapperSection)
        let registry = self.registry
        guard let parts = sink.attempt(section: section, at: at, { try OptimWrapperConfig(cfg) }) else { return }
        let before = sink.errors.count
        sink.explain(parts.optimizer, section: "\(section).optimizer") { d in
            _ = try registry.component(.optimizer, for: d).resolve(d)
        }
        sink.explain(parts.wrapper, section: section) { d in
            _ = try registry.component(.wrapper, for: d).resolve(d)
        }
        guard sink.errors.count == before else { return }
        _ = sink.attempt(section: section, at: at) {
            try GroupsReport.build(registry: registry, config: cfg, params: params.map { $0.dropping(prefix: prefix) })
        }
    }

    // MARK: Schedulers

    /// Each wrapper's schedulers. Without a built wrapper (or loop), every scheduler dict
    /// is still checked against its component's schema.
    mutating func buildSchedulers(wrapper: AnyOptimWrapper?, loop: ScheduleLoopShape?) -> [ConfigBuild.Scheduled]? {
        let names: [String?] = wrapper.map { $0.wrappers.map(\.name) } ?? wrapperNamesFromConfig()
        var out: [ConfigBuild.Scheduled] = []
        var failed = false
        let registry = self.registry
        for (k, name) in names.enumerated() {
            guard let schedule = scheduleConfig(for: name) else { failed = true; continue }
            let built = wrapper.map { $0.wrappers[k].wrapper }
            guard let built, let loop else {
                for (dict, label) in zip(schedule.schedulers, schedule.labels) {
                    sink.explain(dict, section: label) { d in
                        _ = try ScheduleBuilder(registry: registry, dialect: schedule.dialect,
                                                source: PlainScheduleValues(groups: 1, values: [:]), loop: ScheduleLoopShape(epochs: 1, itersPerEpoch: 1))
                            .find(d, label: label).resolve(d)
                    }
                }
                failed = true
                continue
            }
            let values = style == .mmengine ? built.scheduleValues : ResolvedGroupValues(optimizer: built.optimizer)
            var entriesOK = true
            for (dict, label) in zip(schedule.schedulers, schedule.labels) {
                if buildOrExplain(dict, section: label, { d in
                    try ParamSchedulers(registry: registry, config: ScheduleConfig(dialect: schedule.dialect, schedulers: [d], labels: [label]),
                                        values: values, loop: loop)
                }) == nil {
                    entriesOK = false
                }
            }
            guard entriesOK else { failed = true; continue }
            let section = schedule.labels.first ?? "param_scheduler"
            guard let schedulers = sink.attempt(section: section, at: origin(style == .mmengine ? "param_scheduler" : "lr_config"), {
                try ParamSchedulers(registry: registry, config: schedule, values: values, loop: loop)
            }) else { failed = true; continue }
            // A resumed run restores what start() would apply, so start() is the runner's job.
            out.append(ConfigBuild.Scheduled(name: name, wrapper: built, schedulers: schedulers, labels: schedule.labels,
                                             types: schedule.schedulers.map { $0["type"]?.string ?? "?" }))
        }
        return failed ? nil : out
    }

    private func wrapperNamesFromConfig() -> [String?] {
        guard style == .mmengine, let cfg = config["optim_wrapper"]?.dict, OptimWrapperDict.isMultiWrapperConfig(cfg) else { return [nil] }
        return cfg.keys.filter { $0 != "constructor" }
    }

    /// The schedule of one wrapper (`name` nil: the single wrapper), as `ScheduleConfig`
    /// reads it. MMEngine: a dict of lists keyed by wrapper name gives each its own; a
    /// list (or one scheduler dict) is built again for every wrapper.
    private mutating func scheduleConfig(for name: String?) -> ScheduleConfig? {
        var document = ConfigDict(origin: config.origin)
        let section: String
        switch style {
        case .mmengine:
            section = "param_scheduler"
            if let d = config["dialect"] { document["dialect", origin: config.origin(of: "dialect")] = d }
            var value = config["param_scheduler"] ?? .null
            if let name, let perWrapper = value.dict, perWrapper["type"] == nil {
                guard let own = perWrapper[name] else {
                    sink.error("param_scheduler has a schedule per wrapper (\(perWrapper.keys.joined(separator: ", "))) but none for "
                               + "'\(name)'; add param_scheduler['\(name)'] (an empty list for none)", section: section, at: origin(section))
                    return nil
                }
                value = own
            }
            document[section, origin: config.origin(of: section)] = value
        case .mmcv:
            section = "lr_config"
            document["dialect"] = .string(ScheduleDialect.mmcv.rawValue)
            for key in ["lr_config", "momentum_config"] where config[key] != nil {
                document[key, origin: config.origin(of: key)] = config[key]
            }
        }
        guard var schedule = sink.attempt(section: section, at: origin(section), { try ScheduleConfig(document: document) }) else {
            return nil
        }
        if let name { schedule.labels = schedule.labels.map { $0.replacingOccurrences(of: "param_scheduler", with: "param_scheduler.\(name)") } }
        return schedule
    }
}
