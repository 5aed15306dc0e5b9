import StepwiseABI
import StepwiseKernels
import StepwiseKit

/// Adafactor, as torch.optim.Adafactor defines it (lr as the cap of the relative step size
/// and the scale of decoupled weight decay; ε₁ applied after factoring).
///
///     G_t = ±∇f(θ_{t-1});  β̂₂ₜ = 1 − t^τ;  ρ_t = min(γ, 1/√t);  α_t = max(ε₂, RMS(θ_{t-1})) ρ_t
///     θ ← θ(1 − γλ)
///     rank ≥ 2 (over the last two dims):  R_t = lerp(R_{t-1}, mean_cols(G²), 1 − β̂₂ₜ),
///                                          C_t = lerp(C_{t-1}, mean_rows(G²), 1 − β̂₂ₜ),
///                                          V̂_t = R_t C_t / max(mean(R_t), ε₁)
///     otherwise:                            V̂_t = lerp(V̂_{t-1}, G², 1 − β̂₂ₜ)
///     U_t = G_t / √max(V̂_t, ε₁²);  θ_t = θ − α_t U_t / max(1, RMS(U_t)/d)
///
/// Source: torch/optim/_adafactor.py, `_single_tensor_adafactor`; Shazeer & Stern, ICML
/// 2018. `eps` is a pair whose first element may be None (float32's machine epsilon).
final class Adafactor: OptimizerAlgorithm {
    enum Key: Int { case lr, beta2Decay, eps, d, weightDecay, maximize }
    enum S: Int { case step, rowVar, colVar, variance }

    static let typeName = "Adafactor"
    static let summary = "Adafactor: factored second moments with relative step sizes"
    static let reference = "torch.optim.Adafactor (torch/optim/_adafactor.py); Shazeer & Stern, ICML 2018"
    static let hyperparams: [Hyperparam] = [
        Common.lr(1e-2),
        .float("beta2_decay", -0.8, max: 0, flags: perGroup, label: "beta2_decay value",
               doc: "decay rate τ of β₂: β̂₂ₜ = 1 − t^τ (≤ 0)"),
        Hyperparam("eps", STEPWISE_TYPE_JSON, default: .json("[null, 0.001]"), flags: perGroup,
                   doc: "(ε₁, ε₂): ε₁ (None: float32 epsilon) stabilizes the denominator, ε₂ floors the parameter scale"),
        .float("d", 1.0, min: 1, flags: perGroup, label: "clipping threshold d", doc: "update clipping threshold d (≥ 1)"),
        Common.weightDecay(0, doc: "decoupled weight decay λ: θ ← θ(1 − γλ)"),
        Common.maximize, .noEffect("foreach"),
    ]
    static let slots = [
        Common.step,
        Slot("row_var", doc: "row factor R of the second moment (rank ≥ 2; shape [..., rows, 1])"),
        Slot("col_var", doc: "column factor C of the second moment (rank ≥ 2; shape [..., 1, cols])"),
        Slot("variance", doc: "second moment V̂ (rank < 2)"),
    ]

    /// (ε₁, ε₂) from the JSON pair, checked like torch's constructor.
    static func epsilons(_ v: Values) throws(PluginError) -> (Double, Double) {
        guard let pair = parseNumberList(v.string(Key.eps.rawValue)), pair.count == 2, let eps2 = pair[1] else {
            throw .invalid("eps must be a pair [epsilon1 or None, epsilon2], got \(v.string(Key.eps.rawValue))")
        }
        let eps1 = pair[0] ?? Double(Float.ulpOfOne)
        if !(eps1 >= 0) { throw .invalid("Invalid epsilon1 (eps[0]): \(eps1); epsilon1 should be >= 0") }
        if !(eps2 >= 0) { throw .invalid("Invalid epsilon2 (eps[1]): \(eps2); epsilon2 should be >= 0") }
        return (eps1, eps2)
    }

    static func check(_ v: Values) throws(PluginError) { _ = try epsilons(v) }

    let host: Host
    private var scratch: [Double] = []

    init(host: Host, defaults: Values) throws(PluginError) { self.host = host }

    func slotShape(_ slot: Int, param: Param) -> [Int64]? {
        let shape = param.shape.map(Int64.init)
        let factored = shape.count >= 2
        switch S(rawValue: slot) {
        case .rowVar: return factored ? Array(shape.dropLast()) + [1] : nil
        case .colVar: return factored ? Array(shape.dropLast(2)) + [1, shape[shape.count - 1]] : nil
        case .variance: return factored ? nil : shape
        default: return shape
        }
    }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        let v = group.values
        let (eps1, eps2) = try Self.epsilons(v)
        var stepped = false
        for i in 0..<group.count where group[i].hasGrad {
            let p = group[i]
            guard let g = p.grad else { continue }
            let shape = p.shape
            let cols = shape.last ?? 1
            let rows = shape.count >= 2 ? shape[shape.count - 2] : 1
            let batch = shape.count >= 2 ? shape.dropLast(2).reduce(1, *) : 1
            if shape.count >= 2 && scratch.count < cols { scratch = Array(repeating: 0, count: cols) }
            var a = sk_adafactor_args(
                lr: v.double(Key.lr.rawValue), beta2_decay: v.double(Key.beta2Decay.rawValue), eps1: eps1, eps2: eps2,
                d: v.double(Key.d.rawValue), weight_decay: v.double(Key.weightDecay.rawValue),
                step: p.advance(S.step.rawValue), sign: v.bool(Key.maximize.rawValue) ? -1 : 1)
            let factored = shape.count >= 2
            scratch.withUnsafeMutableBufferPointer { buffer in
                sk_adafactor(p.data, g, factored ? p.tensor(S.rowVar.rawValue) : nil,
                             factored ? p.tensor(S.colVar.rawValue) : nil,
                             factored ? nil : p.tensor(S.variance.rawValue),
                             Int64(factored ? batch : 1), Int64(factored ? rows : 1), Int64(factored ? cols : p.count),
                             &a, buffer.baseAddress)
            }
            stepped = true
        }
        return StepOutcome(stepped ? STEPWISE_OK : STEPWISE_SKIPPED)
    }
}
