import Foundation
import StepwiseABI
import StepwiseKit

// The MMCV 1.7 policies. `p` is the progress (epoch or iteration), `P` its maximum
// (max_epochs or max_iters), `b` the base value. Momentum policies share the LR ones'
// formulas under their own key names (`min_momentum` for `min_lr`).

/// The names a policy's keys take in its LR and momentum flavours.
private func key(_ lr: String, _ momentum: String, _ isMomentum: Bool) -> String { isMomentum ? momentum : lr }

private func fraction(_ progress: Int, _ byEpoch: Bool, _ run: MMCVRun) -> Double {
    Double(progress) / Double(byEpoch ? run.maxEpochs : run.maxIters)
}

/// `min_lr` or `min_lr_ratio` (exactly one), or their momentum names.
struct MMCVTarget {
    var fixed: Double?, ratio: Double?
    func value(base: Double) -> Double { ratio.map { base * $0 } ?? fixed ?? 0 }

    static func hyperparams(momentum: Bool) -> [Hyperparam] {
        [
            HP.optionalFloat(key("min_lr", "min_momentum", momentum), doc: "value reached at the end"),
            HP.optionalFloat(key("min_lr_ratio", "min_momentum_ratio", momentum),
                             doc: "value reached at the end, as a ratio of the base value"),
        ]
    }
    static func check(_ values: Values, at i: Int, owner: String, momentum: Bool) throws(PluginError) {
        guard values.isNone(i) != values.isNone(i + 1) else {
            throw .invalid("\(owner): give exactly one of \(key("min_lr", "min_momentum", momentum)) and "
                           + "\(key("min_lr_ratio", "min_momentum_ratio", momentum))")
        }
    }
    init(_ values: Values, at i: Int) { fixed = values.optionalDouble(i); ratio = values.optionalDouble(i + 1) }
}

struct MMCVFixed: MMCVPolicy {
    static let name = "Fixed"
    static let summary = "Keep the base lr"
    static let momentum = false
    static let hyperparams: [Hyperparam] = []
    init(values: Values, run: MMCVRun, groups: Int) {}
    func value(progress: Int, byEpoch: Bool, run: MMCVRun, base: Double, group: Int) -> Double { base }
}

/// `b * gamma^k`, k = p // step or the number of milestones passed; floored at the minimum.
struct MMCVStep<Kind: MMCVKind>: MMCVPolicy {
    static var name: String { "Step" }
    static var summary: String { "Decay by gamma at each step milestone" }
    static var momentum: Bool { Kind.momentum }
    static var hyperparams: [Hyperparam] {
        [
            Hyperparam("step", STEPWISE_TYPE_JSON, default: .none, flags: HP.required,
                       doc: "decay every `step` (an int) or at each listed milestone"),
            .float("gamma", Kind.momentum ? 0.5 : 0.1, doc: "multiplicative factor of the decay"),
            HP.optionalFloat(key("min_lr", "min_momentum", Kind.momentum), doc: "lower bound"),
        ]
    }
    static func check(_ values: Values) throws(PluginError) { _ = try parseStep(values) }
    /// `step` is JSON-typed to keep an int (`progress // step`) apart from a one-element
    /// list (a milestone); the host passes a bare number as a number.
    static func parseStep(_ values: Values) throws(PluginError) -> (every: Int?, milestones: [Int]) {
        let v = values[0]
        if v.type == STEPWISE_TYPE_INT || v.type == STEPWISE_TYPE_FLOAT {
            let n = values.double(0)
            guard n > 0, n == n.rounded() else { throw stepError("\(n)") }
            return (Int(n), [])
        }
        let json = values.string(0)
        let object = try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        if let n = object as? Int, n > 0 { return (n, []) }
        if let list = object as? [Int], list.allSatisfy({ $0 > 0 }) { return (nil, list) }
        throw stepError(json)
    }
    static func stepError(_ got: String) -> PluginError {
        .invalid("Step\(Kind.momentum ? "Momentum" : "Lr")UpdaterHook: \"step\" must be a positive integer or "
                 + "a list of positive integers, got \(got)")
    }
    let every: Int?, milestones: [Int], gamma: Double, minimum: Double?
    init(values: Values, run: MMCVRun, groups: Int) throws(PluginError) {
        (every, milestones) = try Self.parseStep(values)
        gamma = values.double(1)
        minimum = values.optionalDouble(2)
    }
    func value(progress: Int, byEpoch: Bool, run: MMCVRun, base: Double, group: Int) -> Double {
        let exp = every.map { progress / $0 } ?? (milestones.firstIndex { progress < $0 } ?? milestones.count)
        let v = base * Py.pow(gamma, Double(exp))
        return minimum.map { max(v, $0) } ?? v
    }
}

/// `b * gamma^p`.
struct MMCVExp: MMCVPolicy {
    static let name = "Exp"
    static let summary = "Decay the lr by gamma every epoch or iteration"
    static let momentum = false
    static let hyperparams: [Hyperparam] = [HP.requiredFloat("gamma", doc: "multiplicative factor of the decay")]
    let gamma: Double
    init(values: Values, run: MMCVRun, groups: Int) { gamma = values.double(0) }
    func value(progress: Int, byEpoch: Bool, run: MMCVRun, base: Double, group: Int) -> Double {
        base * Py.pow(gamma, Double(progress))
    }
}

/// `(b - min) (1 - p / P)^power + min`.
struct MMCVPoly: MMCVPolicy {
    static let name = "Poly"
    static let summary = "Polynomial decay of the lr to min_lr"
    static let momentum = false
    static let hyperparams: [Hyperparam] = [
        .float("power", 1.0, doc: "power of the polynomial"),
        .float("min_lr", 0, doc: "value reached at the end"),
    ]
    let power: Double, minimum: Double
    init(values: Values, run: MMCVRun, groups: Int) { power = values.double(0); minimum = values.double(1) }
    func value(progress: Int, byEpoch: Bool, run: MMCVRun, base: Double, group: Int) -> Double {
        (base - minimum) * Py.pow(1 - fraction(progress, byEpoch, run), power) + minimum
    }
}

/// `b (1 + gamma p)^-power`.
struct MMCVInv: MMCVPolicy {
    static let name = "Inv"
    static let summary = "Inverse decay of the lr"
    static let momentum = false
    static let hyperparams: [Hyperparam] = [
        HP.requiredFloat("gamma", doc: "rate of the decay"),
        .float("power", 1.0, doc: "power of the decay"),
    ]
    let gamma: Double, power: Double
    init(values: Values, run: MMCVRun, groups: Int) { gamma = values.double(0); power = values.double(1) }
    func value(progress: Int, byEpoch: Bool, run: MMCVRun, base: Double, group: Int) -> Double {
        base * Py.pow(1 + gamma * Double(progress), -power)
    }
}

/// Cosine (or linear) annealing from `b` to the target over the whole run.
struct MMCVAnnealing<Kind: MMCVKind, Shape: MMCVShape>: MMCVPolicy {
    static var name: String { Shape.name }
    static var summary: String { Shape.summary }
    static var momentum: Bool { Kind.momentum }
    static var hyperparams: [Hyperparam] { MMCVTarget.hyperparams(momentum: Kind.momentum) }
    static func check(_ values: Values) throws(PluginError) {
        try MMCVTarget.check(values, at: 0, owner: name, momentum: Kind.momentum)
    }
    let target: MMCVTarget
    init(values: Values, run: MMCVRun, groups: Int) { target = MMCVTarget(values, at: 0) }
    func value(progress: Int, byEpoch: Bool, run: MMCVRun, base: Double, group: Int) -> Double {
        let f = fraction(progress, byEpoch, run), t = target.value(base: base)
        return Shape.linear ? annealLinearMMCV(base, t, f) : annealCosMMCV(base, t, f)
    }
}

protocol MMCVKind { static var momentum: Bool { get } }
enum MMCVLr: MMCVKind { static let momentum = false }
enum MMCVMomentum: MMCVKind { static let momentum = true }

protocol MMCVShape {
    static var name: String { get }
    static var summary: String { get }
    static var linear: Bool { get }
}
enum MMCVCosineShape: MMCVShape {
    static let name = "CosineAnnealing"
    static let summary = "Cosine annealing to the minimum over the run"
    static let linear = false
}
enum MMCVLinearShape: MMCVShape {
    static let name = "LinearAnnealing"
    static let summary = "Linear annealing to the minimum over the run"
    static let linear = true
}

/// Flat at `b` until `start_percent` of the run, then cosine annealing.
struct MMCVFlatCosine: MMCVPolicy {
    static let name = "FlatCosineAnnealing"
    static let summary = "Flat lr, then cosine annealing from start_percent of the run"
    static let momentum = false
    static let hyperparams: [Hyperparam] = [
        .float("start_percent", 0.75, min: 0, max: 1, doc: "fraction of the run before annealing starts"),
    ] + MMCVTarget.hyperparams(momentum: false)
    static func check(_ values: Values) throws(PluginError) {
        try MMCVTarget.check(values, at: 1, owner: name, momentum: false)
    }
    let startPercent: Double, target: MMCVTarget
    init(values: Values, run: MMCVRun, groups: Int) {
        startPercent = values.double(0); target = MMCVTarget(values, at: 1)
    }
    func value(progress: Int, byEpoch: Bool, run: MMCVRun, base: Double, group: Int) -> Double {
        let total = byEpoch ? run.maxEpochs : run.maxIters
        let start = Int(Py.round(Double(total) * startPercent))
        let p = progress - start
        if p < 0 { return base }
        return annealCosMMCV(base, target.value(base: base), Double(p) / Double(total - start))
    }
}

/// Cosine annealing restarted after each period, the restart peak weighted.
struct MMCVCosineRestart: MMCVPolicy {
    static let name = "CosineRestart"
    static let summary = "Cosine annealing of the lr with restarts after each of the periods"
    static let momentum = false
    static let hyperparams: [Hyperparam] = [
        HP.ints("periods", nil, min: 1, doc: "length of each cosine cycle"),
        .floats("restart_weights", [1], doc: "peak of each cycle, as a ratio of the base lr"),
    ] + MMCVTarget.hyperparams(momentum: false)
    static func check(_ values: Values) throws(PluginError) {
        try MMCVTarget.check(values, at: 2, owner: name, momentum: false)
        guard values.ints(0).count == values.doubles(1).count else {
            throw .invalid("CosineRestart: periods and restart_weights should have the same length.")
        }
    }
    let periods: [Int], weights: [Double], cumulative: [Int], target: MMCVTarget
    init(values: Values, run: MMCVRun, groups: Int) {
        periods = values.ints(0); weights = values.doubles(1)
        var sum = 0
        cumulative = periods.map { sum += $0; return sum }
        target = MMCVTarget(values, at: 2)
    }
    func value(progress: Int, byEpoch: Bool, run: MMCVRun, base: Double, group: Int) throws(PluginError) -> Double {
        guard let idx = cumulative.firstIndex(where: { progress < $0 }) else {
            throw .invalid("CosineRestart: current \(byEpoch ? "epoch" : "iteration") \(progress) exceeds "
                           + "cumulative_periods \(cumulative)")
        }
        let restart = idx == 0 ? 0 : cumulative[idx - 1]
        let alpha = min(Double(progress - restart) / Double(periods[idx]), 1)
        return annealCosMMCV(base, target.value(base: base), alpha, weight: weights[idx])
    }
}
