import Foundation
import StepwiseABI
import StepwiseKit

// MindSpore's learning-rate schedules (mindspore.nn, dynamic_lr.py and
// learning_rate_schedule.py): pure functions of the global step. The dynamic-LR functions
// (snake_case) yield a list of `total_step` doubles, constant within an epoch of
// `step_per_epoch` steps; the LearningRateSchedule classes (CamelCase) compute in float32.
// In a Stepwise loop the value of global step k is set before iteration k.
//
//     param_scheduler = dict(type='cosine_decay_lr', min_lr=0.0, max_lr=0.1,
//                            total_step=6000, step_per_epoch=600, decay_epoch=10)

protocol MindSporeFormula {
    static var name: String { get }
    static var summary: String { get }
    static var hyperparams: [Hyperparam] { get }
    static func check(_ values: Values) throws(PluginError)
    init(values: Values)
    /// How many steps the schedule defines (the function's list length), or nil.
    var count: Int? { get }
    func value(at step: Int) -> Double
}

extension MindSporeFormula {
    static func check(_ values: Values) throws(PluginError) {}
}

final class MindSporeSchedule<F: MindSporeFormula>: SchedulerAlgorithm {
    static var typeName: String { F.name }
    static var summary: String { F.summary + " (MindSpore)" }
    static var reference: String {
        F.name.first?.isUppercase == true
            ? "mindspore 2.x, mindspore/nn/learning_rate_schedule.py: \(F.name)"
            : "mindspore 2.x, mindspore/nn/dynamic_lr.py: \(F.name)"
    }
    static var target: stepwise_schedule_target { STEPWISE_TARGET_LR }
    static var dialect: stepwise_schedule_dialect { STEPWISE_DIALECT_MINDSPORE }
    static var hyperparams: [Hyperparam] { F.hyperparams }
    static func check(_ values: Values) throws(PluginError) { try F.check(values) }

    let formula: F

    init(host: Host, values: Values, setup: ScheduleSetup) throws(PluginError) {
        try F.check(values)
        formula = F(values: values)
    }

    func tick(_ tick: Tick) throws(PluginError) {
        guard tick.event == STEPWISE_TICK_START || tick.event == STEPWISE_TICK_BEFORE_ITER else { return }
        let step = tick.iter
        if let count = formula.count, step >= count {
            throw .invalid("\(F.name) yields \(count) learning rates, but the loop reached step \(step + 1); "
                           + "make it cover every step (total_step or the last milestone)")
        }
        let v = formula.value(at: step)
        try tick.setAll(Array(repeating: v, count: tick.groupCount), owner: F.name)
    }

    func saveState(_ writer: StateWriter) throws(PluginError) {
        try StateCodec.save(writer, tag: F.name, ints: [], doubles: [])
    }

    func loadState(_ reader: StateReader) throws(PluginError) {
        _ = try StateCodec.load(reader, tag: F.name, ints: 0, doubles: 0)
    }
}

// MARK: - dynamic_lr functions (doubles, Python `math`)

private enum MS {
    static func positiveInt(_ name: String, doc: String) -> Hyperparam { HP.requiredInt(name, min: 1, doc: doc) }
    static func positiveFloat(_ name: String, doc: String) -> Hyperparam {
        HP.requiredFloat(name, min: 0, minExclusive: true, doc: doc)
    }
    static func nonNegativeFloat(_ name: String, doc: String) -> Hyperparam { HP.requiredFloat(name, min: 0, doc: doc) }
    static let stepKeys: [Hyperparam] = [
        positiveInt("total_step", doc: "number of steps, the list's length"),
        positiveInt("step_per_epoch", doc: "steps per epoch; the value changes once per epoch"),
    ]
    /// The decay functions' common schema: learning_rate, decay_rate, total_step,
    /// step_per_epoch, decay_epoch, is_stair.
    static let decay: [Hyperparam] = [
        positiveFloat("learning_rate", doc: "initial learning rate"),
        positiveFloat("decay_rate", doc: "decay rate"),
    ] + stepKeys + [
        positiveInt("decay_epoch", doc: "epochs over which the rate applies once"),
        .bool("is_stair", false, doc: "decay once every decay_epoch epochs instead of continuously"),
    ]
}

/// The shared reading of the decay functions' arguments.
struct MSDecayArgs {
    let lr: Double, rate: Double, total: Int, perEpoch: Int, decayEpoch: Int, stair: Bool
    init(_ v: Values) {
        lr = v.double(0); rate = v.double(1); total = v.int(2); perEpoch = v.int(3); decayEpoch = v.int(4)
        stair = v.bool(5)
    }
    func epoch(_ i: Int) -> Int { i / perEpoch }
}

/// `lr * rate^(epoch / decay_epoch)` (floored with is_stair).
struct MSExponentialDecayLR: MindSporeFormula {
    static let name = "exponential_decay_lr"
    static let summary = "Exponential decay per epoch, as a list"
    static let hyperparams = MS.decay
    let a: MSDecayArgs
    init(values: Values) { a = MSDecayArgs(values) }
    var count: Int? { a.total }
    func value(at i: Int) -> Double {
        let e = a.epoch(i)
        let p = a.stair ? Double(e / a.decayEpoch) : Double(e) / Double(a.decayEpoch)
        return a.lr * Py.pow(a.rate, p)
    }
}

/// `lr * e^(-rate * epoch)` (epoch floored to a multiple of decay_epoch with is_stair).
struct MSNaturalExpDecayLR: MindSporeFormula {
    static let name = "natural_exp_decay_lr"
    static let summary = "Natural exponential decay per epoch, as a list"
    static let hyperparams = MS.decay
    let a: MSDecayArgs
    init(values: Values) { a = MSDecayArgs(values) }
    var count: Int? { a.total }
    func value(at i: Int) -> Double {
        let e = a.epoch(i)
        let p = a.stair ? (e / a.decayEpoch) * a.decayEpoch : e
        return a.lr * Py.pow(M_E, -a.rate * Double(p))
    }
}

/// `lr / (1 + rate * epoch / decay_epoch)` (floored with is_stair).
struct MSInverseDecayLR: MindSporeFormula {
    static let name = "inverse_decay_lr"
    static let summary = "Inverse-time decay per epoch, as a list"
    static let hyperparams = MS.decay
    let a: MSDecayArgs
    init(values: Values) { a = MSDecayArgs(values) }
    var count: Int? { a.total }
    func value(at i: Int) -> Double {
        let e = a.epoch(i)
        if a.stair { return a.lr / (1 + a.rate * Double(e / a.decayEpoch)) }
        return a.lr / (1 + a.rate * Double(e) / Double(a.decayEpoch))
    }
}

/// `min + (max - min) / 2 * (1 + cos(pi * min(epoch, decay_epoch) / decay_epoch))`.
struct MSCosineDecayLR: MindSporeFormula {
    static let name = "cosine_decay_lr"
    static let summary = "Cosine decay per epoch from max_lr to min_lr, as a list"
    static let hyperparams: [Hyperparam] = [
        MS.nonNegativeFloat("min_lr", doc: "lowest learning rate"),
        MS.positiveFloat("max_lr", doc: "highest learning rate"),
    ] + MS.stepKeys + [MS.positiveInt("decay_epoch", doc: "epochs of the decay")]
    static func check(_ values: Values) throws(PluginError) {
        guard values.double(0) < values.double(1) else {
            throw .invalid("cosine_decay_lr: max_lr should be greater than min_lr, but got max_lr \(values.double(1)), "
                           + "min_lr \(values.double(0))")
        }
    }
    let minLR: Double, delta: Double, total: Int, perEpoch: Int, decayEpoch: Int
    init(values: Values) {
        minLR = values.double(0); delta = 0.5 * (values.double(1) - minLR)
        total = values.int(2); perEpoch = values.int(3); decayEpoch = values.int(4)
    }
    var count: Int? { total }
    func value(at i: Int) -> Double {
        let e = min(i / perEpoch, decayEpoch)
        return minLR + delta * (1 + cos(Double.pi * Double(e) / Double(decayEpoch)))
    }
}

/// `(lr - end) (1 - t / d)^power + end`, t = min(epoch, decay_epoch); with
/// update_decay_epoch, t = epoch and d grows to the next multiple of decay_epoch.
struct MSPolynomialDecayLR: MindSporeFormula {
    static let name = "polynomial_decay_lr"
    static let summary = "Polynomial decay per epoch to end_learning_rate, as a list"
    static let hyperparams: [Hyperparam] = [
        MS.positiveFloat("learning_rate", doc: "initial learning rate"),
        MS.nonNegativeFloat("end_learning_rate", doc: "final learning rate"),
    ] + MS.stepKeys + [
        MS.positiveInt("decay_epoch", doc: "epochs of the decay"),
        MS.positiveFloat("power", doc: "power of the polynomial"),
        .bool("update_decay_epoch", false, doc: "restart the decay every decay_epoch epochs"),
    ]
    let delta: Double, end: Double, total: Int, perEpoch: Int, decayEpoch: Int, power: Double, update: Bool
    init(values: Values) {
        end = values.double(1); delta = values.double(0) - end
        total = values.int(2); perEpoch = values.int(3); decayEpoch = values.int(4); power = values.double(5)
        update = values.bool(6)
    }
    var count: Int? { total }
    func value(at i: Int) -> Double {
        let e = i / perEpoch
        var d = decayEpoch, t = min(decayEpoch, e)
        if update {
            d = decayEpoch * max(Int((Double(e) / Double(decayEpoch)).rounded(.up)), 1)
            t = e
        }
        return delta * Py.pow(1 - Double(t) / Double(d), power) + end
    }
}

/// `lr * min(epoch, warmup_epoch) / warmup_epoch`.
struct MSWarmupLR: MindSporeFormula {
    static let name = "warmup_lr"
    static let summary = "Linear warmup per epoch, as a list"
    static let hyperparams: [Hyperparam] = [
        MS.nonNegativeFloat("learning_rate", doc: "learning rate reached after the warmup"),
    ] + MS.stepKeys + [MS.positiveInt("warmup_epoch", doc: "epochs of the warmup")]
    let lr: Double, total: Int, perEpoch: Int, warmup: Int
    init(values: Values) { lr = values.double(0); total = values.int(1); perEpoch = values.int(2); warmup = values.int(3) }
    var count: Int? { total }
    func value(at i: Int) -> Double { lr * Double(min(warmup, i / perEpoch)) / Double(warmup) }
}

/// `learning_rates[t]` for steps in `[milestone[t-1], milestone[t])`.
struct MSPiecewiseConstantLR: MindSporeFormula {
    static let name = "piecewise_constant_lr"
    static let summary = "Constant learning rate per milestone interval, as a list"
    static let hyperparams: [Hyperparam] = [
        HP.ints("milestone", nil, min: 1, doc: "increasing step boundaries; the last is the list's length"),
        Hyperparam("learning_rates", STEPWISE_TYPE_FLOAT_VECTOR, default: .none, flags: HP.required,
                   doc: "the learning rate of each interval"),
    ]
    static func check(_ values: Values) throws(PluginError) {
        let m = values.ints(0), lrs = values.doubles(1)
        guard m.count == lrs.count, !m.isEmpty else {
            throw .invalid("piecewise_constant_lr: the size of milestone must be the same as the size of "
                           + "learning_rates, but got \(m.count) and \(lrs.count)")
        }
        for i in 1..<max(1, m.count) where m[i] < m[i - 1] {
            throw .invalid("piecewise_constant_lr: milestone[\(i)] must be greater than milestone[\(i - 1)], "
                           + "but got \(m[i]) and \(m[i - 1])")
        }
    }
    let milestones: [Int], rates: [Double]
    init(values: Values) { milestones = values.ints(0); rates = values.doubles(1) }
    var count: Int? { milestones.last ?? 0 }
    func value(at i: Int) -> Double { rates[milestones.firstIndex { i < $0 } ?? rates.count - 1] }
}
