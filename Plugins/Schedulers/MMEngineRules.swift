import Foundation
import StepwiseABI
import StepwiseKit

// The MMEngine families (mmengine 0.10.7, param_scheduler.py), each in MMEngine's chainable
// form: the value at `last_step` from the current value `v` and the base value `b`
// (`initial_<param>`). `T = end - begin - 1` where a family uses a total.

/// `v * gamma` every `step_size` steps.
struct StepRule: MMEngineRule {
    static let family = "Step"
    static let summary = "Decay by gamma every step_size steps"
    static let hyperparams: [Hyperparam] = [
        HP.requiredInt("step_size", min: 1, flags: HP.period, doc: "period of the decay, in steps"),
        .float("gamma", 0.1, doc: "multiplicative factor of the decay"),
    ]
    let stepSize: Int, gamma: Double
    init(values: Values, window: MMEngineWindow, groups: Int, paramName: String?) {
        stepSize = values.int(0); gamma = values.double(1)
    }
    func values(lastStep: Int, _ tick: Tick) -> [Double] {
        (0..<tick.groupCount).map { i in
            lastStep == 0 || lastStep % stepSize != 0 ? tick.value(i) : tick.value(i) * gamma
        }
    }
}

/// `v * gamma^k` at a milestone listed k times.
struct MultiStepRule: MMEngineRule {
    static let family = "MultiStep"
    static let summary = "Decay by gamma at each milestone"
    static let hyperparams: [Hyperparam] = [
        HP.ints("milestones", nil, min: 0, flags: HP.period, doc: "steps at which to decay (increasing)"),
        .float("gamma", 0.1, doc: "multiplicative factor of the decay"),
    ]
    let counts: [Int: Int], gamma: Double
    init(values: Values, window: MMEngineWindow, groups: Int, paramName: String?) {
        counts = values.ints(0).reduce(into: [:]) { $0[$1, default: 0] += 1 }
        gamma = values.double(1)
    }
    func values(lastStep: Int, _ tick: Tick) -> [Double] {
        guard let k = counts[lastStep] else { return (0..<tick.groupCount).map(tick.value) }
        return (0..<tick.groupCount).map { tick.value($0) * Py.pow(gamma, Double(k)) }
    }
}

/// `v * factor` until `T`, where it is restored.
struct ConstantRule: MMEngineRule {
    static let family = "Constant"
    static let summary = "Scale by a constant factor until end"
    static let hyperparams: [Hyperparam] = [
        .float("factor", 1.0 / 3, min: 0, max: 1, doc: "the factor applied inside the window"),
    ]
    let factor: Double, total: Int
    init(values: Values, window: MMEngineWindow, groups: Int, paramName: String?) {
        factor = values.double(0); total = window.end - window.begin - 1
    }
    func values(lastStep: Int, _ tick: Tick) -> [Double] {
        (0..<tick.groupCount).map { i in
            if lastStep == 0 { return tick.value(i) * factor }
            if lastStep != total { return tick.value(i) }
            return tick.value(i) * (1.0 / factor)
        }
    }
}

/// `v * gamma` every step.
struct ExponentialRule: MMEngineRule {
    static let family = "Exponential"
    static let summary = "Decay by gamma every step"
    static let hyperparams: [Hyperparam] = [
        HP.requiredFloat("gamma", doc: "multiplicative factor of the decay"),
    ]
    let gamma: Double
    init(values: Values, window: MMEngineWindow, groups: Int, paramName: String?) { gamma = values.double(0) }
    func values(lastStep: Int, _ tick: Tick) -> [Double] {
        (0..<tick.groupCount).map { lastStep == 0 ? tick.value($0) : tick.value($0) * gamma }
    }
}

/// Factor linear from `start_factor` to `end_factor` over `T` steps:
/// `v * (1 + (e - s) / (T s + (t - 1)(e - s)))`.
struct LinearRule: MMEngineRule {
    static let family = "Linear"
    static let summary = "Scale by a factor changing linearly from start_factor to end_factor"
    static let hyperparams: [Hyperparam] = [
        .float("start_factor", 1.0 / 3, min: 0, max: 1, doc: "factor at the first step"),
        .float("end_factor", 1.0, min: 0, max: 1, doc: "factor at the end of the window"),
    ]
    let start: Double, end: Double, total: Int
    init(values: Values, window: MMEngineWindow, groups: Int, paramName: String?) {
        start = values.double(0); end = values.double(1); total = window.end - window.begin - 1
    }
    func values(lastStep: Int, _ tick: Tick) -> [Double] {
        (0..<tick.groupCount).map { i in
            if lastStep == 0 { return tick.value(i) * start }
            return tick.value(i) * (1.0 + (end - start) / (Double(total) * start + Double(lastStep - 1) * (end - start)))
        }
    }
}

/// `(v - eta_min) (1 - 1 / (T - t + 1))^power + eta_min`.
struct PolyRule: MMEngineRule {
    static let family = "Poly"
    static let summary = "Polynomial decay to eta_min at end"
    static let hyperparams: [Hyperparam] = [
        .float("eta_min", 0, doc: "value reached at the end of the window"),
        .float("power", 1.0, doc: "power of the polynomial"),
    ]
    let etaMin: Double, power: Double, total: Int
    init(values: Values, window: MMEngineWindow, groups: Int, paramName: String?) {
        etaMin = values.double(0); power = values.double(1); total = window.end - window.begin - 1
    }
    func values(lastStep: Int, _ tick: Tick) -> [Double] {
        (0..<tick.groupCount).map { i in
            if lastStep == 0 { return tick.value(i) }
            return (tick.value(i) - etaMin) * Py.pow(1 - 1 / Double(total - lastStep + 1), power) + etaMin
        }
    }
}

/// The minimum of a cosine schedule: `eta_min`, or `eta_min_ratio` times the base value.
struct EtaMin {
    var fixed: Double?
    var ratio: Double?
    func value(base: Double) -> Double { ratio.map { base * $0 } ?? fixed ?? 0 }

    static let hyperparams: [Hyperparam] = [
        HP.optionalFloat("eta_min", doc: "minimum value (default 0 unless eta_min_ratio is given)"),
        HP.optionalFloat("eta_min_ratio", doc: "minimum value as a ratio of the base value"),
    ]
}

/// Recursive cosine annealing (SGDR without restarts) over `T_max` steps:
/// `(1 + cos(pi t / T_max)) / (1 + cos(pi (t - 1) / T_max)) (v - m) + m`.
struct CosineAnnealingRule: MMEngineRule {
    static let family = "CosineAnnealing"
    static let summary = "Cosine annealing to eta_min over T_max steps"
    static let hyperparams: [Hyperparam] = [
        HP.optionalInt("T_max", min: 0, flags: HP.period, doc: "steps of a half cosine; default end - begin"),
    ] + EtaMin.hyperparams
    static func check(_ values: Values, window: MMEngineWindow) throws(PluginError) {
        if !values.isNone(1) && !values.isNone(2) {
            throw .invalid("CosineAnnealing: give either eta_min or eta_min_ratio, not both")
        }
    }
    let tMax: Int, etaMin: EtaMin
    init(values: Values, window: MMEngineWindow, groups: Int, paramName: String?) throws(PluginError) {
        try Self.check(values, window: window)
        let t = values.optionalInt(0) ?? 0
        tMax = t != 0 ? t : window.end - window.begin
        etaMin = EtaMin(fixed: values.optionalDouble(1), ratio: values.optionalDouble(2))
    }
    func values(lastStep: Int, _ tick: Tick) -> [Double] {
        let T = Double(tMax)
        return (0..<tick.groupCount).map { i in
            let v = tick.value(i), m = etaMin.value(base: tick.base(i))
            if lastStep == 0 { return v }
            if (lastStep - 1 - tMax) % (2 * tMax) == 0 {
                return v + (tick.base(i) - m) * (1 - cos(Double.pi / T)) / 2
            }
            return (1 + cos(Double.pi * Double(lastStep) / T)) / (1 + cos(Double.pi * Double(lastStep - 1) / T))
                * (v - m) + m
        }
    }
}

/// Cosine annealing restarted at the end of each period, the restart peak weighted.
struct CosineRestartRule: MMEngineRule {
    static let family = "CosineRestart"
    static let summary = "Cosine annealing with restarts after each of the periods"
    static let hyperparams: [Hyperparam] = [
        HP.ints("periods", nil, min: 1, flags: HP.period, doc: "length of each cosine cycle, in steps"),
        .floats("restart_weights", [1], doc: "peak of each cycle, as a ratio of the base value"),
    ] + EtaMin.hyperparams
    static func check(_ values: Values, window: MMEngineWindow) throws(PluginError) {
        if values.isNone(2) == values.isNone(3) {
            throw .invalid("CosineRestart: give exactly one of eta_min and eta_min_ratio")
        }
        let periods = values.ints(0), weights = values.doubles(1)
        guard periods.count == weights.count else {
            throw .invalid("CosineRestart: periods and restart_weights should have the same length "
                           + "(got \(periods.count) and \(weights.count))")
        }
    }
    let periods: [Int], weights: [Double], cumulative: [Int], etaMin: EtaMin
    init(values: Values, window: MMEngineWindow, groups: Int, paramName: String?) throws(PluginError) {
        try Self.check(values, window: window)
        periods = values.ints(0); weights = values.doubles(1)
        var sum = 0
        cumulative = periods.map { sum += $0; return sum }
        etaMin = EtaMin(fixed: values.optionalDouble(2), ratio: values.optionalDouble(3))
    }
    func values(lastStep: Int, _ tick: Tick) -> [Double] {
        guard let idx = cumulative.firstIndex(where: { lastStep < $0 }) else {
            return (0..<tick.groupCount).map(tick.value)
        }
        let restart = idx == 0 ? 0 : cumulative[idx - 1]
        let period = Double(periods[idx]), step = lastStep - restart
        return (0..<tick.groupCount).map { i in
            let base = tick.base(i), m = etaMin.value(base: base)
            if step == 0 { return base * weights[idx] }
            return (1 + cos(Double.pi * Double(step) / period)) / (1 + cos(Double.pi * Double(step - 1) / period))
                * (tick.value(i) - m) + m
        }
    }
}
