import StepwiseABI
import StepwiseKernels
import StepwiseKit

/// Stochastic gradient descent with momentum, as torch.optim.SGD defines it.
///
///     g_t = ±∇f(θ_{t-1}) + λ θ_{t-1}
///     b_t = g_t                                   (t = 1)
///     b_t = μ b_{t-1} + (1 − τ) g_t               (t > 1)
///     g_t = g_t + μ b_t  (nesterov)   or   g_t = b_t
///     θ_t = θ_{t-1} − γ g_t
///
/// Source: torch/optim/sgd.py (Sutskever et al. 2013 for the momentum form).
final class SGD: OptimizerAlgorithm {
    enum Key: Int { case lr, momentum, dampening, weightDecay, nesterov, maximize }

    static let typeName = "SGD"
    static let summary = "Stochastic gradient descent with optional (Nesterov) momentum"
    static let reference = "torch.optim.SGD (torch/optim/sgd.py); Sutskever et al., ICML 2013"
    static let hyperparams: [Hyperparam] = [
        .float("lr", 1e-3, role: STEPWISE_ROLE_LR, min: 0, flags: perGroup, label: "learning rate",
               doc: "learning rate γ"),
        .float("momentum", 0, role: STEPWISE_ROLE_MOMENTUM, min: 0, flags: perGroup, label: "momentum value",
               doc: "momentum factor μ"),
        .float("dampening", 0, flags: perGroup, doc: "dampening τ for momentum"),
        .float("weight_decay", 0, role: STEPWISE_ROLE_WEIGHT_DECAY, min: 0, flags: perGroup,
               label: "weight_decay value", doc: "L2 penalty λ added to the gradient"),
        .bool("nesterov", false, flags: perGroup, doc: "use Nesterov momentum"),
        .bool("maximize", false, flags: perGroup, doc: "maximize the objective instead of minimizing"),
    ] + torchKernelSelectors
    static let slots = [Slot("momentum_buffer", doc: "momentum buffer b (absent while momentum is 0)")]

    static func check(_ v: Values) throws(PluginError) {
        if v.bool(Key.nesterov.rawValue) && (v.double(Key.momentum.rawValue) <= 0 || v.double(Key.dampening.rawValue) != 0) {
            throw .invalid("Nesterov momentum requires a momentum and zero dampening")
        }
    }

    let host: Host
    init(host: Host, defaults: Values) throws(PluginError) { self.host = host }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        let v = group.values
        var args = sk_sgd_args()
        sk_sgd_prepare(v.double(Key.lr.rawValue), v.double(Key.momentum.rawValue),
                       v.double(Key.dampening.rawValue), v.double(Key.weightDecay.rawValue),
                       v.bool(Key.nesterov.rawValue), v.bool(Key.maximize.rawValue), &args)
        group.parallelElements(host: host) { p, lo, hi in
            var a = args
            a.first_step = p.isFresh
            sk_sgd(p.data + lo, p.grad! + lo, p.tensor(0).map { $0 + lo }, Int64(hi - lo), &a)
        }
        return .stepped
    }
}
