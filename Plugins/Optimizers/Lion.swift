import StepwiseABI
import StepwiseKernels
import StepwiseKit

/// Lion (EvoLved Sign Momentum), as its paper and timm.optim.Lion define it.
///
///     g_t = ±∇f(θ_{t-1})
///     θ ← θ(1 − γλ)
///     θ_t = θ − γ sign(β₁ m_{t-1} + (1 − β₁) g_t)
///     m_t = lerp(m_{t-1}, g_t, 1 − β₂)
///
/// Source: Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS 2023,
/// Program 1; timm/optim/lion.py, `_single_tensor_lion` (timm's `caution` is not offered).
final class Lion: ElementwiseAlgorithm {
    enum Key: Int { case lr, betas, weightDecay, maximize }
    enum S: Int { case expAvg }

    static let typeName = "Lion"
    static let summary = "Lion: sign of an interpolated momentum, with decoupled weight decay"
    static let reference = "Chen et al., NeurIPS 2023 (arXiv:2302.06675), Program 1; timm.optim.Lion"
    static let hyperparams: [Hyperparam] = [
        Common.lr(1e-4),
        Common.betas(0.9, 0.99, doc: "(β₁, β₂): interpolation of the update and decay of the momentum"),
        Common.weightDecay(0, doc: "decoupled weight decay λ: θ ← θ(1 − γλ)"),
        Common.maximize, .noEffect("foreach"),
    ]
    static let slots = [Slot("exp_avg", doc: "momentum m")]

    let host: Host
    let scratch = StepScratch<sk_lion_args>()
    private var base = sk_lion_args()

    init(host: Host, defaults: Values) throws(PluginError) { self.host = host }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        try runElementwise(group)
    }

    func begin(_ v: Values) throws(PluginError) {
        sk_lion_prepare(v.double(Key.lr.rawValue), v.element(Key.betas.rawValue, 0), v.element(Key.betas.rawValue, 1),
                        v.double(Key.weightDecay.rawValue), v.bool(Key.maximize.rawValue), &base)
    }

    func coefficients(_ v: Values, _ p: Param) -> sk_lion_args { base }

    func kernel(_ p: Param, _ lo: Int, _ hi: Int, _ a: UnsafePointer<sk_lion_args>) {
        guard let g = p.grad, let m = p.tensor(S.expAvg.rawValue) else { return }
        sk_lion(p.data + lo, g + lo, m + lo, Int64(hi - lo), a)
    }
}
