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
/// Source: torch/optim/sgd.py, `_single_tensor_sgd` (Sutskever et al. 2013 for momentum).
/// The momentum buffer exists when the optimizer's default momentum is non-zero, as torch
/// keeps none without momentum; a group that turns momentum on without it is refused.
final class SGD: ElementwiseAlgorithm {
    enum Key: Int { case lr, momentum, dampening, weightDecay, nesterov, maximize }

    static let typeName = "SGD"
    static let summary = "Stochastic gradient descent with optional (Nesterov) momentum"
    static let reference = "torch.optim.SGD (torch/optim/sgd.py); Sutskever et al., ICML 2013"
    static let hyperparams: [Hyperparam] = [
        Common.lr(1e-3),
        .float("momentum", 0, role: STEPWISE_ROLE_MOMENTUM, min: 0, flags: perGroup, label: "momentum value",
               doc: "momentum factor μ"),
        .float("dampening", 0, flags: perGroup, doc: "dampening τ for momentum"),
        Common.weightDecay(),
        .bool("nesterov", false, flags: perGroup, doc: "use Nesterov momentum"),
        Common.maximize,
    ] + torchKernelSelectors
    static let slots = [Slot("momentum_buffer", doc: "momentum buffer b (absent while momentum is 0)")]

    static func check(_ v: Values) throws(PluginError) {
        if v.bool(Key.nesterov.rawValue) && (v.double(Key.momentum.rawValue) <= 0 || v.double(Key.dampening.rawValue) != 0) {
            throw .invalid("Nesterov momentum requires a momentum and zero dampening")
        }
    }

    let host: Host
    let scratch = StepScratch<sk_sgd_args>()
    private let hasBuffer: Bool
    private var base = sk_sgd_args()

    init(host: Host, defaults: Values) throws(PluginError) {
        self.host = host
        hasBuffer = defaults.double(Key.momentum.rawValue) != 0
    }

    func slotShape(_ slot: Int, param: Param) -> [Int64]? { hasBuffer ? param.shape.map(Int64.init) : nil }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        try runElementwise(group)
    }

    func begin(_ v: Values) throws(PluginError) {
        if v.double(Key.momentum.rawValue) != 0 && !hasBuffer {
            throw .invalid("a param group sets momentum, but the optimizer's default momentum is 0 and so keeps no momentum buffer; give the optimizer a non-zero momentum")
        }
        sk_sgd_prepare(v.double(Key.lr.rawValue), v.double(Key.momentum.rawValue), v.double(Key.dampening.rawValue),
                       v.double(Key.weightDecay.rawValue), v.bool(Key.nesterov.rawValue),
                       v.bool(Key.maximize.rawValue), &base)
    }

    func coefficients(_ v: Values, _ p: Param) -> sk_sgd_args {
        var a = base
        a.first_step = p.isFresh
        return a
    }

    func kernel(_ p: Param, _ lo: Int, _ hi: Int, _ a: UnsafePointer<sk_sgd_args>) {
        guard let g = p.grad else { return }
        sk_sgd(p.data + lo, g + lo, p.tensor(0).map { $0 + lo }, Int64(hi - lo), a)
    }
}
