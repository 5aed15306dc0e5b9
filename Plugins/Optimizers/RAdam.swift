import StepwiseABI
import StepwiseKernels
import StepwiseKit

/// RAdam (rectified Adam), as torch.optim.RAdam defines it.
///
///     g_t = ±∇f(θ_{t-1});  θ ← θ(1 − γλ) (decoupled)  or  g_t ← g_t + λθ_{t-1}
///     m_t = lerp(m_{t-1}, g_t, 1 − β₁);  v_t = β₂ v_{t-1} + (1 − β₂) g_t²;  m̂_t = m_t/(1 − β₁ᵗ)
///     ρ_∞ = 2/(1 − β₂) − 1;  ρ_t = ρ_∞ − 2tβ₂ᵗ/(1 − β₂ᵗ)
///     ρ_t > 5:  l_t = √(1 − β₂ᵗ)/(√v_t + ε),  r_t = √((ρ_t−4)(ρ_t−2)ρ_∞ / ((ρ_∞−4)(ρ_∞−2)ρ_t)),
///               θ_t = θ − γ m̂_t l_t r_t
///     else:     θ_t = θ − γ m̂_t
///
/// Source: torch/optim/radam.py, `_single_tensor_radam`; Liu et al., ICLR 2020.
final class RAdam: ElementwiseAlgorithm {
    enum Key: Int { case lr, betas, eps, weightDecay, decoupled, maximize }
    enum S: Int { case step, expAvg, expAvgSq }

    static let typeName = "RAdam"
    static let summary = "Rectified Adam (RAdam), optionally with decoupled weight decay"
    static let reference = "torch.optim.RAdam (torch/optim/radam.py); Liu et al., ICLR 2020"
    static let hyperparams: [Hyperparam] = [
        Common.lr(1e-3), Common.betas(0.9, 0.999), Common.eps(1e-8), Common.weightDecay(),
        Common.decoupledWeightDecay, Common.maximize,
    ] + torchKernelSelectors
    static let slots = [Common.step, Slot("exp_avg", doc: "first moment m"), Slot("exp_avg_sq", doc: "second moment v")]

    let host: Host
    let scratch = StepScratch<sk_radam_args>()
    private var memo = Memo<Double, sk_radam_args>()

    init(host: Host, defaults: Values) throws(PluginError) { self.host = host }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        try runElementwise(group)
    }

    func begin(_ v: Values) throws(PluginError) { memo = Memo() }

    func coefficients(_ v: Values, _ p: Param) -> sk_radam_args {
        let step = p.advance(S.step.rawValue)
        return memo.get(step) {
            var a = sk_radam_args()
            sk_radam_prepare(v.double(Key.lr.rawValue), v.element(Key.betas.rawValue, 0),
                             v.element(Key.betas.rawValue, 1), v.double(Key.eps.rawValue),
                             v.double(Key.weightDecay.rawValue), v.bool(Key.decoupled.rawValue),
                             v.bool(Key.maximize.rawValue), step, &a)
            return a
        }
    }

    func kernel(_ p: Param, _ lo: Int, _ hi: Int, _ a: UnsafePointer<sk_radam_args>) {
        guard let g = p.grad, let m = p.tensor(S.expAvg.rawValue), let v = p.tensor(S.expAvgSq.rawValue) else { return }
        sk_radam(p.data + lo, g + lo, m + lo, v + lo, Int64(hi - lo), a)
    }
}
