import StepwiseABI
import StepwiseKit

/// L-BFGS, as torch.optim.LBFGS defines it: up to `max_iter` quasi-Newton iterations per
/// `step`, each re-evaluating the loss through the closure, over one flat vector of all
/// parameters (one param group only).
///
///     d = −H∇f  (two-loop recursion over the last `history_size` pairs (s, y), H₀ = sᵀy/yᵀy)
///     t = min(1, 1/‖∇f‖₁)·γ on the first iteration, γ afterwards; or a strong-Wolfe line
///         search from it (`line_search_fn: strong_wolfe`)
///     θ ← θ + t d;  stop on ‖∇f‖∞ ≤ tolerance_grad, |Δf| or ‖t d‖∞ < tolerance_change,
///         max_iter iterations or max_eval evaluations
///
/// Source: torch/optim/lbfgs.py (after minFunc and Torch7's lbfgs.lua / lswolfe.lua);
/// Nocedal, Math. Comp. 1980. Scalars follow torch's mix of Python floats and float32
/// tensors (see `Num`). History, direction and step live in the extra state blob.
final class LBFGS: OptimizerAlgorithm {
    enum Key: Int { case lr, maxIter, maxEval, toleranceGrad, toleranceChange, historySize, lineSearch }

    static let typeName = "LBFGS"
    static let summary = "L-BFGS quasi-Newton method with optional strong-Wolfe line search (needs a closure)"
    static let reference = "torch.optim.LBFGS (torch/optim/lbfgs.py); Nocedal, Math. Comp. 1980; minFunc"
    static let flags = UInt32(STEPWISE_OPT_NEEDS_CLOSURE | STEPWISE_OPT_SINGLE_GROUP)
    static let hyperparams: [Hyperparam] = [
        Common.lr(1),
        .int("max_iter", 20, min: 1, flags: perGroup, label: "max_iter value",
             doc: "maximal number of iterations per step"),
        Hyperparam("max_eval", STEPWISE_TYPE_INT, default: .none, flags: perGroup, min: 1, label: "max_eval value",
                   doc: "maximal number of loss evaluations per step (None: max_iter * 5 // 4)"),
        .float("tolerance_grad", 1e-7, min: 0, flags: perGroup, label: "tolerance_grad value",
               doc: "stop when the largest gradient component is at most this"),
        .float("tolerance_change", 1e-9, min: 0, flags: perGroup, label: "tolerance_change value",
               doc: "stop when the loss or the parameters change less than this"),
        .int("history_size", 100, min: 1, flags: perGroup, label: "history_size value",
             doc: "number of (s, y) pairs kept"),
        .string("line_search_fn", nil, choices: ["strong_wolfe"], flags: perGroup,
                doc: "None (fixed step) or 'strong_wolfe'"),
    ]
    static let hasExtraState = true

    let host: Host
    var state = LBFGSState()

    init(host: Host, defaults: Values) throws(PluginError) { self.host = host }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        guard let closure else { throw .invalid("LBFGS needs a closure that re-evaluates the loss") }
        let v = group.values
        let flat = FlatParams(group)
        try state.checkSize(flat.count)
        let lr = Num.py(v.double(Key.lr.rawValue))
        let maxIter = v.int(Key.maxIter.rawValue)
        let maxEval = v.isNone(Key.maxEval.rawValue) ? maxIter * 5 / 4 : v.int(Key.maxEval.rawValue)
        let toleranceGrad = Num.py(v.double(Key.toleranceGrad.rawValue))
        let toleranceChange = v.double(Key.toleranceChange.rawValue)
        let historySize = v.int(Key.historySize.rawValue)
        let lineSearch = !v.isNone(Key.lineSearch.rawValue)

        let evaluate = { () throws(PluginError) -> Num in .py(try self.evaluate(closure)) }
        let origLoss = try evaluate()
        var loss = origLoss
        var currentEvals = 1
        state.funcEvals += 1
        var flatGrad = flat.gradient()
        var optimal = Num.f32(FlatMath.absMax(flatGrad)) <= toleranceGrad
        if optimal { return StepOutcome(STEPWISE_OK, loss: origLoss.double) }

        var s = state
        var nIter = 0
        while nIter < maxIter {
            nIter += 1
            s.nIter += 1
            var d: [Float]
            if s.nIter == 1 {
                d = FlatMath.negated(flatGrad)
                s.oldDirs = []; s.oldStps = []; s.ro = []
                s.hDiag = .py(1)
            } else {
                d = s.update(flatGrad, historySize: historySize)
            }
            s.prevFlatGrad = flatGrad
            s.prevLoss = loss

            var t: Num = s.nIter == 1
                ? Num.pyMin(.py(1), .py(1) / .f32(FlatMath.absSum(flatGrad))) * lr
                : lr
            let gtd = Num.f32(FlatMath.dot(flatGrad, d))
            if gtd > .py(-toleranceChange) {
                s.d = d; s.t = t
                break
            }

            var lsEvals = 0
            if lineSearch {
                let x = flat.values()
                let direction = d
                (loss, flatGrad, t, lsEvals) = try strongWolfe({ (step: Num) throws(PluginError) -> (Num, [Float]) in
                    flat.add(step.float, direction)
                    let f = try evaluate()
                    let g = flat.gradient()
                    flat.set(x)
                    return (f, g)
                }, t: t, d: d, f: loss, g: flatGrad, gtd: gtd)
                flat.add(t.float, d)
                optimal = Num.f32(FlatMath.absMax(flatGrad)) <= toleranceGrad
            } else {
                flat.add(t.float, d)
                if nIter != maxIter {
                    loss = try evaluate()
                    flatGrad = flat.gradient()
                    optimal = Num.f32(FlatMath.absMax(flatGrad)) <= toleranceGrad
                    lsEvals = 1
                }
            }
            currentEvals += lsEvals
            s.funcEvals += lsEvals
            s.d = d; s.t = t

            if nIter == maxIter || currentEvals >= maxEval || optimal { break }
            if Num.f32(FlatMath.absMax(FlatMath.scaled(d, t.float))) <= .py(toleranceChange) { break }
            if let prev = s.prevLoss, (loss - prev).magnitude < .py(toleranceChange) { break }
        }
        state = s
        return StepOutcome(STEPWISE_OK, loss: origLoss.double)
    }

    private func evaluate(_ closure: UnsafePointer<stepwise_closure>) throws(PluginError) -> Double {
        var loss = 0.0
        var error: OpaquePointer? = nil
        let status = closure.pointee.evaluate?(closure, &loss, &error) ?? STEPWISE_UNSUPPORTED
        guard status == STEPWISE_OK else {
            let h = host.raw
            let message = error.flatMap { h.pointee.error_message?(h, $0) }.map { String(cString: $0) }
                ?? "the loss closure failed with status \(status.rawValue)"
            h.pointee.error_free?(h, error)
            throw PluginError(status, message)
        }
        return loss
    }

    func saveState(_ writer: StateWriter) throws(PluginError) { try state.save(writer) }

    func loadState(_ reader: StateReader) throws(PluginError) {
        state = try LBFGSState.load(reader)
        try reader.expectEnd()
    }
}

/// The group's tensors seen as one flat float32 vector, as torch's LBFGS views them.
struct FlatParams {
    let group: Group
    let count: Int

    init(_ group: Group) {
        self.group = group
        var n = 0
        for i in 0..<group.count { n += group[i].count }
        count = n
    }

    /// The gradient, with zeros for parameters that have none (`_gather_flat_grad`).
    func gradient() -> [Float] {
        var out = [Float](repeating: 0, count: count)
        var offset = 0
        for i in 0..<group.count {
            let p = group[i]
            if let g = p.grad { for k in 0..<p.count { out[offset + k] = g[k] } }
            offset += p.count
        }
        return out
    }

    func values() -> [Float] {
        var out = [Float](repeating: 0, count: count)
        var offset = 0
        for i in 0..<group.count {
            let p = group[i]
            for k in 0..<p.count { out[offset + k] = p.data[k] }
            offset += p.count
        }
        return out
    }

    func set(_ x: [Float]) {
        var offset = 0
        for i in 0..<group.count {
            let p = group[i]
            for k in 0..<p.count { p.data[k] = x[offset + k] }
            offset += p.count
        }
    }

    /// θ ← θ + t·d (`_add_grad`).
    func add(_ t: Float, _ d: [Float]) {
        var offset = 0
        for i in 0..<group.count {
            let p = group[i]
            for k in 0..<p.count { p.data[k] = p.data[k] + t * d[offset + k] }
            offset += p.count
        }
    }
}
