import StepwiseABI
import StepwiseKernels
import StepwiseKit

/// Adagrad, as torch.optim.Adagrad defines it.
///
///     g_t = ±∇f(θ_{t-1}) + λ θ_{t-1}
///     γ̃_t = γ / (1 + (t − 1)η)
///     s_t = s_{t-1} + g_t²            (s_0 = initial_accumulator_value)
///     θ_t = θ_{t-1} − γ̃_t g_t / (√s_t + ε)
///
/// Source: torch/optim/adagrad.py, `_single_tensor_adagrad`; Duchi et al., JMLR 2011.
/// As in torch, the accumulator starts from the optimizer's `initial_accumulator_value`
/// (a group's own value is ignored).
final class Adagrad: ElementwiseAlgorithm {
    enum Key: Int { case lr, lrDecay, weightDecay, initialAccumulator, eps, maximize }
    enum S: Int { case step, sum }

    static let typeName = "Adagrad"
    static let summary = "Adagrad: per-coordinate step sizes from accumulated squared gradients"
    static let reference = "torch.optim.Adagrad (torch/optim/adagrad.py); Duchi et al., JMLR 2011"
    static let hyperparams: [Hyperparam] = [
        Common.lr(1e-2),
        .float("lr_decay", 0, min: 0, flags: perGroup, label: "lr_decay value", doc: "learning rate decay η"),
        Common.weightDecay(),
        .float("initial_accumulator_value", 0, min: 0, flags: perGroup,
               label: "initial_accumulator_value value", doc: "starting value of the squared-gradient sum"),
        Common.eps(1e-10), Common.maximize,
    ] + torchKernelSelectors
    static let slots = [Common.step, Slot("sum", doc: "sum of squared gradients s")]

    let host: Host
    let scratch = StepScratch<sk_adagrad_args>()
    private let initial: Double
    private var memo = Memo<Double, sk_adagrad_args>()

    init(host: Host, defaults: Values) throws(PluginError) {
        self.host = host
        initial = defaults.double(Key.initialAccumulator.rawValue)
    }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        try runElementwise(group)
    }

    func begin(_ v: Values) throws(PluginError) { memo = Memo() }

    func coefficients(_ v: Values, _ p: Param) -> sk_adagrad_args {
        let step = p.advance(S.step.rawValue)
        var a = memo.get(step) {
            var a = sk_adagrad_args()
            sk_adagrad_prepare(v.double(Key.lr.rawValue), v.double(Key.lrDecay.rawValue),
                               v.double(Key.weightDecay.rawValue), v.double(Key.eps.rawValue), initial,
                               v.bool(Key.maximize.rawValue), step, &a)
            return a
        }
        a.first_step = p.isFresh
        return a
    }

    func kernel(_ p: Param, _ lo: Int, _ hi: Int, _ a: UnsafePointer<sk_adagrad_args>) {
        guard let g = p.grad, let s = p.tensor(S.sum.rawValue) else { return }
        sk_adagrad(p.data + lo, g + lo, s + lo, Int64(hi - lo), a)
    }
}
