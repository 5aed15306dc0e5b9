import StepwiseABI
import StepwiseKit

/// MMEngine's gradient accumulation (OptimWrapper.scale_loss / should_update /
/// initialize_count_status), as a pure function of the iteration index.
///
/// With `k = accumulative_counts` and `max_iters` known, the loss of iteration `i` is
/// divided by `k`, except in the last, short window (`i >= max_iters - max_iters % k`)
/// where it is divided by that window's real length `max_iters % k`. The optimizer
/// steps after iteration `i` when `(i + 1) % k == 0` or `i + 1 == max_iters`.
struct Accumulation {
    let counts: Int
    let maxIters: Int?

    /// The divisor of iteration `iter`'s loss.
    func divisor(iter: Int) -> Int {
        guard counts > 1, let maxIters else { return counts }
        let remainder = maxIters % counts
        // Past the planned end MMEngine would fail an assertion; full windows continue.
        if remainder == 0 || iter < maxIters - remainder || iter >= maxIters { return counts }
        return remainder
    }

    func shouldUpdate(iter: Int) -> Bool {
        (iter + 1) % counts == 0 || (maxIters.map { iter + 1 == $0 } ?? false)
    }
}

/// The `clip_grad` dict of an MMEngine optimizer wrapper: the keyword arguments of
/// `torch.nn.utils.clip_grad_norm_` (`type: norm`, the default) or `clip_grad_value_`.
enum ClipGrad: Equatable {
    case norm(maxNorm: Double, normType: Double, errorIfNonFinite: Bool)
    case value(Double)

    /// Parses and validates `clip_grad`; nil when it is None.
    static func parse(_ json: ConfigJSON, wrapper: String) throws(PluginError) -> ClipGrad? {
        if case .null = json { return nil }
        guard let entries = json.dict, !entries.isEmpty else {
            throw .invalid("\(wrapper): clip_grad must be a non-empty dict of clip_grad_norm_ or clip_grad_value_ arguments, e.g. {max_norm: 1.0}; got \(json.rendered)")
        }
        var kind = "norm"
        var args: [(String, ConfigJSON)] = []
        for (key, value) in entries {
            if key == "type" {
                guard let s = value.string else { throw .invalid("\(wrapper): clip_grad type must be \"norm\" or \"value\", got \(value.rendered)") }
                kind = s
            } else {
                args.append((key, value))
            }
        }
        guard kind == "norm" || kind == "value" else {
            throw .invalid("\(wrapper): type of clip_grad should be \"norm\" or \"value\" but got '\(kind)'")
        }
        guard !args.isEmpty else {
            throw .invalid("\(wrapper): clip_grad needs arguments besides 'type' (\(kind == "norm" ? "max_norm" : "clip_value"))")
        }
        let allowed = kind == "norm" ? ["max_norm", "norm_type", "error_if_nonfinite", "foreach"] : ["clip_value", "foreach"]
        for (key, _) in args where !allowed.contains(key) {
            throw .invalid("\(wrapper): clip_grad of type '\(kind)' got an unexpected key '\(key)' (accepted: \(allowed.joined(separator: ", ")))")
        }
        func value(_ key: String) -> ConfigJSON? { args.first { $0.0 == key }?.1 }
        if let f = value("foreach"), f != .null, f.bool == nil {
            throw .invalid("\(wrapper): clip_grad foreach must be a bool or None, got \(f.rendered)")
        }
        if kind == "value" {
            guard let c = value("clip_value")?.number, c.isFinite else {
                throw .invalid("\(wrapper): clip_grad of type 'value' needs a finite number 'clip_value'")
            }
            return .value(c)
        }
        guard let maxNorm = value("max_norm")?.number, !maxNorm.isNaN else {
            throw .invalid("\(wrapper): clip_grad needs a number 'max_norm' (the largest total gradient norm allowed)")
        }
        var normType = 2.0
        if let t = value("norm_type") {
            // torch calls float(norm_type): numbers and strings like 'inf' are accepted.
            if let x = t.number { normType = x }
            else if let s = t.string, let x = Double(s.lowercased() == "inf" ? "inf" : s) { normType = x }
            else { throw .invalid("\(wrapper): clip_grad norm_type must be a number or 'inf', got \(t.rendered)") }
            guard !normType.isNaN else { throw .invalid("\(wrapper): clip_grad norm_type must not be NaN") }
        }
        var errorIfNonFinite = false
        if let e = value("error_if_nonfinite") {
            guard let b = e.bool else { throw .invalid("\(wrapper): clip_grad error_if_nonfinite must be a bool, got \(e.rendered)") }
            errorIfNonFinite = b
        }
        return .norm(maxNorm: maxNorm, normType: normType, errorIfNonFinite: errorIfNonFinite)
    }

    /// Clips every gradient of `grads`; returns torch's total norm for type "norm".
    func apply(_ grads: GradSet, host: Host) throws(PluginError) -> Float? {
        // MMEngine clips only when some parameter has a gradient.
        guard hasAnyGrad(grads) else { return nil }
        switch self {
        case .value(let c):
            GradOps.clamp(grads, to: Float(c), host: host)
            return nil
        case .norm(let maxNorm, let normType, let errorIfNonFinite):
            let total = GradOps.totalNorm(grads, normType: normType, host: host)
            if errorIfNonFinite && !total.isFinite {
                throw PluginError(STEPWISE_NON_FINITE, "The total norm of order \(normType) for gradients is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set error_if_nonfinite=False in clip_grad")
            }
            // torch: clip_coef = max_norm / (total_norm + 1e-6), where `float / tensor`
            // is evaluated as tensor.reciprocal() * float, all in float32; clamped to 1.
            let coef = (1 / (total + Float(1e-6))) * Float(maxNorm)
            let clamped = coef.isNaN ? coef : Swift.min(coef, 1)
            GradOps.scale(grads, by: clamped, host: host)
            return total
        }
    }

    private func hasAnyGrad(_ grads: GradSet) -> Bool {
        for g in 0..<grads.groupCount {
            let group = grads[g]
            for i in 0..<group.count where group[i].hasGrad { return true }
        }
        return false
    }
}

extension ConfigJSON {
    var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    var int: Int? { number.flatMap { $0 == $0.rounded() && abs($0) < 1e15 ? Int($0) : nil } }
}

/// Hyperparameters both wrappers declare, with MMEngine's names.
enum CommonKeys {
    static let accumulativeCounts = Hyperparam.int(
        "accumulative_counts", 1, min: 1, label: "accumulative_counts",
        doc: "iterations whose gradients are accumulated before each optimizer step")
    static let clipGrad = Hyperparam(
        "clip_grad", STEPWISE_TYPE_JSON, default: .none,
        doc: "None, or clip_grad_norm_ arguments {max_norm, norm_type (2; 'inf'), error_if_nonfinite}, or {type: value, clip_value}")
}
