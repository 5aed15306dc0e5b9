import Foundation
import StepwiseABI
import StepwiseKit

// torch's two schedulers that also cycle the momentum, inversely to the lr
// (`cycle_momentum`, SGD's momentum or Adam's betas[0]); the host lends them the momentum
// values through the tick (STEPWISE_SCHED_ALSO_MOMENTUM).

// The host refuses `cycle_momentum` on an optimizer without momentum (torch's ValueError);
// a tick without momentum values therefore means there is nothing to cycle.

/// CLR (Smith, arXiv:1506.01186): triangular cycles between base_lr and max_lr of
/// `step_size_up + step_size_down` steps, amplitude scaled per mode.
struct TorchCyclicLR: TorchRule {
    static let name = "CyclicLR"
    static let summary = "Cyclical lr between base_lr and max_lr (triangular, triangular2, exp_range)"
    static var flags: UInt32 { UInt32(STEPWISE_SCHED_ALSO_MOMENTUM) }
    static let hyperparams: [Hyperparam] = [
        HP.perGroup("base_lr", nil, doc: "lower lr boundary, or one per param group"),
        HP.perGroup("max_lr", nil, doc: "upper lr boundary, or one per param group"),
        .int("step_size_up", 2000, min: 1, doc: "steps in the increasing half of a cycle"),
        HP.optionalInt("step_size_down", min: 1, doc: "steps in the decreasing half; default step_size_up"),
        HP.choice("mode", "triangular", ["triangular", "triangular2", "exp_range"], doc: "amplitude scaling policy"),
        .float("gamma", 1.0, doc: "exp_range's factor: amplitude * gamma^(step)"),
        Hyperparam("scale_mode", STEPWISE_TYPE_STRING, default: .string("cycle"), flags: UInt32(STEPWISE_HP_NO_EFFECT),
                   choices: ["cycle", "iterations"],
                   doc: "no effect: torch derives it from mode unless scale_fn is given, which a config cannot"),
        .bool("cycle_momentum", true, doc: "cycle the momentum inversely, between base and max momentum"),
        HP.perGroup("base_momentum", 0.8, doc: "lower momentum boundary, or one per param group"),
        HP.perGroup("max_momentum", 0.9, doc: "upper momentum boundary, or one per param group"),
    ]

    let baseLRs: [Double], maxLRs: [Double], baseMomenta: [Double], maxMomenta: [Double]
    let totalSize: Double, stepRatio: Double
    let mode: String, gamma: Double, cycleMomentum: Bool

    init(values: Values, setup: ScheduleSetup) throws(PluginError) {
        let g = setup.groupCount
        baseLRs = try values.perGroup(0, groups: g, name: "base_lr", owner: Self.name)
        maxLRs = try values.perGroup(1, groups: g, name: "max_lr", owner: Self.name)
        let up = Double(values.int(2))
        let down = values.optionalInt(3).map(Double.init) ?? up
        totalSize = up + down
        stepRatio = up / totalSize
        mode = values.string(4)
        gamma = values.double(5)
        cycleMomentum = values.bool(7)
        baseMomenta = try values.perGroup(8, groups: g, name: "base_momentum", owner: Self.name)
        maxMomenta = try values.perGroup(9, groups: g, name: "max_momentum", owner: Self.name)
    }

    func construct(_ tick: Tick, fresh: Bool) throws(PluginError) {
        if fresh { try tick.setAll(baseLRs, owner: Self.name) }
        guard cycleMomentum, let momentum = tick.momentumValues, fresh else { return }
        for i in 0..<tick.groupCount { momentum[i] = maxMomenta[i] }
    }

    private func scale(cycle: Double, step: Int) -> Double {
        switch mode {
        case "triangular2": 1 / Py.pow(2.0, cycle - 1)
        case "exp_range": Py.pow(gamma, Double(step))
        default: 1.0
        }
    }

    func lr(_ c: TorchCounters, _ tick: Tick) throws(PluginError) -> [Double] {
        let t = Double(c.lastEpoch)
        let cycle = (1 + t / totalSize).rounded(.down)
        let x = 1.0 + t / totalSize - cycle
        let factor = x <= stepRatio ? x / stepRatio : (x - 1) / (stepRatio - 1)
        let s = scale(cycle: cycle, step: c.lastEpoch)
        let lrs = zip(baseLRs, maxLRs).map { base, top in base + (top - base) * factor * s }
        if cycleMomentum, let momentum = tick.momentumValues {
            for i in 0..<tick.groupCount {
                momentum[i] = maxMomenta[i] - (maxMomenta[i] - baseMomenta[i]) * factor * s
            }
        }
        return lrs
    }
}

/// torch's OneCycleLR: the lr follows the 1cycle anchors, the momentum the opposite way
/// between max_momentum and base_momentum.
struct TorchOneCycleLR: TorchRule {
    static let name = "OneCycleLR"
    static let summary = "The 1cycle policy for the lr, momentum cycled inversely"
    static var flags: UInt32 { UInt32(STEPWISE_SCHED_ALSO_MOMENTUM) }
    static let hyperparams: [Hyperparam] = [
        HP.perGroup("max_lr", nil, doc: "peak lr, or one per param group"),
        HP.optionalInt("total_steps", min: 1, doc: "steps in the cycle; or give epochs and steps_per_epoch"),
        HP.optionalInt("epochs", min: 1, doc: "with steps_per_epoch, gives total_steps"),
        HP.optionalInt("steps_per_epoch", min: 1, doc: "with epochs, gives total_steps"),
        .float("pct_start", 0.3, min: 0, max: 1, doc: "fraction of the cycle spent increasing the lr"),
        HP.choice("anneal_strategy", "cos", OneCycleShape.annealChoices, doc: "cos or linear annealing"),
        .bool("cycle_momentum", true, doc: "cycle the momentum inversely, between max and base momentum"),
        HP.perGroup("base_momentum", 0.85, doc: "lower momentum boundary, or one per param group"),
        HP.perGroup("max_momentum", 0.95, doc: "upper momentum boundary, or one per param group"),
        .float("div_factor", 25, doc: "initial lr = max_lr / div_factor"),
        .float("final_div_factor", 1e4, doc: "minimum lr = initial lr / final_div_factor"),
        .bool("three_phase", false, doc: "return to the initial lr before annihilating (paper's schedule)"),
    ]

    static func check(_ values: Values) throws(PluginError) {
        if values.isNone(1) && (values.isNone(2) || values.isNone(3)) {
            throw .invalid("OneCycleLR: you must define either total_steps OR (epochs AND steps_per_epoch)")
        }
    }

    let shape: OneCycleShape, anchors: OneCycleAnchors
    let cycleMomentum: Bool, baseMomenta: [Double], maxMomenta: [Double]

    init(values: Values, setup: ScheduleSetup) throws(PluginError) {
        try Self.check(values)
        let g = setup.groupCount
        let product = values.int(2).multipliedReportingOverflow(by: values.int(3))
        guard values.optionalInt(1) != nil || !product.overflow else {
            throw .invalid("OneCycleLR: epochs * steps_per_epoch does not fit in 64 bits")
        }
        let total = values.optionalInt(1) ?? product.partialValue
        shape = OneCycleShape(total: total, pctStart: values.double(4), threePhase: values.bool(11),
                              anneal: AnnealStrategy(rawValue: values.string(5)) ?? .cos)
        anchors = OneCycleAnchors(maxValues: try values.perGroup(0, groups: g, name: "max_lr", owner: Self.name),
                                  divFactor: values.double(9), finalDivFactor: values.double(10))
        cycleMomentum = values.bool(6)
        baseMomenta = try values.perGroup(7, groups: g, name: "base_momentum", owner: Self.name)
        maxMomenta = try values.perGroup(8, groups: g, name: "max_momentum", owner: Self.name)
    }

    func construct(_ tick: Tick, fresh: Bool) throws(PluginError) {
        guard cycleMomentum, let momentum = tick.momentumValues, fresh else { return }
        for i in 0..<tick.groupCount { momentum[i] = maxMomenta[i] }
    }

    func lr(_ c: TorchCounters, _ tick: Tick) throws(PluginError) -> [Double] {
        guard c.lastEpoch <= shape.total else {
            throw .invalid("OneCycleLR: tried to step \(c.lastEpoch) times; the specified number of total steps is "
                           + "\(shape.total)")
        }
        let (phase, pct) = shape.locate(c.lastEpoch)
        let lrs = (0..<tick.groupCount).map { g in
            shape.anneal(anchors.value(phase.startLR, g), anchors.value(phase.endLR, g), pct)
        }
        if cycleMomentum, let momentum = tick.momentumValues {
            for g in 0..<tick.groupCount {
                let start = phase.startMomentumMax ? maxMomenta[g] : baseMomenta[g]
                let end = phase.endMomentumMax ? maxMomenta[g] : baseMomenta[g]
                momentum[g] = shape.anneal(start, end, pct)
            }
        }
        return lrs
    }
}
