import StepwiseABI
import StepwiseKit

/// MMEngine's `AmpOptimWrapper`: accumulation and clipping as OptimWrapper, plus loss
/// scaling with torch's `GradScaler`.
///
/// The scale `s` is a float32 value. Backward runs on `loss / d(i) * s`. At the end of a
/// window the gradients are multiplied by `float32(1 / s)` and checked (any NaN or
/// infinity: the step is skipped), then clipped; after the step (or the skip) `update`:
///
///     found inf:  s = s * backoff_factor, tracker = 0
///     otherwise:  tracker += 1; if tracker == growth_interval:
///                     s = s * growth_factor (kept only if finite), tracker = 0
///     static loss_scale (a number): s is reset to that number, nothing else changes
///
/// Source: mmengine/optim/optimizer/amp_optimizer_wrapper.py (0.10.7),
/// torch/amp/grad_scaler.py and aten/src/ATen/native/cpu/AmpGradScalerKernels.cpp.
final class AmpOptimWrapper: WrapperAlgorithm {
    enum Key: Int { case accumulativeCounts, clipGrad, lossScale, dtype, useFSDP }

    static let typeName = "AmpOptimWrapper"
    static let summary = "Mixed precision with loss scaling (torch GradScaler), accumulation and clipping (MMEngine's AmpOptimWrapper)"
    static let reference = "mmengine.optim.AmpOptimWrapper (mmengine 0.10.7); torch.amp.GradScaler"
    static let hyperparams: [Hyperparam] = [
        CommonKeys.accumulativeCounts,
        CommonKeys.clipGrad,
        Hyperparam("loss_scale", STEPWISE_TYPE_JSON, default: .json("\"dynamic\""),
                   doc: "'dynamic' (GradScaler defaults), a number (static scale), or {init_scale, growth_factor, backoff_factor, growth_interval, enabled}"),
        .string("dtype", nil, choices: ["float16", "bfloat16", "float32"],
                doc: "the low precision model code runs in (None: bfloat16, torch's CPU autocast default)"),
        .bool("use_fsdp", false, flags: UInt32(STEPWISE_HP_NO_EFFECT),
              doc: "accepted for MMEngine compatibility; no effect (no sharded training here)"),
    ]

    /// GradScaler's constructor arguments, as MMEngine derives them from `loss_scale`.
    struct ScalerConfig: Equatable {
        var initScale = 65536.0
        var growthFactor = 2.0
        var backoffFactor = 0.5
        var growthInterval = 2000
        var enabled = true
        /// MMEngine's `_scale_update_param`: a static scale restored at every update.
        var staticScale: Double? = nil

        static func parse(_ json: ConfigJSON) throws(PluginError) -> ScalerConfig {
            var c = ScalerConfig()
            switch json {
            case .string("dynamic"):
                return c
            case .number(let x):
                // MMEngine wants a Python float here; an int means the same scale.
                guard x.isFinite, x > 0 else { throw .invalid("AmpOptimWrapper: a static loss_scale must be a positive finite number, got \(json.rendered)") }
                c.initScale = x
                c.staticScale = x
                return c
            case .dict(let entries):
                for (key, value) in entries {
                    switch key {
                    case "init_scale":
                        guard let x = value.number, x.isFinite, x > 0 else { throw .invalid("AmpOptimWrapper: loss_scale init_scale must be a positive number, got \(value.rendered)") }
                        c.initScale = x
                    case "growth_factor":
                        guard let x = value.number, x > 1 else { throw .invalid("AmpOptimWrapper: The growth factor must be > 1.0 (loss_scale growth_factor = \(value.rendered))") }
                        c.growthFactor = x
                    case "backoff_factor":
                        guard let x = value.number, x < 1 else { throw .invalid("AmpOptimWrapper: The backoff factor must be < 1.0 (loss_scale backoff_factor = \(value.rendered))") }
                        guard x > 0 else { throw .invalid("AmpOptimWrapper: loss_scale backoff_factor must be positive, got \(value.rendered)") }
                        c.backoffFactor = x
                    case "growth_interval":
                        guard let n = value.int, n >= 1 else { throw .invalid("AmpOptimWrapper: loss_scale growth_interval must be a positive int, got \(value.rendered)") }
                        c.growthInterval = n
                    case "enabled":
                        guard let b = value.bool else { throw .invalid("AmpOptimWrapper: loss_scale enabled must be a bool, got \(value.rendered)") }
                        c.enabled = b
                    default:
                        throw .invalid("AmpOptimWrapper: unknown loss_scale key '\(key)' (GradScaler takes init_scale, growth_factor, backoff_factor, growth_interval, enabled)")
                    }
                }
                return c
            default:
                throw .invalid("AmpOptimWrapper: loss_scale must be of type float, dict, or \"dynamic\", but got \(json.rendered)")
            }
        }
    }

    static func check(_ values: Values) throws(PluginError) {
        _ = try ClipGrad.parse(ConfigJSON.read(values, Key.clipGrad.rawValue), wrapper: typeName)
        _ = try ScalerConfig.parse(ConfigJSON.read(values, Key.lossScale.rawValue))
    }

    let host: Host
    let accumulation: Accumulation
    let clip: ClipGrad?
    let config: ScalerConfig
    // GradScaler's state: torch keeps the scale as a float32 tensor.
    var scale: Float
    var growthTracker = 0
    var growthFactor: Double
    var backoffFactor: Double
    var growthInterval: Int
    // Whether the last pre_step found a non-finite gradient (torch's found_inf).
    var foundInf = false

    init(host: Host, values: Values, setup: WrapperSetup) throws(PluginError) {
        self.host = host
        accumulation = Accumulation(counts: values.int(Key.accumulativeCounts.rawValue), maxIters: setup.maxIters)
        clip = try ClipGrad.parse(ConfigJSON.read(values, Key.clipGrad.rawValue), wrapper: Self.typeName)
        config = try ScalerConfig.parse(ConfigJSON.read(values, Key.lossScale.rawValue))
        scale = Float(config.initScale)
        growthFactor = config.growthFactor
        backoffFactor = config.backoffFactor
        growthInterval = config.growthInterval
    }

    var lossScale: Double { config.enabled ? Double(scale) : 1 }

    func lossFactor(iter: Int) -> Double { lossScale / Double(accumulation.divisor(iter: iter)) }

    func shouldUpdate(iter: Int) -> Bool { accumulation.shouldUpdate(iter: iter) }

    func preStep(_ grads: GradSet) throws(PluginError) -> PreStepOutcome {
        guard config.enabled else {
            let norm = try clip?.apply(grads, host: host)
            return PreStepOutcome(step: true, gradNorm: norm.flatMap { $0.isFinite ? Double($0) : nil })
        }
        // torch: inv_scale = self._scale.double().reciprocal().float()
        foundInf = GradOps.unscale(grads, by: Float(1 / Double(scale)), host: host)
        // MMEngine clips after unscale_ even on an overflow step, which is then skipped.
        let norm = try clip?.apply(grads, host: host)
        return PreStepOutcome(step: !foundInf, foundNonFinite: foundInf,
                              gradNorm: norm.flatMap { $0.isFinite ? Double($0) : nil })
    }

    func postStep(stepped: Bool) throws(PluginError) {
        defer { foundInf = false }
        guard config.enabled else { return }
        if let fixed = config.staticScale {
            scale = Float(fixed)
        } else if foundInf {
            scale = Float(Double(scale) * backoffFactor)
            growthTracker = 0
        } else if growthTracker + 1 == growthInterval {
            let grown = Float(Double(scale) * growthFactor)
            if grown.isFinite { scale = grown }
            growthTracker = 0
        } else {
            growthTracker += 1
        }
    }

    static var hasState: Bool { true }

    // GradScaler.state_dict(): scale, growth_factor, backoff_factor, growth_interval,
    // _growth_tracker.
    func saveState(_ w: StateWriter) throws(PluginError) {
        try w.float(scale)
        try w.double(growthFactor)
        try w.double(backoffFactor)
        try w.scalar(Int64(growthInterval))
        try w.scalar(Int64(growthTracker))
    }

    func loadState(_ r: StateReader) throws(PluginError) {
        let s = try r.float()
        let growth = try r.double()
        let backoff = try r.double()
        let interval = try r.scalar(Int64.self)
        let tracker = try r.scalar(Int64.self)
        try r.expectEnd()
        guard s.isFinite, s > 0 else { throw .badState("loss scaler state has an invalid scale \(s)") }
        guard growth > 1, backoff > 0, backoff < 1 else {
            throw .badState("loss scaler state has invalid factors (growth \(growth), backoff \(backoff))")
        }
        guard interval >= 1, tracker >= 0, tracker < interval else {
            throw .badState("loss scaler state has an invalid growth tracker \(tracker) for interval \(interval)")
        }
        scale = s
        growthFactor = growth
        backoffFactor = backoff
        growthInterval = Int(interval)
        growthTracker = Int(tracker)
    }
}
