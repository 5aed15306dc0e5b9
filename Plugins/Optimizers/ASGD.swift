import StepwiseABI
import StepwiseKernels
import StepwiseKit

/// Averaged SGD, as torch.optim.ASGD defines it.
///
///     g_t = ±∇f(θ_{t-1}) + λ_wd θ_{t-1}
///     θ_t = θ_{t-1}(1 − λη_t) − η_t g_t
///     a_t = a_{t-1} + μ_t(θ_t − a_{t-1})   (μ_t ≠ 1),   a_t = θ_t otherwise
///     η_{t+1} = γ / (1 + λγt)^α,  μ_{t+1} = 1 / max(1, t − t₀)      (η_1 = γ, μ_1 = 1)
///
/// Source: torch/optim/asgd.py, `_single_tensor_asgd`; Polyak & Juditsky, SIAM J. Control
/// Optim. 1992. η and μ are float32 in torch and round like them here.
final class ASGD: ElementwiseAlgorithm {
    enum Key: Int { case lr, lambd, alpha, t0, weightDecay, maximize }
    enum S: Int { case step, eta, mu, ax }

    static let typeName = "ASGD"
    static let summary = "Averaged stochastic gradient descent"
    static let reference = "torch.optim.ASGD (torch/optim/asgd.py); Polyak & Juditsky, 1992"
    static let hyperparams: [Hyperparam] = [
        Common.lr(1e-2),
        .float("lambd", 1e-4, min: 0, flags: perGroup, label: "lambd value", doc: "decay term λ"),
        .float("alpha", 0.75, min: 0, flags: perGroup, label: "alpha value", doc: "power α of the η schedule"),
        .float("t0", 1e6, flags: perGroup, doc: "step at which averaging starts t₀"),
        Common.weightDecay(), Common.maximize,
    ] + torchKernelSelectors
    static let slots = [Common.step, Slot.scalar("eta", doc: "current step size η"),
                        Slot.scalar("mu", doc: "current averaging weight μ"), Slot("ax", doc: "averaged parameters a")]

    let host: Host
    let scratch = StepScratch<sk_asgd_args>()
    private var memo = Memo<SIMD3<Double>, (sk_asgd_args, Double, Double)>()

    init(host: Host, defaults: Values) throws(PluginError) { self.host = host }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        try runElementwise(group)
    }

    func begin(_ v: Values) throws(PluginError) { memo = Memo() }

    func coefficients(_ v: Values, _ p: Param) -> sk_asgd_args {
        let step = p.advance(S.step.rawValue)
        let eta = p.scalar(S.eta.rawValue), mu = p.scalar(S.mu.rawValue)
        if p.isFresh {
            eta.pointee = Double(Float(v.double(Key.lr.rawValue)))
            mu.pointee = 1
        }
        let (args, nextEta, nextMu) = memo.get(SIMD3(step, eta.pointee, mu.pointee)) {
            var a = sk_asgd_args()
            var e = eta.pointee, m = mu.pointee
            sk_asgd_prepare(v.double(Key.lr.rawValue), v.double(Key.lambd.rawValue), v.double(Key.alpha.rawValue),
                            v.double(Key.t0.rawValue), v.double(Key.weightDecay.rawValue),
                            v.bool(Key.maximize.rawValue), step, &e, &m, &a)
            return (a, e, m)
        }
        eta.pointee = nextEta
        mu.pointee = nextMu
        return args
    }

    func kernel(_ p: Param, _ lo: Int, _ hi: Int, _ a: UnsafePointer<sk_asgd_args>) {
        guard let g = p.grad, let ax = p.tensor(S.ax.rawValue) else { return }
        sk_asgd(p.data + lo, g + lo, ax + lo, Int64(hi - lo), a)
    }
}
