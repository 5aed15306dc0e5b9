import StepwiseABI
import StepwiseKernels
import StepwiseKit

/// Adam, and AdamW as Adam with decoupled weight decay, as torch.optim.Adam / AdamW define
/// them (the `_single_tensor_adam` path).
///
///     g_t = ±∇f(θ_{t-1});  θ ← θ(1 − γλ) (decoupled)  or  g_t ← g_t + λθ_{t-1}
///     m_t = lerp(m_{t-1}, g_t, 1 − β₁)
///     v_t = β₂ v_{t-1} + (1 − β₂) g_t²
///     v̂_t = max(v̂_{t-1}, v_t) (amsgrad)  or  v_t
///     θ_t = θ − γ/(1 − β₁ᵗ) · m_t / (√v̂_t / √(1 − β₂ᵗ) + ε)
///
/// Source: torch/optim/adam.py; Kingma & Ba, ICLR 2015; Loshchilov & Hutter, ICLR 2019
/// (AdamW); Reddi et al., ICLR 2018 (AMSGrad). `max_exp_avg_sq` exists when the
/// optimizer's default `amsgrad` is true.
class AdamFamily: ElementwiseAlgorithm {
    enum Key: Int { case lr, betas, eps, weightDecay, amsgrad, maximize, decoupled }
    enum S: Int { case step, expAvg, expAvgSq, maxExpAvgSq }

    class var typeName: String { "Adam" }
    class var summary: String { "Adam, with optional AMSGrad and decoupled (AdamW) weight decay" }
    class var reference: String {
        "torch.optim.Adam (torch/optim/adam.py); Kingma & Ba, ICLR 2015; Reddi et al., ICLR 2018"
    }
    class var decoupledDefault: Bool { false }
    class var weightDecayDefault: Double { 0 }
    static var hyperparams: [Hyperparam] {
        [
            Common.lr(1e-3), Common.betas(0.9, 0.999), Common.eps(1e-8),
            Common.weightDecay(weightDecayDefault, doc: decoupledDefault
                ? "weight decay λ, decoupled: θ ← θ(1 − γλ)" : "weight decay λ (L2, or decoupled with decoupled_weight_decay)"),
            .bool("amsgrad", false, flags: perGroup, doc: "use the AMSGrad variant (max of second moments)"),
            Common.maximize,
        ] + (decoupledDefault ? [] : [Common.decoupledWeightDecay]) + torchKernelSelectors
    }
    static let slots = [
        Common.step,
        Slot("exp_avg", doc: "first moment m"),
        Slot("exp_avg_sq", doc: "second moment v"),
        Slot("max_exp_avg_sq", doc: "running maximum of v (amsgrad only)"),
    ]

    let host: Host
    let scratch = StepScratch<sk_adam_args>()
    private let amsgradSlot: Bool
    private var memo = Memo<Double, sk_adam_args>()
    private var decoupled = false

    required init(host: Host, defaults: Values) throws(PluginError) {
        self.host = host
        amsgradSlot = defaults.bool(Key.amsgrad.rawValue)
    }

    func slotShape(_ slot: Int, param: Param) -> [Int64]? {
        slot == S.maxExpAvgSq.rawValue && !amsgradSlot ? nil : param.shape.map(Int64.init)
    }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        try runElementwise(group)
    }

    func begin(_ v: Values) throws(PluginError) {
        if v.bool(Key.amsgrad.rawValue) && !amsgradSlot {
            throw .invalid("a param group enables amsgrad, but the optimizer's default amsgrad is false and so keeps no max_exp_avg_sq; set amsgrad on the optimizer")
        }
        memo = Memo()
        decoupled = Self.decoupledDefault || v.bool(Key.decoupled.rawValue)
    }

    func coefficients(_ v: Values, _ p: Param) -> sk_adam_args {
        let step = p.advance(S.step.rawValue)
        return memo.get(step) {
            var a = sk_adam_args()
            sk_adam_prepare(v.double(Key.lr.rawValue), v.element(Key.betas.rawValue, 0), v.element(Key.betas.rawValue, 1),
                            v.double(Key.eps.rawValue), v.double(Key.weightDecay.rawValue), decoupled,
                            v.bool(Key.amsgrad.rawValue), v.bool(Key.maximize.rawValue), step, &a)
            return a
        }
    }

    func kernel(_ p: Param, _ lo: Int, _ hi: Int, _ a: UnsafePointer<sk_adam_args>) {
        guard let g = p.grad, let m = p.tensor(S.expAvg.rawValue), let v = p.tensor(S.expAvgSq.rawValue) else { return }
        sk_adam(p.data + lo, g + lo, m + lo, v + lo, p.tensor(S.maxExpAvgSq.rawValue).map { $0 + lo },
                Int64(hi - lo), a)
    }
}

final class Adam: AdamFamily {}

/// AdamW: Adam with decoupled weight decay (default 0.01), as torch.optim.AdamW.
final class AdamW: AdamFamily {
    override class var typeName: String { "AdamW" }
    override class var summary: String { "Adam with decoupled weight decay (Loshchilov & Hutter)" }
    override class var reference: String {
        "torch.optim.AdamW (torch/optim/adamw.py); Loshchilov & Hutter, ICLR 2019"
    }
    override class var decoupledDefault: Bool { true }
    override class var weightDecayDefault: Double { 1e-2 }
}
