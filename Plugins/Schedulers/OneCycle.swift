import StepwiseABI
import StepwiseKit

// The 1cycle policy (Smith & Topin, "Super-Convergence", arXiv:1708.07120) as torch's
// OneCycleLR and MMEngine's OneCycleParamScheduler compute it: phases that anneal from
// one anchor value to the next, `initial = max / div_factor`,
// `min = initial / final_div_factor`.

/// Which anchor a phase starts or ends at.
enum OneCycleAnchor {
    case initial, max, min
}

struct OneCyclePhase {
    var endStep: Double
    var startLR: OneCycleAnchor, endLR: OneCycleAnchor
    /// The momentum anchors (torch only): true means max_momentum, false base_momentum.
    var startMomentumMax: Bool, endMomentumMax: Bool
}

struct OneCycleShape {
    let phases: [OneCyclePhase]
    let anneal: AnnealStrategy
    let total: Int

    init(total: Int, pctStart: Double, threePhase: Bool, anneal: AnnealStrategy) {
        self.total = total
        self.anneal = anneal
        let up = Double(pctStart * Double(total)) - 1
        if threePhase {
            phases = [
                OneCyclePhase(endStep: up, startLR: .initial, endLR: .max, startMomentumMax: true, endMomentumMax: false),
                OneCyclePhase(endStep: Double(2 * pctStart * Double(total)) - 2, startLR: .max, endLR: .initial,
                              startMomentumMax: false, endMomentumMax: true),
                OneCyclePhase(endStep: Double(total - 1), startLR: .initial, endLR: .min,
                              startMomentumMax: true, endMomentumMax: true),
            ]
        } else {
            phases = [
                OneCyclePhase(endStep: up, startLR: .initial, endLR: .max, startMomentumMax: true, endMomentumMax: false),
                OneCyclePhase(endStep: Double(total - 1), startLR: .max, endLR: .min,
                              startMomentumMax: false, endMomentumMax: true),
            ]
        }
    }

    /// The phase `step` falls in and how far into it (0 -> 1); the last phase extends
    /// past its end.
    func locate(_ step: Int) -> (phase: OneCyclePhase, pct: Double) {
        var start = 0.0
        for (i, phase) in phases.enumerated() {
            if Double(step) <= phase.endStep || i == phases.count - 1 {
                return (phase, (Double(step) - start) / (phase.endStep - start))
            }
            start = phase.endStep
        }
        return (phases[phases.count - 1], 1)
    }

    func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
        anneal == .cos ? annealCosTorch(start, end, pct) : annealLinearTorch(start, end, pct)
    }

    static let annealChoices = ["cos", "linear"]
}

/// Per-group anchors of the lr.
struct OneCycleAnchors {
    var initial: [Double], max: [Double], min: [Double]
    init(maxValues: [Double], divFactor: Double, finalDivFactor: Double) {
        max = maxValues
        initial = maxValues.map { $0 / divFactor }
        min = initial.map { $0 / finalDivFactor }
    }
    func value(_ a: OneCycleAnchor, _ group: Int) -> Double {
        switch a {
        case .initial: initial[group]
        case .max: max[group]
        case .min: min[group]
        }
    }
}

/// MMEngine's OneCycleParamScheduler (lr only, as in MMEngine): `total_steps` defaults to
/// `end - begin`; `eta_max` lists one value per param group, the wrapper's extra group
/// included.
struct OneCycleRule: MMEngineRule {
    static let family = "OneCycle"
    static let summary = "The 1cycle policy (warm up to eta_max, anneal far below the start)"
    static let hyperparams: [Hyperparam] = [
        HP.perGroup("eta_max", 0, doc: "peak value, or one per param group"),
        HP.optionalInt("total_steps", min: 1, flags: HP.period, doc: "steps in the cycle; default end - begin"),
        .float("pct_start", 0.3, min: 0, max: 1, doc: "fraction of the cycle spent increasing"),
        HP.choice("anneal_strategy", "cos", OneCycleShape.annealChoices, doc: "cos or linear annealing"),
        .float("div_factor", 25, doc: "initial value = eta_max / div_factor"),
        .float("final_div_factor", 1e4, doc: "minimum value = initial value / final_div_factor"),
        .bool("three_phase", false, doc: "return to the initial value before annihilating (paper's schedule)"),
    ]
    static func check(_ values: Values, window: MMEngineWindow) throws(PluginError) {
        if let name = mmengineParamName(values, own: hyperparams.count, convertible: true), name != "lr" {
            throw .invalid("OneCycle only works for learning rate updating, but got param_name as \(name)")
        }
    }
    let shape: OneCycleShape, anchors: OneCycleAnchors
    init(values: Values, window: MMEngineWindow, groups: Int, paramName: String?) throws(PluginError) {
        try Self.check(values, window: window)
        shape = OneCycleShape(total: values.optionalInt(1) ?? (window.end - window.begin), pctStart: values.double(2),
                              threePhase: values.bool(6), anneal: AnnealStrategy(rawValue: values.string(3)) ?? .cos)
        anchors = OneCycleAnchors(maxValues: try values.perGroup(0, groups: groups, name: "eta_max", owner: "OneCycle"),
                                  divFactor: values.double(4), finalDivFactor: values.double(5))
    }
    func values(lastStep: Int, _ tick: Tick) throws(PluginError) -> [Double] {
        guard lastStep <= shape.total else {
            throw .invalid("OneCycle: tried to step \(lastStep + 1) times; the specified number of total steps is "
                           + "\(shape.total)")
        }
        let (phase, pct) = shape.locate(lastStep)
        return (0..<tick.groupCount).map { g in
            shape.anneal(anchors.value(phase.startLR, g), anchors.value(phase.endLR, g), pct)
        }
    }
}
