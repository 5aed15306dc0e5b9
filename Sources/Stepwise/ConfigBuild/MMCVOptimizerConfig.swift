/// MMCV 1.x's optimizer sections as the `optim_wrapper` MMEngine's migration guide maps
/// them to: `optimizer` (with `paramwise_cfg` / `paramwise_options` inside), the
/// `optimizer_config` hook, and the top-level `fp16` the downstream train scripts merge
/// into it. The hook names a training script picks without a `type` are resolved as those
/// scripts do:
/// - MMSelfSup 0.x: `update_interval` (or `frozen_layers_cfg`) means its DistOptimizerHook,
///   whose accumulation is GradientCumulativeOptimizerHook's (a short last window divides
///   by its own length); with `fp16`, GradAccumFp16OptimizerHook, which always divides by
///   `update_interval` and never steps a short last window (`countsToEnd` false).
/// - MMDetection / MMClassification 2.x: `fp16 = dict(loss_scale=...)` makes the hook
///   Fp16OptimizerHook(**optimizer_config, **fp16).
enum MMCVOptimizerConfig {
    /// Hook keys that only steer distributed all-reduce, which a single process has none of.
    static let distributedKeys: Set<String> = ["coalesce", "bucket_size_mb", "distributed"]

    struct Translation {
        var wrapper: ConfigDict
        /// Whether the wrapper learns the run's length (MMEngine's `initialize_count_status`,
        /// MMCV's GradientCumulativeOptimizerHook) to divide a short last window by its length.
        var countsToEnd = true
    }

    static func optimWrapper(_ config: ConfigDict) throws -> Translation {
        let file = ConfigOrigin(file: config.origin?.file ?? "<config>")
        guard let optimizerValue = config["optimizer"] else {
            throw StepwiseError.config("the config has no optimizer: add optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01)) "
                                       + "(MMEngine) or optimizer = dict(type='SGD', lr=0.01) (MMCV) in \(file)")
        }
        let optimizerOrigin = config.origin(of: "optimizer") ?? file
        guard var optimizer = optimizerValue.dict else {
            throw StepwiseError.config("optimizer must be a dict with a 'type', got \(optimizerValue.typeDescription) in \(optimizerOrigin)")
        }
        if optimizer["type"] == nil, !optimizer.isEmpty, optimizer.entries.allSatisfy({ $0.value.dict != nil }) {
            throw StepwiseError.config("optimizer holds one optimizer per sub-model (\(optimizer.keys.joined(separator: ", "))), "
                                       + "which MMCV trains only through a model's own train_step; write optim_wrapper with one "
                                       + "named wrapper per sub-model instead (MMEngine's OptimWrapperDict) in \(optimizerOrigin)")
        }
        if optimizer.origin == nil { optimizer.origin = optimizerOrigin }

        var hook = ConfigDict(origin: config.origin(of: "optimizer_config") ?? optimizerOrigin)
        if let value = config["optimizer_config"], value != .null {
            guard let d = value.dict else {
                throw StepwiseError.config("optimizer_config must be a dict, got \(value.typeDescription) in \(hook.origin ?? file)")
            }
            hook = d
            if hook.origin == nil { hook.origin = config.origin(of: "optimizer_config") }
        }
        let selfSupAccumulation = hook["type"] == nil && hook["update_interval"] != nil
        hook = try resolveDistributedHook(hook)
        var countsToEnd = true
        if let fp16 = config["fp16"], fp16 != .null {
            hook = try mergeFP16(fp16, into: hook, at: config.origin(of: "fp16") ?? file)
            countsToEnd = !selfSupAccumulation
        }
        do {
            var wrapper = try OptimWrapperConfig.fromMMCV(optimizer: optimizer, optimizerConfig: hook)
            wrapper.origin = optimizerOrigin
            return Translation(wrapper: wrapper, countsToEnd: countsToEnd)
        } catch let e as StepwiseError {
            let key = DiagnosticSink.namedKey(in: e)
            let at = key.flatMap { hook.origin(of: $0) } ?? hook.origin ?? file
            throw StepwiseError(e.category, "\(e.message) in \(at)")
        }
    }

    /// MMSelfSup's DistOptimizerHook (named, or implied by its keys) as the MMCV hook with
    /// the same arithmetic.
    private static func resolveDistributedHook(_ hook: ConfigDict) throws -> ConfigDict {
        let type = hook["type"]?.string
        let implied = type == nil && (hook["update_interval"] != nil || hook["frozen_layers_cfg"] != nil)
        guard type == "DistOptimizerHook" || implied else { return hook }
        var out = ConfigDict(origin: hook.origin)
        var interval: ConfigValue = .int(1)
        for e in hook.entries {
            switch e.key {
            case "type": continue
            case "update_interval":
                guard let n = e.value.int, n >= 1 else {
                    throw StepwiseError.config("optimizer_config update_interval must be a positive int in \(e.origin ?? hook.origin ?? ConfigOrigin(file: "<config>"))")
                }
                interval = e.value
                out["cumulative_iters", origin: e.origin] = e.value
            case "frozen_layers_cfg":
                if let d = e.value.dict, d.isEmpty { continue }
                throw StepwiseError.config("optimizer_config frozen_layers_cfg (dropping some layers' gradients for their first "
                                           + "iterations) is not supported: clear those gradients in the model code instead, or "
                                           + "remove the key in \(e.origin ?? hook.origin ?? ConfigOrigin(file: "<config>"))")
            default:
                if !distributedKeys.contains(e.key) { out[e.key, origin: e.origin] = e.value }
            }
        }
        let cumulative = (interval.int ?? 1) > 1
        out["type", origin: hook.origin(of: "type")] = .string(cumulative ? "GradientCumulativeOptimizerHook" : "OptimizerHook")
        if !cumulative { out["cumulative_iters"] = nil }
        return out
    }

    /// `Fp16OptimizerHook(**optimizer_config, **fp16)`: the hook becomes its fp16 flavour
    /// and takes the fp16 dict's keys; a key in both is Python's "multiple values" error.
    private static func mergeFP16(_ fp16: ConfigValue, into hook: ConfigDict, at origin: ConfigOrigin) throws -> ConfigDict {
        guard let extra = fp16.dict else {
            throw StepwiseError.config("fp16 must be a dict such as dict(loss_scale=512.), got \(fp16.typeDescription) in \(origin)")
        }
        var out = hook
        let type = hook["type"]?.string ?? "OptimizerHook"
        switch type {
        case "OptimizerHook", "Fp16OptimizerHook": out["type"] = .string("Fp16OptimizerHook")
        case "GradientCumulativeOptimizerHook", "GradientCumulativeFp16OptimizerHook":
            out["type"] = .string("GradientCumulativeFp16OptimizerHook")
        default:
            throw StepwiseError.config("fp16 turns optimizer_config into an fp16 optimizer hook, but it is \(type) in \(origin)")
        }
        for e in extra.entries {
            if e.key == "type" {
                throw StepwiseError.config("fp16 type '\(ValueCodec.render(e.value))' (e.g. apex) is not supported; native "
                                           + "mixed precision takes only loss_scale in \(e.origin ?? origin)")
            }
            if hook[e.key] != nil {
                throw StepwiseError.config("'\(e.key)' is given in both optimizer_config and fp16 (Python: got multiple values "
                                           + "for keyword argument '\(e.key)') in \(e.origin ?? origin)")
            }
            out[e.key, origin: e.origin ?? origin] = e.value
        }
        return out
    }
}
