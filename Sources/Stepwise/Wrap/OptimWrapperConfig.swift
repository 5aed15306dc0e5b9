/// An `optim_wrapper` config split into what the host reads itself and what goes to the
/// wrapper and optimizer components:
///
///     optim_wrapper:
///       type: AmpOptimWrapper          # the wrapper component (default OptimWrapper)
///       optimizer: {type: AdamW, lr: 1.0e-3, weight_decay: 0.05}
///       paramwise_cfg: {norm_decay_mult: 0.0, custom_keys: {backbone: {lr_mult: 0.1}}}
///       accumulative_counts: 2         # the wrapper's own keys
///       loss_scale: dynamic
///
/// Parameter-wise settings come from exactly one of: `paramwise_cfg` (MMEngine; in the
/// optimizer dict for MMCV 1.x), `paramwise_options` in the optimizer dict (MMCV /
/// MMSelfSup regexes), `param_groups` (torch / MindSpore groups; also the optimizer's
/// `params` list, as MindSpore passes them).
public struct OptimWrapperConfig: Sendable {
    /// `type` plus the wrapper's hyperparameters.
    public var wrapper: ConfigDict
    /// The optimizer config without the host's keys.
    public var optimizer: ConfigDict
    public var paramwiseCfg: ConfigDict?
    public var paramwiseOptions: ConfigDict?
    public var paramGroups: [ConfigValue]?
    public var origin: ConfigOrigin?
    /// `optimizer: {type: ZeroRedundancyOptimizer, optimizer_type: X, ...}` (MMEngine's
    /// name): X's state is sharded across the ranks of a data-parallel run (ZeRO-1). In
    /// one process it is X.
    public var shardsOptimizerState = false

    /// Keys of `optim_wrapper` that are not the wrapper component's.
    static let hostKeys = ["type", "optimizer", "paramwise_cfg", "param_groups", "constructor"]

    public init(_ config: ConfigDict) throws {
        origin = config.origin
        let at = config.origin.map { " in \($0)" } ?? ""
        if let c = config["constructor"]?.string, c != "DefaultOptimWrapperConstructor" {
            throw StepwiseError.config("optim_wrapper constructor '\(c)' is not supported for a single wrapper (DefaultOptimWrapperConstructor is; named wrappers use MultiOptimWrapperConstructor)\(at)")
        }
        guard let optimizerValue = config["optimizer"] else {
            throw StepwiseError.config("optim_wrapper config must contain an 'optimizer' dict (e.g. optimizer: {type: SGD, lr: 0.01})\(at)")
        }
        guard var optimizer = optimizerValue.dict else {
            throw StepwiseError.config("optim_wrapper 'optimizer' must be a dict with a 'type', got \(optimizerValue.typeDescription)\(at)")
        }
        if optimizer.origin == nil { optimizer.origin = config.origin }
        if optimizer["type"]?.string == "ZeroRedundancyOptimizer" {
            let zeroAt = optimizer.origin(of: "type").map { " in \($0)" } ?? at
            guard let inner = optimizer["optimizer_type"]?.string else {
                throw StepwiseError.config("ZeroRedundancyOptimizer needs 'optimizer_type', the optimizer whose state it shards (e.g. optimizer_type: AdamW)\(zeroAt)")
            }
            optimizer["type", origin: optimizer.origin(of: "optimizer_type")] = .string(inner)
            optimizer["optimizer_type"] = nil
            shardsOptimizerState = true
        }
        var wrapper = ConfigDict([], origin: config.origin)
        wrapper["type", origin: config.origin(of: "type")] = config["type"] ?? .string("OptimWrapper")
        for e in config.entries where !Self.hostKeys.contains(e.key) {
            wrapper[e.key, origin: e.origin] = e.value
        }
        func dict(_ v: ConfigValue?, _ what: String) throws -> ConfigDict? {
            guard let v, v != .null else { return nil }
            guard var d = v.dict else { throw StepwiseError.config("\(what) must be a dict, got \(v.typeDescription)\(at)") }
            if d.origin == nil { d.origin = config.origin }
            return d
        }
        var sources: [String] = []
        paramwiseCfg = try dict(config["paramwise_cfg"], "paramwise_cfg")
        if paramwiseCfg != nil { sources.append("paramwise_cfg") }
        if let mmcv = try dict(optimizer["paramwise_cfg"], "optimizer paramwise_cfg") {
            paramwiseCfg = mmcv
            sources.append("optimizer.paramwise_cfg")
        }
        paramwiseOptions = try dict(optimizer["paramwise_options"], "paramwise_options")
        if paramwiseOptions != nil { sources.append("optimizer.paramwise_options") }
        for (key, value) in [("param_groups", config["param_groups"]), ("optimizer.params", optimizer["params"])] {
            guard let value, value != .null else { continue }
            guard let list = value.list else { throw StepwiseError.config("\(key) must be a list of group dicts\(at)") }
            paramGroups = list
            sources.append(key)
        }
        guard sources.count <= 1 else {
            throw StepwiseError.config("optim_wrapper sets parameter-wise options in more than one way (\(sources.joined(separator: ", "))); keep one\(at)")
        }
        for key in ["paramwise_cfg", "paramwise_options", "params"] { optimizer[key] = nil }
        self.wrapper = wrapper
        self.optimizer = optimizer
    }

    /// The param groups for `params` (model order). `explicitGroups` (the Swift API's
    /// torch-style groups) take the place of any config setting.
    public func plan(params: [ParamSpec], explicitGroups: [ConfigDict]? = nil) throws -> ParamGroupPlan {
        if let explicitGroups {
            guard paramwiseCfg == nil && paramwiseOptions == nil && paramGroups == nil else {
                throw StepwiseError.config("param groups were given both in code and in the optim_wrapper config; keep one")
            }
            return try Paramwise.paramGroups(explicitGroups.map(ConfigValue.dict), params: params, origin: origin)
        }
        if let cfg = paramwiseCfg, !cfg.isEmpty {
            return try Paramwise.paramwiseCfg(cfg, optimizer: optimizer, params: params)
        }
        if let options = paramwiseOptions {
            return try Paramwise.paramwiseOptions(options, optimizer: optimizer, params: params)
        }
        if let groups = paramGroups {
            return try Paramwise.paramGroups(groups, params: params, origin: origin)
        }
        return Paramwise.single(params)
    }

    /// MMCV 1.x's top-level `optimizer` and `optimizer_config` (OptimizerHook,
    /// GradientCumulativeOptimizerHook, Fp16OptimizerHook and their cumulative fp16 mix)
    /// as the equivalent `optim_wrapper`, the way MMEngine's migration guide maps them.
    public static func fromMMCV(optimizer: ConfigDict, optimizerConfig: ConfigDict?) throws -> ConfigDict {
        var out = ConfigDict([], origin: optimizer.origin)
        let hook = optimizerConfig?["type"]?.string ?? "OptimizerHook"
        let known = ["OptimizerHook", "GradientCumulativeOptimizerHook", "Fp16OptimizerHook", "GradientCumulativeFp16OptimizerHook"]
        guard known.contains(hook) else {
            throw StepwiseError.config("optimizer_config type '\(hook)' has no optim_wrapper equivalent (known: \(known.joined(separator: ", ")))")
        }
        let fp16 = hook.contains("Fp16")
        out["type"] = .string(fp16 ? "AmpOptimWrapper" : "OptimWrapper")
        out["optimizer"] = .dict(optimizer)
        for e in optimizerConfig?.entries ?? [] {
            switch e.key {
            case "type", "detect_anomalous_params", "coalesce", "bucket_size_mb", "distributed": continue
            case "grad_clip": if e.value != .null { out["clip_grad", origin: e.origin] = e.value }
            case "cumulative_iters": out["accumulative_counts", origin: e.origin] = e.value
            case "loss_scale" where fp16: out["loss_scale", origin: e.origin] = e.value
            default:
                throw StepwiseError.config("optimizer_config key '\(e.key)' is not understood for \(hook)")
            }
        }
        // MMCV's Fp16OptimizerHook defaults to a static scale of 512.
        if fp16 && out["loss_scale"] == nil { out["loss_scale"] = .float(512) }
        return out
    }
}
