import StepwiseABI
import StepwiseKernels
import StepwiseKit

/// Adadelta, as torch.optim.Adadelta defines it.
///
///     g_t = ±∇f(θ_{t-1}) + λ θ_{t-1}
///     v_t = ρ v_{t-1} + (1 − ρ) g_t²
///     Δ_t = √(u_{t-1} + ε) / √(v_t + ε) · g_t
///     u_t = ρ u_{t-1} + (1 − ρ) Δ_t²
///     θ_t = θ_{t-1} − γ Δ_t
///
/// Source: torch/optim/adadelta.py, `_single_tensor_adadelta`; Zeiler, arXiv:1212.5701.
final class Adadelta: ElementwiseAlgorithm {
    enum Key: Int { case lr, rho, eps, weightDecay, maximize }
    enum S: Int { case step, squareAvg, accDelta }

    static let typeName = "Adadelta"
    static let summary = "Adadelta: step sizes from running averages of squared gradients and updates"
    static let reference = "torch.optim.Adadelta (torch/optim/adadelta.py); Zeiler, arXiv:1212.5701"
    static let hyperparams: [Hyperparam] = [
        Common.lr(1.0),
        .float("rho", 0.9, min: 0, max: 1, flags: perGroup, label: "rho value",
               doc: "decay ρ of the running averages"),
        Common.eps(1e-6), Common.weightDecay(), Common.maximize,
    ] + torchKernelSelectors
    static let slots = [Common.step, Slot("square_avg", doc: "running average of squared gradients v"),
                        Slot("acc_delta", doc: "running average of squared updates u")]

    let host: Host
    let scratch = StepScratch<sk_adadelta_args>()
    private var base = sk_adadelta_args()

    init(host: Host, defaults: Values) throws(PluginError) { self.host = host }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        try runElementwise(group)
    }

    func begin(_ v: Values) throws(PluginError) {
        sk_adadelta_prepare(v.double(Key.lr.rawValue), v.double(Key.rho.rawValue), v.double(Key.eps.rawValue),
                            v.double(Key.weightDecay.rawValue), v.bool(Key.maximize.rawValue), &base)
    }

    func coefficients(_ v: Values, _ p: Param) -> sk_adadelta_args {
        _ = p.advance(S.step.rawValue)
        return base
    }

    func kernel(_ p: Param, _ lo: Int, _ hi: Int, _ a: UnsafePointer<sk_adadelta_args>) {
        guard let g = p.grad, let v = p.tensor(S.squareAvg.rawValue), let u = p.tensor(S.accDelta.rawValue) else { return }
        sk_adadelta(p.data + lo, g + lo, v + lo, u + lo, Int64(hi - lo), a)
    }
}
