import StepwiseABI

/// Builds scheduler instances from config dicts in one dialect: finds the component,
/// applies the dialect's build rules (MMEngine's default `end` and
/// `convert_to_iter_based`), resolves what it drives and builds its children.
struct ScheduleBuilder {
    let registry: PluginRegistry
    let dialect: ScheduleDialect
    let source: ScheduleValueSource
    let loop: ScheduleLoopShape

    /// MMEngine's `INF`, the `end` of a window that never closes.
    static let mmengineInfinity: Int64 = 1_000_000_000

    func build(_ config: ConfigDict, label: String, group: Int? = nil) throws -> BuiltScheduler {
        let component = try find(config, label: label)
        var dict = config
        if dialect == .mmengine { dict = try mmengineDefaults(dict, component: component, label: label) }
        let values: ResolvedValues
        do { values = try component.resolve(dict) } catch let e as StepwiseError {
            throw StepwiseError(e.category, "\(label): \(e.message)")
        }
        guard let api = component.schedulerAPI else { throw StepwiseError.plugin("\(component.typeName) has no scheduler api") }

        let slot = try target(api.pointee.target, values: values, component: component, label: label)
        var children: [BuiltScheduler] = []
        for h in component.hyperparams where h.has(STEPWISE_HP_SCHEDULERS) {
            guard let list = dict[h.name]?.list else { continue }
            for (i, item) in list.enumerated() {
                let childLabel = "\(label).\(h.name)[\(i)]"
                guard let childConfig = item.dict else {
                    throw StepwiseError.config("\(childLabel) must be a scheduler config dict, got \(item.typeDescription)")
                }
                let child = try build(childConfig, label: childLabel, group: group)
                if child.needsMetrics {
                    throw StepwiseError.config("\(component.typeName) cannot contain \(child.component.typeName) (\(childLabel)): "
                                               + "it steps on validation metrics, which a container does not pass on; list it "
                                               + "beside the container instead")
                }
                guard child.slot == slot else {
                    throw StepwiseError.config("\(childLabel) drives \(child.slot), but its container \(component.typeName) "
                                               + "drives \(slot)")
                }
                children.append(child)
            }
        }
        let alsoMomentum = api.pointee.flags & UInt32(STEPWISE_SCHED_ALSO_MOMENTUM) != 0
        if alsoMomentum && values["cycle_momentum"]?.bool != false && source.slot(role: STEPWISE_ROLE_MOMENTUM) == nil {
            throw StepwiseError.config("\(label) (\(component.typeName)): the optimizer must support momentum or beta1 with "
                                       + "cycle_momentum enabled; set cycle_momentum=False")
        }
        let cyclesMomentum = alsoMomentum || children.contains { $0.momentumSlot != nil }
        return try BuiltScheduler(component: component, values: values, slot: slot,
                                  momentumSlot: cyclesMomentum ? source.slot(role: STEPWISE_ROLE_MOMENTUM) : nil,
                                  children: children, group: group, groupCount: source.groupCount, loop: loop,
                                  label: label)
    }

    /// The component a `type` names in this dialect. torch's schedulers are registered as
    /// `torch_<Name>` because MMEngine reuses most of their names.
    func find(_ config: ConfigDict, label: String) throws -> Component {
        guard let type = config["type"]?.string else {
            throw StepwiseError.config("\(label) has no 'type'\(ScheduleConfig.at(config, "type"))")
        }
        let origin = config.origin(of: "type")
        var candidates = [type]
        if dialect == .torch && !type.hasPrefix("torch_") { candidates.insert("torch_" + type, at: 0) }
        for name in candidates {
            guard let c = try? registry.component(.scheduler, type: name, origin: origin) else { continue }
            guard let d = c.schedulerAPI.flatMap({ ScheduleDialect($0.pointee.dialect) }), d == dialect else { continue }
            return c
        }
        if let other = try? registry.component(.scheduler, type: type, origin: origin),
           let d = other.schedulerAPI.flatMap({ ScheduleDialect($0.pointee.dialect) }) {
            throw StepwiseError.config("\(label): '\(type)'\(ScheduleConfig.at(config, "type")) is \(d.title == "MMEngine" ? "an" : "a") "
                                       + "\(d.title) scheduler, but this config's dialect is \(dialect.rawValue); set "
                                       + "dialect: \(d.rawValue), or use a \(dialect.title) scheduler")
        }
        if dialect != .torch, let torch = try? registry.component(.scheduler, type: "torch_" + type, origin: origin),
           torch.schedulerAPI?.pointee.dialect == STEPWISE_DIALECT_TORCH {
            throw StepwiseError.config("\(label): '\(type)'\(ScheduleConfig.at(config, "type")) is a torch scheduler, but this "
                                       + "config's dialect is \(dialect.rawValue); set dialect: torch")
        }
        if dialect == .mmcv {
            let policies = registry.components(kind: .scheduler).filter { $0.schedulerAPI?.pointee.dialect == STEPWISE_DIALECT_MMCV }
                .map(\.typeName)
            let suffix = type.hasSuffix("MomentumUpdaterHook") ? "MomentumUpdaterHook" : "LrUpdaterHook"
            let known = policies.filter { $0.hasSuffix(suffix) }.map { String($0.dropLast(suffix.count)) }
            throw StepwiseError.config("\(label): unknown policy '\(type.dropLast(suffix.count))'\(ScheduleConfig.at(config, "type")): "
                                       + "no \(type) is registered (policies: \(known.joined(separator: ", ")))")
        }
        _ = try registry.component(.scheduler, type: candidates.last ?? type, origin: origin)
        throw StepwiseError.config("\(label): no \(dialect.title) scheduler named '\(type)'")
    }

    /// `Runner._build_param_scheduler` and `build_scheduler_from_cfg`: `end` defaults to the
    /// loop's epochs (or iterations when `by_epoch` is false); `convert_to_iter_based`
    /// multiplies begin, end and every period by the epoch length.
    func mmengineDefaults(_ config: ConfigDict, component: Component, label: String) throws -> ConfigDict {
        var dict = config
        let byEpoch = dict["by_epoch"]?.bool ?? true
        if component.hyperparam(named: "end") != nil, dict["end"] == nil, loop.epochs > 0 {
            dict["end"] = .int(Int64(byEpoch ? loop.epochs : loop.maxIters))
        }
        guard dict["convert_to_iter_based"]?.bool == true else { return dict }
        guard component.hyperparam(named: "convert_to_iter_based") != nil else {
            throw StepwiseError.config("\(label): \(component.typeName) cannot be converted to iteration-based "
                                       + "(remove convert_to_iter_based)")
        }
        guard byEpoch else {
            throw StepwiseError.config("\(label): only an epoch-based scheduler (by_epoch=True) can be converted to "
                                       + "iteration-based")
        }
        let length = Int64(loop.itersPerEpoch)
        guard length > 0 else {
            throw StepwiseError.config("\(label): convert_to_iter_based needs the epoch length (iterations per epoch)")
        }
        func scaled(_ n: Int64, _ key: String) throws -> ConfigValue {
            let (product, overflow) = n.multipliedReportingOverflow(by: length)
            guard !overflow else {
                throw StepwiseError.config("\(label): \(key) = \(n) epochs is too many iterations to convert")
            }
            return .int(product)
        }
        for h in component.hyperparams where h.has(STEPWISE_HP_PERIOD) {
            guard let value = dict[h.name] else { continue }
            switch value {
            case .int(let n) where h.name == "end" && n == Self.mmengineInfinity: break
            case .int(let n): dict[h.name] = try scaled(n, h.name)
            case .list(let items): dict[h.name] = .list(try items.map { try $0.int.map { try scaled($0, h.name) } ?? $0 })
            default: break
            }
        }
        dict["by_epoch"] = .bool(false)
        dict["convert_to_iter_based"] = .bool(false)
        return dict
    }

    /// The slot a component's target names.
    func target(_ target: stepwise_schedule_target, values: ResolvedValues, component: Component,
                label: String) throws -> ScheduleSlot {
        switch target {
        case STEPWISE_TARGET_LR:
            guard let s = source.slot(role: STEPWISE_ROLE_LR) else {
                throw StepwiseError.config("\(label) (\(component.typeName)) schedules the learning rate, but the optimizer has none")
            }
            return s
        case STEPWISE_TARGET_MOMENTUM:
            guard let s = source.slot(role: STEPWISE_ROLE_MOMENTUM) else {
                throw StepwiseError.config("\(label) (\(component.typeName)): the optimizer must support momentum (SGD's "
                                           + "momentum or Adam's betas) when using a momentum scheduler")
            }
            return s
        default:
            guard let name = values["param_name"]?.string else {
                throw StepwiseError.config("\(label) (\(component.typeName)) needs 'param_name'")
            }
            guard let s = try source.slot(named: name) else {
                throw StepwiseError.config("\(label) (\(component.typeName)): param_name '\(name)' is not a hyperparameter of "
                                           + "the optimizer's param groups")
            }
            return s
        }
    }
}
