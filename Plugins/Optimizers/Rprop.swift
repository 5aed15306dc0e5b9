import StepwiseABI
import StepwiseKernels
import StepwiseKit

/// Rprop (resilient backpropagation), as torch.optim.Rprop defines it.
///
///     g_t = ±∇f(θ_{t-1})
///     g_{t-1}·g_t > 0:  η_t = min(η_{t-1}·η₊, Γ_max)
///     g_{t-1}·g_t < 0:  η_t = max(η_{t-1}·η₋, Γ_min),  g_t = 0
///     otherwise:        η_t = η_{t-1}                    (η_0 = lr)
///     θ_t = θ_{t-1} − η_t sign(g_t)
///
/// Source: torch/optim/rprop.py, `_single_tensor_rprop`; Riedmiller & Braun, ICNN 1993.
final class Rprop: ElementwiseAlgorithm {
    enum Key: Int { case lr, etas, stepSizes, maximize }
    enum S: Int { case step, prev, stepSize }

    static let typeName = "Rprop"
    static let summary = "Rprop: sign-based steps with per-coordinate adaptive step sizes"
    static let reference = "torch.optim.Rprop (torch/optim/rprop.py); Riedmiller & Braun, ICNN 1993"
    static let hyperparams: [Hyperparam] = [
        Common.lr(1e-2),
        .floats("etas", [0.5, 1.2], length: 2, flags: perGroup,
                doc: "(η₋, η₊): step size factors after a sign change and after none; 0 < η₋ < 1 < η₊"),
        .floats("step_sizes", [1e-6, 50], length: 2, flags: perGroup,
                doc: "(Γ_min, Γ_max): bounds of the step sizes"),
        Common.maximize,
    ] + torchKernelSelectors
    static let slots = [Common.step, Slot("prev", doc: "previous (masked) gradient"),
                        Slot("step_size", doc: "per-coordinate step size η")]

    static func check(_ v: Values) throws(PluginError) {
        let minus = v.element(Key.etas.rawValue, 0), plus = v.element(Key.etas.rawValue, 1)
        if !(0 < minus && minus < 1 && 1 < plus) {
            throw .invalid("Invalid eta values: \(minus), \(plus) (need 0 < etas[0] < 1 < etas[1])")
        }
    }

    let host: Host
    let scratch = StepScratch<sk_rprop_args>()
    private var base = sk_rprop_args()

    init(host: Host, defaults: Values) throws(PluginError) { self.host = host }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        try runElementwise(group)
    }

    func begin(_ v: Values) throws(PluginError) {
        sk_rprop_prepare(v.double(Key.lr.rawValue), v.element(Key.etas.rawValue, 0), v.element(Key.etas.rawValue, 1),
                         v.element(Key.stepSizes.rawValue, 0), v.element(Key.stepSizes.rawValue, 1),
                         v.bool(Key.maximize.rawValue), &base)
    }

    func coefficients(_ v: Values, _ p: Param) -> sk_rprop_args {
        _ = p.advance(S.step.rawValue)
        var a = base
        a.first_step = p.isFresh
        return a
    }

    func kernel(_ p: Param, _ lo: Int, _ hi: Int, _ a: UnsafePointer<sk_rprop_args>) {
        guard let g = p.grad, let prev = p.tensor(S.prev.rawValue), let s = p.tensor(S.stepSize.rawValue) else { return }
        sk_rprop(p.data + lo, g + lo, prev + lo, s + lo, Int64(hi - lo), a)
    }
}
