import StepwiseABI
import StepwiseKit

/// MMEngine's `OptimWrapper`: gradient accumulation and gradient clipping around any
/// optimizer, in full precision.
///
/// Per iteration `i` the host runs backward on `loss / d(i)` (see `Accumulation`), and
/// when `i` ends a window: clip (`clip_grad_norm_` or `clip_grad_value_`), step, zero.
///
/// Non-finite gradients (`nonfinite`, a Stepwise key): MMEngine's OptimWrapper steps
/// whatever the gradients hold, and so does this one by default, but never silently:
/// - `warn` (default): check, step as MMEngine does, and report it (the host logs it);
/// - `skip`: check, and skip the optimizer step when a gradient is NaN or infinite;
/// - `error`: check, and stop with an error;
/// - `ignore`: no check at all (MMEngine exactly, and one pass over the gradients less).
/// The default keeps the numerics MMEngine users know (a diverging run diverges the same
/// way) while making the moment it happens visible.
final class PlainOptimWrapper: WrapperAlgorithm {
    enum Key: Int { case accumulativeCounts, clipGrad, nonfinite }
    enum NonFinite: String { case warn, skip, error, ignore }

    static let typeName = "OptimWrapper"
    static let summary = "Gradient accumulation and clipping around any optimizer (MMEngine's OptimWrapper)"
    static let reference = "mmengine.optim.OptimWrapper (mmengine 0.10.7); torch.nn.utils.clip_grad_norm_ / clip_grad_value_"
    static let hyperparams: [Hyperparam] = [
        CommonKeys.accumulativeCounts,
        CommonKeys.clipGrad,
        .string("nonfinite", "warn", choices: ["warn", "skip", "error", "ignore"],
                doc: "non-finite gradients: warn (step as MMEngine does, and report it), skip the step, error, or ignore (no check)"),
    ]

    static func check(_ values: Values) throws(PluginError) {
        _ = try ClipGrad.parse(ConfigJSON.read(values, Key.clipGrad.rawValue), wrapper: typeName)
    }

    let host: Host
    let accumulation: Accumulation
    let clip: ClipGrad?
    let nonFinite: NonFinite

    init(host: Host, values: Values, setup: WrapperSetup) throws(PluginError) {
        self.host = host
        accumulation = Accumulation(counts: values.int(Key.accumulativeCounts.rawValue), maxIters: setup.maxIters)
        clip = try ClipGrad.parse(ConfigJSON.read(values, Key.clipGrad.rawValue), wrapper: Self.typeName)
        nonFinite = NonFinite(rawValue: values.string(Key.nonfinite.rawValue)) ?? .warn
    }

    func lossFactor(iter: Int) -> Double { 1 / Double(accumulation.divisor(iter: iter)) }

    func shouldUpdate(iter: Int) -> Bool { accumulation.shouldUpdate(iter: iter) }

    func preStep(_ grads: GradSet) throws(PluginError) -> PreStepOutcome {
        let found = nonFinite != .ignore && !GradOps.allFinite(grads, host: host)
        if found {
            switch nonFinite {
            case .skip:
                return PreStepOutcome(step: false, foundNonFinite: true)
            case .error:
                throw PluginError(STEPWISE_NON_FINITE,
                    "a gradient holds NaN or infinity; set the wrapper's nonfinite to 'skip' to skip such steps, or 'warn' to apply them as MMEngine does")
            case .warn, .ignore:
                break
            }
        }
        let norm = try clip?.apply(grads, host: host)
        return PreStepOutcome(step: true, foundNonFinite: found, gradNorm: norm.flatMap { $0.isFinite ? Double($0) : nil })
    }
}
