import StepwiseABI
import StepwiseKernels
import StepwiseKit

/// NAdam (Adam with Nesterov momentum), as torch.optim.NAdam defines it.
///
///     g_t = ±∇f(θ_{t-1});  θ ← θ(1 − γλ) (decoupled)  or  g_t ← g_t + λθ_{t-1}
///     μ_t = β₁(1 − ½·0.96^{tψ}),  μ_{t+1} = β₁(1 − ½·0.96^{(t+1)ψ}),  Π_t = Π_{t-1} μ_t
///     m_t = lerp(m_{t-1}, g_t, 1 − β₁);  v_t = β₂ v_{t-1} + (1 − β₂) g_t²
///     d_t = √(v_t / (1 − β₂ᵗ)) + ε
///     θ_t = θ − γ(1 − μ_t)/(1 − Π_t) · g_t/d_t − γ μ_{t+1}/(1 − Π_t μ_{t+1}) · m_t/d_t
///
/// Source: torch/optim/nadam.py, `_single_tensor_nadam`; Dozat, ICLR 2016 workshop.
/// Π (`mu_product`) is a float32 in torch and rounds like one here.
final class NAdam: ElementwiseAlgorithm {
    enum Key: Int { case lr, betas, eps, weightDecay, momentumDecay, decoupled, maximize }
    enum S: Int { case step, muProduct, expAvg, expAvgSq }

    static let typeName = "NAdam"
    static let summary = "Adam with Nesterov momentum (NAdam), optionally with decoupled weight decay"
    static let reference = "torch.optim.NAdam (torch/optim/nadam.py); Dozat, ICLR 2016 workshop"
    static let hyperparams: [Hyperparam] = [
        Common.lr(2e-3), Common.betas(0.9, 0.999), Common.eps(1e-8), Common.weightDecay(),
        .float("momentum_decay", 4e-3, min: 0, flags: perGroup, label: "momentum_decay value",
               doc: "momentum decay ψ of the μ schedule"),
        Common.decoupledWeightDecay, Common.maximize,
    ] + torchKernelSelectors
    static let slots = [Common.step, Slot.scalar("mu_product", doc: "product Π of the momentum schedule μ"),
                        Slot("exp_avg", doc: "first moment m"), Slot("exp_avg_sq", doc: "second moment v")]

    let host: Host
    let scratch = StepScratch<sk_nadam_args>()
    private var memo = Memo<SIMD2<Double>, (sk_nadam_args, Double)>()

    init(host: Host, defaults: Values) throws(PluginError) { self.host = host }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        try runElementwise(group)
    }

    func begin(_ v: Values) throws(PluginError) { memo = Memo() }

    func coefficients(_ v: Values, _ p: Param) -> sk_nadam_args {
        let step = p.advance(S.step.rawValue)
        let product = p.scalar(S.muProduct.rawValue)
        if p.isFresh { product.pointee = 1 }
        let (args, next) = memo.get(SIMD2(step, product.pointee)) {
            var a = sk_nadam_args()
            var mu = product.pointee
            sk_nadam_prepare(v.double(Key.lr.rawValue), v.element(Key.betas.rawValue, 0),
                             v.element(Key.betas.rawValue, 1), v.double(Key.eps.rawValue),
                             v.double(Key.weightDecay.rawValue), v.double(Key.momentumDecay.rawValue),
                             v.bool(Key.decoupled.rawValue), v.bool(Key.maximize.rawValue), step, &mu, &a)
            return (a, mu)
        }
        product.pointee = next
        return args
    }

    func kernel(_ p: Param, _ lo: Int, _ hi: Int, _ a: UnsafePointer<sk_nadam_args>) {
        guard let g = p.grad, let m = p.tensor(S.expAvg.rawValue), let v = p.tensor(S.expAvgSq.rawValue) else { return }
        sk_nadam(p.data + lo, g + lo, m + lo, v + lo, Int64(hi - lo), a)
    }
}
