import StepwiseABI
import StepwiseKit

// MMCV's iteration-based cyclic policies (mmcv 1.7): Cyclic and OneCycle, for the lr and
// for the momentum. Their phases depend on the run's length, known at build time.

private func needsIterations(_ run: MMCVRun, _ owner: String) throws(PluginError) {
    guard run.maxIters > 0 else { throw .invalid("\(owner) needs the loop's length (max_iters) to build its phases") }
}

private func anneal(_ strategy: AnnealStrategy, _ start: Double, _ end: Double, _ f: Double) -> Double {
    strategy == .cos ? annealCosMMCV(start, end, f) : annealLinearMMCV(start, end, f)
}

/// `cyclic_times` cycles over the run, each rising from `b` to `b * target_ratio[0]` for
/// `step_ratio_up` of the cycle, then falling to `b * target_ratio[1]`; each later cycle's
/// amplitude scaled by `gamma^cycle`.
struct MMCVCyclic<Kind: MMCVKind>: MMCVPolicy {
    static var name: String { "Cyclic" }
    static var summary: String { "Cyclic schedule (up then down, cyclic_times per run)" }
    static var momentum: Bool { Kind.momentum }
    static var iterationOnly: Bool { true }
    static var hyperparams: [Hyperparam] {
        [
            .floats("target_ratio", Kind.momentum ? [0.85 / 0.95, 1.0] : [10, 1e-4], flags: HP.scalarOK,
                    doc: "(highest, lowest) value of a cycle as ratios of the base value"),
            .int("cyclic_times", 1, min: 1, doc: "number of cycles in the run"),
            .float("step_ratio_up", 0.4, min: 0, max: 1, maxExclusive: true, doc: "fraction of a cycle spent rising"),
            HP.choice("anneal_strategy", "cos", OneCycleShape.annealChoices, doc: "cos or linear annealing"),
            .float("gamma", 1, min: Kind.momentum ? nil : 0, max: Kind.momentum ? nil : 1, minExclusive: !Kind.momentum,
                   doc: "amplitude decay per cycle"),
        ]
    }
    struct Phase { var start: Int, end: Int, startRatio: Double, endRatio: Double }
    let phases: [Phase], perCycle: Int, gamma: Double, strategy: AnnealStrategy

    init(values: Values, run: MMCVRun, groups: Int) throws(PluginError) {
        try needsIterations(run, Self.name)
        let given = values.doubles(0)
        let ratio: (Double, Double)
        switch given.count {
        case 1: ratio = (given[0], given[0] / 1e5)
        case 2: ratio = (given[0], given[1])
        default: throw .invalid("Cyclic: target_ratio must be a float or a tuple of two floats, got \(given)")
        }
        perCycle = run.maxIters / values.int(1)
        guard perCycle > 0 else {
            throw .invalid("Cyclic: cyclic_times \(values.int(1)) exceeds the run's \(run.maxIters) iterations")
        }
        let up = Int(values.double(2) * Double(perCycle))
        phases = [Phase(start: 0, end: up, startRatio: 1, endRatio: ratio.0),
                  Phase(start: up, end: perCycle, startRatio: ratio.0, endRatio: ratio.1)]
        strategy = AnnealStrategy(rawValue: values.string(3)) ?? .cos
        gamma = values.double(4)
    }

    func value(progress: Int, byEpoch: Bool, run: MMCVRun, base: Double, group: Int) throws(PluginError) -> Double {
        let current = progress % perCycle, cycle = progress / perCycle
        let scale = Py.pow(gamma, Double(cycle))
        for var p in phases where p.start <= current && current < p.end {
            if p.start == 0 { p.endRatio = 1 - scale + p.endRatio * scale }
            else { p.startRatio = 1 - scale + p.startRatio * scale }
            return anneal(strategy, base * p.startRatio, base * p.endRatio,
                          Double(current - p.start) / Double(p.end - p.start))
        }
        throw .invalid("Cyclic: iteration \(progress) falls in no phase of the cycle")
    }
}

/// MMCV's OneCycle for the lr: bases `max_lr / div_factor` of its own; phases over
/// `total_steps` (default max_iters), scaling the base by 1 -> div_factor -> 1/final.
struct MMCVOneCycleLr: MMCVPolicy {
    static let name = "OneCycle"
    static let summary = "The 1cycle policy for the lr"
    static let momentum = false
    static let iterationOnly = true
    static let hyperparams: [Hyperparam] = [
        HP.perGroup("max_lr", nil, doc: "peak lr, or one per param group"),
        HP.optionalInt("total_steps", min: 1, doc: "steps in the cycle; default the run's iterations"),
        .float("pct_start", 0.3, min: 0, max: 1, doc: "fraction of the cycle spent increasing"),
        HP.choice("anneal_strategy", "cos", OneCycleShape.annealChoices, doc: "cos or linear annealing"),
        .float("div_factor", 25, doc: "initial lr = max_lr / div_factor"),
        .float("final_div_factor", 1e4, doc: "minimum lr = initial lr / final_div_factor"),
        .bool("three_phase", false, doc: "return to the initial lr before annihilating"),
    ]
    struct Phase { var end: Double, startRatio: Double, endRatio: Double }
    let phases: [Phase], strategy: AnnealStrategy, ownBases: [Double]?

    init(values: Values, run: MMCVRun, groups: Int) throws(PluginError) {
        try needsIterations(run, Self.name)
        let total = values.optionalInt(1) ?? run.maxIters
        guard total >= run.maxIters else {
            throw .invalid("OneCycle: the total steps must be greater than or equal to max iterations "
                           + "\(run.maxIters) of runner, but total steps is \(total).")
        }
        let pct = values.double(2), div = values.double(4), final = values.double(5), n = Double(total)
        phases = values.bool(6)
            ? [Phase(end: pct * n - 1, startRatio: 1, endRatio: div), Phase(end: 2 * pct * n - 2, startRatio: div, endRatio: 1),
               Phase(end: n - 1, startRatio: 1, endRatio: 1 / final)]
            : [Phase(end: pct * n - 1, startRatio: 1, endRatio: div), Phase(end: n - 1, startRatio: div, endRatio: 1 / final)]
        strategy = AnnealStrategy(rawValue: values.string(3)) ?? .cos
        ownBases = try values.perGroup(0, groups: groups, name: "max_lr", owner: Self.name).map { $0 / div }
    }

    func value(progress: Int, byEpoch: Bool, run: MMCVRun, base: Double, group: Int) throws(PluginError) -> Double {
        var start = 0.0
        for p in phases {
            if Double(progress) <= p.end {
                return anneal(strategy, base * p.startRatio, base * p.endRatio, (Double(progress) - start) / (p.end - start))
            }
            start = p.end
        }
        throw .invalid("OneCycle: iteration \(progress) is past the cycle's last step \(Int(phases[phases.count - 1].end))")
    }
}

/// MMCV's OneCycle for the momentum: starts at max_momentum, falls to base_momentum while
/// the lr rises, and climbs back.
struct MMCVOneCycleMomentum: MMCVPolicy {
    static let name = "OneCycle"
    static let summary = "The 1cycle policy for the momentum"
    static let momentum = true
    static let iterationOnly = true
    static let hyperparams: [Hyperparam] = [
        HP.perGroup("base_momentum", 0.85, doc: "lowest momentum, or one per param group"),
        HP.perGroup("max_momentum", 0.95, doc: "highest momentum, or one per param group"),
        .float("pct_start", 0.3, min: 0, max: 1, doc: "fraction of the run spent decreasing"),
        HP.choice("anneal_strategy", "cos", OneCycleShape.annealChoices, doc: "cos or linear annealing"),
        .bool("three_phase", false, doc: "three phases, as in the paper"),
    ]
    struct Phase { var end: Double, startMax: Bool, endMax: Bool }
    let phases: [Phase], strategy: AnnealStrategy, low: [Double], high: [Double]

    init(values: Values, run: MMCVRun, groups: Int) throws(PluginError) {
        try needsIterations(run, Self.name)
        low = try values.perGroup(0, groups: groups, name: "base_momentum", owner: Self.name)
        high = try values.perGroup(1, groups: groups, name: "max_momentum", owner: Self.name)
        let pct = values.double(2), n = Double(run.maxIters)
        phases = values.bool(4)
            ? [Phase(end: pct * n - 1, startMax: true, endMax: false), Phase(end: 2 * pct * n - 2, startMax: false, endMax: true),
               Phase(end: n - 1, startMax: true, endMax: true)]
            : [Phase(end: pct * n - 1, startMax: true, endMax: false), Phase(end: n - 1, startMax: false, endMax: true)]
        strategy = AnnealStrategy(rawValue: values.string(3)) ?? .cos
    }

    func start(_ tick: Tick) throws(PluginError) { try tick.setAll(high, owner: Self.name) }

    func value(progress: Int, byEpoch: Bool, run: MMCVRun, base: Double, group: Int) -> Double {
        var start = 0.0
        for (i, p) in phases.enumerated() {
            if Double(progress) <= p.end || i == phases.count - 1 {
                let from = p.startMax ? high[group] : low[group], to = p.endMax ? high[group] : low[group]
                return anneal(strategy, from, to, (Double(progress) - start) / (p.end - start))
            }
            start = p.end
        }
        return 0
    }
}
