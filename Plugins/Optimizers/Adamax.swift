import StepwiseABI
import StepwiseKernels
import StepwiseKit

/// Adamax, Adam's variant over the infinity norm, as torch.optim.Adamax defines it.
///
///     g_t = ±∇f(θ_{t-1}) + λ θ_{t-1}
///     m_t = lerp(m_{t-1}, g_t, 1 − β₁)
///     u_t = max(β₂ u_{t-1}, |g_t| + ε)
///     θ_t = θ_{t-1} − γ/(1 − β₁ᵗ) · m_t / u_t
///
/// Source: torch/optim/adamax.py, `_single_tensor_adamax`; Kingma & Ba, ICLR 2015, §7.1.
final class Adamax: ElementwiseAlgorithm {
    enum Key: Int { case lr, betas, eps, weightDecay, maximize }
    enum S: Int { case step, expAvg, expInf }

    static let typeName = "Adamax"
    static let summary = "Adamax: Adam over the infinity norm"
    static let reference = "torch.optim.Adamax (torch/optim/adamax.py); Kingma & Ba, ICLR 2015, section 7.1"
    static let hyperparams: [Hyperparam] = [
        Common.lr(2e-3), Common.betas(0.9, 0.999), Common.eps(1e-8), Common.weightDecay(), Common.maximize,
    ] + torchKernelSelectors
    static let slots = [Common.step, Slot("exp_avg", doc: "first moment m"),
                        Slot("exp_inf", doc: "exponentially weighted infinity norm u")]

    let host: Host
    let scratch = StepScratch<sk_adamax_args>()
    private var memo = Memo<Double, sk_adamax_args>()

    init(host: Host, defaults: Values) throws(PluginError) { self.host = host }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        try runElementwise(group)
    }

    func begin(_ v: Values) throws(PluginError) { memo = Memo() }

    func coefficients(_ v: Values, _ p: Param) -> sk_adamax_args {
        let step = p.advance(S.step.rawValue)
        return memo.get(step) {
            var a = sk_adamax_args()
            sk_adamax_prepare(v.double(Key.lr.rawValue), v.element(Key.betas.rawValue, 0),
                              v.element(Key.betas.rawValue, 1), v.double(Key.eps.rawValue),
                              v.double(Key.weightDecay.rawValue), v.bool(Key.maximize.rawValue), step, &a)
            return a
        }
    }

    func kernel(_ p: Param, _ lo: Int, _ hi: Int, _ a: UnsafePointer<sk_adamax_args>) {
        guard let g = p.grad, let m = p.tensor(S.expAvg.rawValue), let u = p.tensor(S.expInf.rawValue) else { return }
        sk_adamax(p.data + lo, g + lo, m + lo, u + lo, Int64(hi - lo), a)
    }
}
