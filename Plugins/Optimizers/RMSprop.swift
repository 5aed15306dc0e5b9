import StepwiseABI
import StepwiseKernels
import StepwiseKit

/// RMSprop, as torch.optim.RMSprop defines it (ε added after the square root).
///
///     g_t = ±∇f(θ_{t-1}) + λ θ_{t-1}
///     v_t = α v_{t-1} + (1 − α) g_t²
///     centered: ḡ_t = lerp(ḡ_{t-1}, g_t, 1 − α),  ṽ_t = v_t − ḡ_t²;  else ṽ_t = v_t
///     μ > 0:  b_t = μ b_{t-1} + g_t/(√ṽ_t + ε),  θ_t = θ_{t-1} − γ b_t
///     else:   θ_t = θ_{t-1} − γ g_t/(√ṽ_t + ε)
///
/// Source: torch/optim/rmsprop.py, `_single_tensor_rmsprop`; Hinton, Coursera lecture 6e;
/// Graves, arXiv:1308.0850 (centered). `grad_avg` and `momentum_buffer` exist when the
/// optimizer's defaults enable them, as torch creates them.
final class RMSprop: ElementwiseAlgorithm {
    enum Key: Int { case lr, alpha, eps, weightDecay, momentum, centered, maximize }
    enum S: Int { case step, squareAvg, momentumBuffer, gradAvg }

    static let typeName = "RMSprop"
    static let summary = "RMSprop, optionally centered and with momentum"
    static let reference = "torch.optim.RMSprop (torch/optim/rmsprop.py); Hinton, lecture 6e; Graves, arXiv:1308.0850"
    static let hyperparams: [Hyperparam] = [
        Common.lr(1e-2),
        .float("alpha", 0.99, min: 0, flags: perGroup, label: "alpha value", doc: "smoothing constant α"),
        Common.eps(1e-8), Common.weightDecay(),
        .float("momentum", 0, role: STEPWISE_ROLE_MOMENTUM, min: 0, flags: perGroup, label: "momentum value",
               doc: "momentum factor μ"),
        .bool("centered", false, flags: perGroup, doc: "normalize by an estimate of the gradient's variance"),
        Common.maximize,
    ] + torchKernelSelectors
    static let slots = [Common.step, Slot("square_avg", doc: "running average of squared gradients v"),
                        Slot("momentum_buffer", doc: "momentum buffer b (momentum > 0 only)"),
                        Slot("grad_avg", doc: "running average of gradients ḡ (centered only)")]

    let host: Host
    let scratch = StepScratch<sk_rmsprop_args>()
    private let hasMomentum: Bool, hasGradAvg: Bool
    private var base = sk_rmsprop_args()

    init(host: Host, defaults: Values) throws(PluginError) {
        self.host = host
        hasMomentum = defaults.double(Key.momentum.rawValue) > 0
        hasGradAvg = defaults.bool(Key.centered.rawValue)
    }

    func slotShape(_ slot: Int, param: Param) -> [Int64]? {
        if slot == S.momentumBuffer.rawValue && !hasMomentum { return nil }
        if slot == S.gradAvg.rawValue && !hasGradAvg { return nil }
        return param.shape.map(Int64.init)
    }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        try runElementwise(group)
    }

    func begin(_ v: Values) throws(PluginError) {
        if v.double(Key.momentum.rawValue) > 0 && !hasMomentum {
            throw .invalid("a param group sets momentum, but the optimizer's default momentum is 0 and so keeps no momentum buffer; give the optimizer a non-zero momentum")
        }
        if v.bool(Key.centered.rawValue) && !hasGradAvg {
            throw .invalid("a param group sets centered, but the optimizer's default is not centered and so keeps no grad_avg; set centered on the optimizer")
        }
        sk_rmsprop_prepare(v.double(Key.lr.rawValue), v.double(Key.alpha.rawValue), v.double(Key.eps.rawValue),
                           v.double(Key.weightDecay.rawValue), v.double(Key.momentum.rawValue),
                           v.bool(Key.centered.rawValue), v.bool(Key.maximize.rawValue), &base)
    }

    func coefficients(_ v: Values, _ p: Param) -> sk_rmsprop_args {
        _ = p.advance(S.step.rawValue)
        return base
    }

    func kernel(_ p: Param, _ lo: Int, _ hi: Int, _ a: UnsafePointer<sk_rmsprop_args>) {
        guard let g = p.grad, let v = p.tensor(S.squareAvg.rawValue) else { return }
        sk_rmsprop(p.data + lo, g + lo, v + lo, p.tensor(S.gradAvg.rawValue).map { $0 + lo },
                   p.tensor(S.momentumBuffer.rawValue).map { $0 + lo }, Int64(hi - lo), a)
    }
}
