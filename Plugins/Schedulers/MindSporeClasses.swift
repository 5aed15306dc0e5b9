import Foundation
import StepwiseABI
import StepwiseKit

// MindSpore's LearningRateSchedule cells. They compute in float32: the step is cast to
// float32 and every Python float argument acts as a float32 scalar, so these formulas are
// written in Float and their results widened.

private enum MSC {
    static let decay: [Hyperparam] = [
        HP.requiredFloat("learning_rate", min: 0, minExclusive: true, doc: "initial learning rate"),
        HP.requiredFloat("decay_rate", min: 0, minExclusive: true, doc: "decay rate"),
        HP.requiredInt("decay_steps", min: 1, doc: "steps over which the rate applies once"),
        .bool("is_stair", false, doc: "decay once every decay_steps steps instead of continuously"),
    ]
}

struct MSDecayClassArgs {
    let lr: Float, rate: Float, steps: Int, stair: Bool
    init(_ v: Values) { lr = v.float(0); rate = v.float(1); steps = v.int(2); stair = v.bool(3) }
}

/// `lr * rate^(step / decay_steps)` (floored with is_stair).
struct MSExponentialDecayClass: MindSporeFormula {
    static let name = "ExponentialDecayLR"
    static let summary = "Exponential decay of the lr per step"
    static let hyperparams = MSC.decay
    let a: MSDecayClassArgs
    init(values: Values) { a = MSDecayClassArgs(values) }
    var count: Int? { nil }
    func value(at step: Int) -> Double {
        var p = Float(step) / Float(a.steps)
        if a.stair { p = p.rounded(.down) }
        return Double(a.lr * powf(a.rate, p))
    }
}

/// `lr * e^(-rate * step)` (step floored to a multiple of decay_steps with is_stair).
struct MSNaturalExpDecayClass: MindSporeFormula {
    static let name = "NaturalExpDecayLR"
    static let summary = "Natural exponential decay of the lr per step"
    static let hyperparams = MSC.decay
    let a: MSDecayClassArgs
    init(values: Values) { a = MSDecayClassArgs(values) }
    var count: Int? { nil }
    func value(at step: Int) -> Double {
        var p = Float(step)
        if a.stair { p = (p / Float(a.steps)).rounded(.down) * Float(a.steps) }
        return Double(a.lr * powf(Float(M_E), -a.rate * p))
    }
}

/// `lr / (1 + rate * step / decay_steps)` (floored with is_stair).
struct MSInverseDecayClass: MindSporeFormula {
    static let name = "InverseDecayLR"
    static let summary = "Inverse-time decay of the lr per step"
    static let hyperparams = MSC.decay
    let a: MSDecayClassArgs
    init(values: Values) { a = MSDecayClassArgs(values) }
    var count: Int? { nil }
    func value(at step: Int) -> Double {
        var p = Float(step) / Float(a.steps)
        if a.stair { p = p.rounded(.down) }
        return Double(a.lr / (1 + a.rate * p))
    }
}

/// `min + (max - min) / 2 * (1 + cos(pi * min(step, decay_steps) / decay_steps))`.
struct MSCosineDecayClass: MindSporeFormula {
    static let name = "CosineDecayLR"
    static let summary = "Cosine decay of the lr from max_lr to min_lr over decay_steps"
    static let hyperparams: [Hyperparam] = [
        HP.requiredFloat("min_lr", min: 0, doc: "lowest learning rate"),
        HP.requiredFloat("max_lr", min: 0, minExclusive: true, doc: "highest learning rate"),
        HP.requiredInt("decay_steps", min: 1, doc: "steps of the decay"),
    ]
    static func check(_ values: Values) throws(PluginError) {
        guard values.double(0) < values.double(1) else {
            throw .invalid("CosineDecayLR: max_lr must be greater than min_lr, but got max_lr \(values.double(1)), "
                           + "min_lr \(values.double(0))")
        }
    }
    let minLR: Float, delta: Float, steps: Int
    init(values: Values) {
        minLR = values.float(0); delta = Float(0.5 * (values.double(1) - values.double(0))); steps = values.int(2)
    }
    var count: Int? { nil }
    func value(at step: Int) -> Double {
        let p = Float(min(step, steps))
        return Double(minLR + delta * (1.0 + cosf(Float.pi * p / Float(steps))))
    }
}

/// `(lr - end) (1 - t / d)^power + end` with t = min(step, decay_steps); with
/// update_decay_steps, t = step and d grows to the next multiple of decay_steps.
struct MSPolynomialDecayClass: MindSporeFormula {
    static let name = "PolynomialDecayLR"
    static let summary = "Polynomial decay of the lr to end_learning_rate over decay_steps"
    static let hyperparams: [Hyperparam] = [
        HP.requiredFloat("learning_rate", min: 0, minExclusive: true, doc: "initial learning rate"),
        HP.requiredFloat("end_learning_rate", min: 0, doc: "final learning rate"),
        HP.requiredInt("decay_steps", min: 1, doc: "steps of the decay"),
        HP.requiredFloat("power", min: 0, minExclusive: true, doc: "power of the polynomial"),
        .bool("update_decay_steps", false, doc: "restart the decay every decay_steps steps"),
    ]
    let diff: Float, end: Float, steps: Int, power: Float, update: Bool
    init(values: Values) {
        diff = Float(values.double(0) - values.double(1)); end = values.float(1)
        steps = values.int(2); power = values.float(3); update = values.bool(4)
    }
    var count: Int? { nil }
    func value(at step: Int) -> Double {
        var t = Float(step), d = Float(steps)
        if update { d = Float(steps) * max((t / Float(steps)).rounded(.up), 1) } else { t = min(t, d) }
        return Double(diff * powf(1.0 - t / d, power) + end)
    }
}

/// `lr * min(step, warmup_steps) / warmup_steps`.
struct MSWarmUpClass: MindSporeFormula {
    static let name = "WarmUpLR"
    static let summary = "Linear warmup of the lr over warmup_steps"
    static let hyperparams: [Hyperparam] = [
        HP.requiredFloat("learning_rate", min: 0, doc: "learning rate reached after the warmup"),
        HP.requiredInt("warmup_steps", min: 1, doc: "steps of the warmup"),
    ]
    let lr: Float, steps: Int
    init(values: Values) { lr = values.float(0); steps = values.int(1) }
    var count: Int? { nil }
    func value(at step: Int) -> Double { Double(lr * (Float(min(step, steps)) / Float(steps))) }
}
