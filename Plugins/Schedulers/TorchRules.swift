import Foundation
import StepwiseABI
import StepwiseKit

// torch.optim.lr_scheduler's closed-form-and-chainable schedulers (torch 2.x). `t` is
// `last_epoch`, `v` the current lr, `b` the base lr (`initial_lr`).

private func current(_ tick: Tick) -> [Double] { (0..<tick.groupCount).map(tick.value) }
private func bases(_ tick: Tick) -> [Double] { (0..<tick.groupCount).map(tick.base) }

/// `b * gamma^(t // step_size)`.
struct TorchStepLR: TorchRule {
    static let name = "StepLR"
    static let summary = "Decay the lr by gamma every step_size steps"
    static let hyperparams: [Hyperparam] = [
        HP.requiredInt("step_size", min: 1, doc: "period of the decay, in steps"),
        .float("gamma", 0.1, doc: "multiplicative factor of the decay"),
    ]
    let stepSize: Int, gamma: Double
    init(values: Values, setup: ScheduleSetup) { stepSize = values.int(0); gamma = values.double(1) }
    func lr(_ c: TorchCounters, _ tick: Tick) -> [Double] {
        c.lastEpoch == 0 || c.lastEpoch % stepSize != 0 ? current(tick) : current(tick).map { $0 * gamma }
    }
    func closedForm(_ c: TorchCounters, _ tick: Tick) -> [Double]? {
        bases(tick).map { $0 * Py.pow(gamma, Double(Py.floorDiv(c.lastEpoch, stepSize))) }
    }
}

/// `b * gamma^(milestones passed)`.
struct TorchMultiStepLR: TorchRule {
    static let name = "MultiStepLR"
    static let summary = "Decay the lr by gamma at each milestone"
    static let hyperparams: [Hyperparam] = [
        HP.ints("milestones", nil, doc: "steps at which to decay (increasing)"),
        .float("gamma", 0.1, doc: "multiplicative factor of the decay"),
    ]
    let milestones: [Int], counts: [Int: Int], gamma: Double
    init(values: Values, setup: ScheduleSetup) {
        milestones = values.ints(0).sorted()
        counts = milestones.reduce(into: [:]) { $0[$1, default: 0] += 1 }
        gamma = values.double(1)
    }
    func lr(_ c: TorchCounters, _ tick: Tick) -> [Double] {
        guard let k = counts[c.lastEpoch] else { return current(tick) }
        return current(tick).map { $0 * Py.pow(gamma, Double(k)) }
    }
    func closedForm(_ c: TorchCounters, _ tick: Tick) -> [Double]? {
        bases(tick).map { $0 * Py.pow(gamma, Double(bisectRight(milestones, c.lastEpoch))) }
    }
}

/// `b * factor` for `t < total_iters`, then `b`.
struct TorchConstantLR: TorchRule {
    static let name = "ConstantLR"
    static let summary = "Scale the lr by a constant factor for total_iters steps"
    static let hyperparams: [Hyperparam] = [
        .float("factor", 1.0 / 3, min: 0, max: 1, doc: "the factor applied until total_iters"),
        .int("total_iters", 5, min: 0, doc: "steps during which the factor applies"),
    ]
    let factor: Double, total: Int
    init(values: Values, setup: ScheduleSetup) { factor = values.double(0); total = values.int(1) }
    func lr(_ c: TorchCounters, _ tick: Tick) -> [Double] {
        if c.lastEpoch == 0 { return current(tick).map { $0 * factor } }
        if c.lastEpoch != total { return current(tick) }
        return current(tick).map { $0 * (1.0 / factor) }
    }
    func closedForm(_ c: TorchCounters, _ tick: Tick) -> [Double]? {
        bases(tick).map { $0 * (factor + (c.lastEpoch >= total ? 1 : 0) * (1 - factor)) }
    }
}

/// Factor linear from `start_factor` to `end_factor` over `total_iters` steps.
struct TorchLinearLR: TorchRule {
    static let name = "LinearLR"
    static let summary = "Scale the lr by a factor changing linearly over total_iters steps"
    static let hyperparams: [Hyperparam] = [
        .float("start_factor", 1.0 / 3, min: 0, max: 1, minExclusive: true, doc: "factor at the first step"),
        .float("end_factor", 1.0, min: 0, max: 1, doc: "factor from total_iters on"),
        .int("total_iters", 5, min: 0, doc: "steps over which the factor changes"),
    ]
    let start: Double, end: Double, total: Int
    init(values: Values, setup: ScheduleSetup) { start = values.double(0); end = values.double(1); total = values.int(2) }
    func lr(_ c: TorchCounters, _ tick: Tick) -> [Double] {
        if c.lastEpoch == 0 { return current(tick).map { $0 * start } }
        if c.isInitial || c.lastEpoch > total { return current(tick) }
        let f = 1.0 + (end - start) / (Double(total) * start + Double(c.lastEpoch - 1) * (end - start))
        return current(tick).map { $0 * f }
    }
    func closedForm(_ c: TorchCounters, _ tick: Tick) -> [Double]? {
        bases(tick).map { $0 * (start + (end - start) * Double(min(total, c.lastEpoch)) / Double(total)) }
    }
}

/// `b * gamma^t`.
struct TorchExponentialLR: TorchRule {
    static let name = "ExponentialLR"
    static let summary = "Decay the lr by gamma every step"
    static let hyperparams: [Hyperparam] = [HP.requiredFloat("gamma", doc: "multiplicative factor of the decay")]
    let gamma: Double
    init(values: Values, setup: ScheduleSetup) { gamma = values.double(0) }
    func lr(_ c: TorchCounters, _ tick: Tick) -> [Double] {
        c.isInitial ? current(tick) : current(tick).map { $0 * gamma }
    }
    func closedForm(_ c: TorchCounters, _ tick: Tick) -> [Double]? {
        bases(tick).map { $0 * Py.pow(gamma, Double(c.lastEpoch)) }
    }
}

/// `b * (1 - min(t, total_iters) / total_iters)^power`.
struct TorchPolynomialLR: TorchRule {
    static let name = "PolynomialLR"
    static let summary = "Polynomial decay of the lr to zero over total_iters steps"
    static let hyperparams: [Hyperparam] = [
        .int("total_iters", 5, min: 1, doc: "steps over which the lr decays"),
        .float("power", 1.0, doc: "power of the polynomial"),
    ]
    let total: Int, power: Double
    init(values: Values, setup: ScheduleSetup) { total = values.int(0); power = values.double(1) }
    func lr(_ c: TorchCounters, _ tick: Tick) -> [Double] {
        if c.isInitial || c.lastEpoch > total { return current(tick) }
        let t = Double(c.lastEpoch), n = Double(total)
        let f = Py.pow((1.0 - t / n) / (1.0 - (t - 1) / n), power)
        return current(tick).map { $0 * f }
    }
    func closedForm(_ c: TorchCounters, _ tick: Tick) -> [Double]? {
        bases(tick).map { $0 * Py.pow(1.0 - Double(min(total, c.lastEpoch)) / Double(total), power) }
    }
}

/// Recursive cosine annealing over `T_max` steps, without restarts.
struct TorchCosineAnnealingLR: TorchRule {
    static let name = "CosineAnnealingLR"
    static let summary = "Cosine annealing of the lr to eta_min over T_max steps"
    static let hyperparams: [Hyperparam] = [
        HP.requiredInt("T_max", min: 1, doc: "steps of a half cosine"),
        .float("eta_min", 0, doc: "minimum lr"),
    ]
    let tMax: Int, etaMin: Double
    init(values: Values, setup: ScheduleSetup) { tMax = values.int(0); etaMin = values.double(1) }
    func lr(_ c: TorchCounters, _ tick: Tick) -> [Double] {
        let T = Double(tMax), t = Double(c.lastEpoch)
        if c.isInitial { return current(tick) }
        if c.stepCount == 1 && c.lastEpoch > 0 {
            return bases(tick).map { etaMin + ($0 - etaMin) * (1 + cos(t * Double.pi / T)) / 2 }
        }
        if (c.lastEpoch - 1 - tMax) % (2 * tMax) == 0 {
            return (0..<tick.groupCount).map { tick.value($0) + (tick.base($0) - etaMin) * (1 - cos(Double.pi / T)) / 2 }
        }
        return current(tick).map {
            (1 + cos(Double.pi * t / T)) / (1 + cos(Double.pi * (t - 1) / T)) * ($0 - etaMin) + etaMin
        }
    }
    func closedForm(_ c: TorchCounters, _ tick: Tick) -> [Double]? {
        bases(tick).map { etaMin + ($0 - etaMin) * (1 + cos(Double.pi * Double(c.lastEpoch) / Double(tMax))) / 2 }
    }
}

/// SGDR: cosine annealing restarted every `T_i` steps, `T_i` growing by `T_mult`.
struct TorchCosineAnnealingWarmRestarts: TorchRule {
    static let name = "CosineAnnealingWarmRestarts"
    static let summary = "Cosine annealing of the lr with warm restarts (SGDR)"
    static let hyperparams: [Hyperparam] = [
        HP.requiredInt("T_0", min: 1, doc: "steps until the first restart"),
        .int("T_mult", 1, min: 1, doc: "factor by which the period grows after each restart"),
        .float("eta_min", 0, doc: "minimum lr"),
    ]
    let t0: Int, tMult: Int, etaMin: Double
    var tCur: Int, tI: Int
    init(values: Values, setup: ScheduleSetup) {
        t0 = values.int(0); tMult = values.int(1); etaMin = values.double(2)
        tI = t0
        tCur = values.int(Self.hyperparams.count)
    }
    mutating func advance(_ c: inout TorchCounters) {
        if c.lastEpoch < 0 {
            // `step(epoch=0)`: the explicit-epoch branch with epoch < T_0.
            tI = t0
            tCur = 0
            c.lastEpoch = 0
            return
        }
        c.lastEpoch += 1
        tCur += 1
        if tCur >= tI {
            tCur %= tI
            tI *= tMult
        }
    }
    func lr(_ c: TorchCounters, _ tick: Tick) -> [Double] {
        bases(tick).map { etaMin + ($0 - etaMin) * (1 + cos(Double.pi * Double(tCur) / Double(tI))) / 2 }
    }
    var state: [Double] {
        get { [Double(tCur), Double(tI)] }
        // Garbage state must not trap: a non-integral value keeps the current cycle.
        set {
            tCur = Int(exactly: newValue[0]) ?? tCur
            tI = Int(exactly: newValue[1]).map { max($0, 1) } ?? tI
        }
    }
}
