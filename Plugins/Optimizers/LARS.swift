import StepwiseABI
import StepwiseKernels
import StepwiseKit

/// LARS (layer-wise adaptive rate scaling) for SGD, as MMSelfSup ships it.
///
///     ℓ = η‖θ‖ / (‖g‖ + λ‖θ‖ + ε)   if ‖θ‖ ≠ 0 and ‖g‖ ≠ 0 and the tensor is not excluded, else 1
///     d_t = (g_t + λθ_{t-1}) · ℓγ
///     b_t = d_t (t = 1),  b_t = μ b_{t-1} + (1 − τ) d_t (t > 1)          (μ ≠ 0)
///     u_t = d_t + μ b_t (nesterov),  b_t (μ ≠ 0),  d_t (μ = 0)
///     θ_t = θ_{t-1} − u_t
///
/// Source: mmselfsup/engine/optimizers/lars.py (MMSelfSup 1.x); You, Gitman & Ginsburg,
/// arXiv:1708.03888, Algorithm 1. A group excludes its tensors from adaptation with
/// MMSelfSup's `lars_exclude: true` (what `paramwise_cfg` sets for bias and norm layers);
/// `exclude_bias_and_norm: true` (Stepwise's) does it for parameters tagged bias or norm.
final class LARS: OptimizerAlgorithm {
    enum Key: Int { case lr, momentum, weightDecay, dampening, eta, nesterov, eps, larsExclude, excludeBiasNorm }

    static let typeName = "LARS"
    static let summary = "Layer-wise adaptive rate scaling for SGD (MMSelfSup)"
    static let reference = "mmselfsup.engine.optimizers.LARS (MMSelfSup 1.x); You et al., arXiv:1708.03888"
    static let hyperparams: [Hyperparam] = [
        Hyperparam("lr", STEPWISE_TYPE_FLOAT, default: .none, role: STEPWISE_ROLE_LR,
                   flags: UInt32(STEPWISE_HP_REQUIRED) | perGroup, min: 0, label: "learning rate",
                   doc: "base learning rate γ (required)"),
        .float("momentum", 0, role: STEPWISE_ROLE_MOMENTUM, min: 0, flags: perGroup, label: "momentum value",
               doc: "momentum factor μ"),
        Common.weightDecay(),
        .float("dampening", 0, flags: perGroup, doc: "dampening τ for momentum"),
        .float("eta", 1e-3, min: 0, flags: perGroup, label: "LARS coefficient value", doc: "trust coefficient η"),
        .bool("nesterov", false, flags: perGroup, doc: "use Nesterov momentum"),
        .float("eps", 1e-8, doc: "term added to the denominator of the local learning rate ε"),
        .bool("lars_exclude", false, flags: perGroup,
              doc: "skip the adaptation (ℓ = 1) for this group's tensors (MMSelfSup's paramwise key)"),
        .bool("exclude_bias_and_norm", false, flags: perGroup,
              doc: "skip the adaptation for parameters tagged bias or norm (Stepwise)"),
    ]
    static let slots = [Slot("momentum_buffer", doc: "momentum buffer b (absent while momentum is 0)")]

    static func check(_ v: Values) throws(PluginError) {
        if v.bool(Key.nesterov.rawValue) && (v.double(Key.momentum.rawValue) <= 0 || v.double(Key.dampening.rawValue) != 0) {
            throw .invalid("Nesterov momentum requires a momentum and zero dampening")
        }
    }

    let host: Host
    let scratch = StepScratch<sk_lars_args>()
    private let hasBuffer: Bool
    private let eps: Double

    init(host: Host, defaults: Values) throws(PluginError) {
        self.host = host
        hasBuffer = defaults.double(Key.momentum.rawValue) != 0
        eps = defaults.double(Key.eps.rawValue)
    }

    func slotShape(_ slot: Int, param: Param) -> [Int64]? { hasBuffer ? param.shape.map(Int64.init) : nil }

    private func excluded(_ v: Values, _ p: Param) -> Bool {
        v.bool(Key.larsExclude.rawValue)
            || (v.bool(Key.excludeBiasNorm.rawValue) && (p.tag == STEPWISE_PARAM_BIAS || p.tag == STEPWISE_PARAM_NORM))
    }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        let v = group.values
        if v.double(Key.momentum.rawValue) != 0 && !hasBuffer {
            throw .invalid("a param group sets momentum, but the optimizer's default momentum is 0 and so keeps no momentum buffer; give the optimizer a non-zero momentum")
        }
        scratch.plan(group, threads: host.threadCount)
        guard scratch.total > 0 else { return StepOutcome(STEPWISE_SKIPPED) }
        // ‖θ‖ and ‖g‖ of every adapted tensor, summed per piece and reduced in a fixed order.
        scratch.resetPartials(width: 2)
        scratch.partials.withUnsafeMutableBufferPointer { partials in
            guard let sums = partials.baseAddress else { return }
            scratch.run(host: host) { t, _, lo, hi, slot in
                let p = group[t]
                guard !excluded(v, p), let g = p.grad else { return }
                sk_sumsq2(p.data + lo, g + lo, Int64(hi - lo), sums + 2 * slot)
            }
        }
        scratch.args.removeAll(keepingCapacity: true)
        for t in 0..<group.count where group[t].hasGrad {
            let p = group[t]
            // torch.norm is float32; `.item()` widens it.
            let wn = Double(Float(scratch.reduce(t, component: 0, width: 2).squareRoot()))
            let gn = Double(Float(scratch.reduce(t, component: 1, width: 2).squareRoot()))
            var a = sk_lars_args()
            sk_lars_prepare(v.double(Key.lr.rawValue), v.double(Key.momentum.rawValue), v.double(Key.dampening.rawValue),
                            v.double(Key.weightDecay.rawValue), v.double(Key.eta.rawValue), eps,
                            v.bool(Key.nesterov.rawValue), excluded(v, p), wn, gn, &a)
            a.first_step = p.isFresh
            scratch.args.append(a)
        }
        scratch.args.withUnsafeBufferPointer { args in
            guard let base = args.baseAddress else { return }
            scratch.run(host: host) { t, dense, lo, hi, _ in
                let p = group[t]
                guard let g = p.grad else { return }
                sk_lars(p.data + lo, g + lo, p.tensor(0).map { $0 + lo }, Int64(hi - lo), base + dense)
            }
        }
        return .stepped
    }
}
