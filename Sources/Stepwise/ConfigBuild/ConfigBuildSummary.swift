extension ConfigBuild {
    /// What was built, one line per component, for `stepwise config check`.
    public var summary: [String] {
        var lines: [String] = []
        let runner = style == .mmengine ? "MMEngine" : "MMCV 1.x"
        switch loop.length {
        case .epochs(let e):
            let validate = loop.valInterval > 0 ? ", validating every \(loop.valInterval) epoch\(loop.valInterval == 1 ? "" : "s")" : ""
            lines.append("loop (\(runner)): \(e) epochs of \(scheduleLoop.itersPerEpoch) iteration\(scheduleLoop.itersPerEpoch == 1 ? "" : "s")"
                         + " = \(maxIters) iterations\(validate)")
        case .iterations(let n):
            let validate = loop.valInterval > 0 ? ", validating every \(loop.valInterval) iterations" : ""
            lines.append("loop (\(runner)): \(n) iterations\(validate)")
        }
        for s in scheduled {
            let w = s.wrapper
            let settings = w.values.explicitKeys.filter { $0 != "type" }.compactMap { key in
                w.values[key].map { "\(key)=\(ValueCodec.render($0))" }
            }
            let groups = w.paramGroups.count
            let total = s.name.map { n in params.filter { $0.name.hasPrefix(n + ".") }.count } ?? params.count
            let name = s.name.map { "[\($0)] " } ?? ""
            lines.append("wrapper: \(name)\(w.typeName)\(settings.isEmpty ? "" : " (\(settings.joined(separator: ", ")))") over "
                         + "\(w.optimizer.component.typeName), \(groups) param group\(groups == 1 ? "" : "s") "
                         + "(\(Self.sourceName(w.plan.source))) over \(w.optimizer.params.count) of \(total) parameters")
            if s.types.isEmpty {
                lines.append("  schedulers: none (constant hyperparameters)")
            }
            for (label, type) in zip(s.labels, s.types) {
                lines.append("  \(label): \(type)")
            }
        }
        for h in hooks {
            lines.append("hook: \(h.name) (priority \(h.priority))")
        }
        return lines
    }

    private static func sourceName(_ s: ParamGroupPlan.Source) -> String {
        switch s {
        case .single: "no paramwise settings"
        case .paramwiseCfg: "paramwise_cfg"
        case .paramwiseOptions: "paramwise_options"
        case .paramGroups: "param_groups"
        }
    }
}

/// Where every value of a config came from, by key path (`optim_wrapper.optimizer.lr`,
/// list elements by index as `--cfg-options` writes them: `param_scheduler.0.end`).
public enum ConfigOrigins {
    public static func flatten(_ config: ConfigDict) -> [(path: String, origin: ConfigOrigin?)] {
        var out: [(path: String, origin: ConfigOrigin?)] = []
        func walk(_ d: ConfigDict, _ prefix: String) {
            for e in d.entries {
                let path = prefix.isEmpty ? e.key : prefix + "." + e.key
                out.append((path, e.origin))
                walkValue(e.value, path, e.origin)
            }
        }
        func walkValue(_ v: ConfigValue, _ path: String, _ origin: ConfigOrigin?) {
            switch v {
            case .dict(let d): walk(d, path)
            case .list(let l):
                for (i, item) in l.enumerated() where item.dict != nil || item.list != nil {
                    // A list element has no key of its own; it was written where the list was.
                    out.append(("\(path).\(i)", item.dict?.origin ?? origin))
                    walkValue(item, "\(path).\(i)", item.dict?.origin ?? origin)
                }
            default: break
            }
        }
        walk(config, "")
        return out
    }
}
