import StepwiseABI
import StepwiseKit

// Reduce-on-plateau: scale the value by `factor` once a monitored metric has not improved
// for more than `patience` validations (torch's ReduceLROnPlateau; MMEngine's
// ReduceOnPlateauParamScheduler, which adds a begin/end window and a named monitor).

/// The improvement test and its counters, identical in torch and MMEngine.
struct PlateauTracker {
    var minimize: Bool
    var threshold: Double
    var relative: Bool
    var patience: Int
    var cooldown: Int
    var best: Double
    var badEpochs = 0
    var cooldownCounter = 0

    init(minimize: Bool, threshold: Double, relative: Bool, patience: Int, cooldown: Int, worst: Double) {
        self.minimize = minimize; self.threshold = threshold; self.relative = relative
        self.patience = patience; self.cooldown = cooldown; best = worst
    }

    func isBetter(_ a: Double) -> Bool {
        switch (minimize, relative) {
        case (true, true): a < best * (1 - threshold)
        case (true, false): a < best - threshold
        case (false, true): a > best * (threshold + 1)
        case (false, false): a > best + threshold
        }
    }

    /// Records one metric; true when the value must be reduced now.
    mutating func observe(_ metric: Double) -> Bool {
        if isBetter(metric) {
            best = metric
            badEpochs = 0
        } else {
            badEpochs += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            badEpochs = 0
        }
        guard badEpochs > patience else { return false }
        cooldownCounter = cooldown
        badEpochs = 0
        return true
    }

    /// `max(v * factor, min)` per group, applied only where it lowers the value by more
    /// than `eps`.
    static func reduce(_ tick: Tick, factor: Double, minimums: [Double], eps: Double) {
        for i in 0..<tick.groupCount {
            let old = tick.value(i)
            let new = max(old * factor, minimums[min(i, minimums.count - 1)])
            if old - new > eps { tick.set(i, new) }
        }
    }

    var counters: [Int] { [badEpochs, cooldownCounter] }
    mutating func restore(_ ints: ArraySlice<Int>, best: Double) {
        badEpochs = ints[ints.startIndex]; cooldownCounter = ints[ints.startIndex + 1]; self.best = best
    }

    static let common: [Hyperparam] = [
        .float("factor", 0.1, max: 1, maxExclusive: true, doc: "new value = value * factor"),
        .int("patience", 10, min: 0, doc: "validations without improvement tolerated before reducing"),
        .float("threshold", 1e-4, min: 0, doc: "minimum change that counts as an improvement"),
    ]
}

extension Tick {
    var metricNames: [String] {
        (0..<Int(raw.pointee.metric_count)).compactMap { i in
            raw.pointee.metrics[i].map { String(cString: $0.pointee.name) }
        }
    }
}

/// Reads a per-group minimum list: one value for all groups, one per group, or (for the
/// MMEngine wrapper's extra group) one per real group, the last repeated.
func plateauMinimums(_ values: Values, _ i: Int, groups: Int, name: String, owner: String) throws(PluginError) -> [Double] {
    let list = values.doubles(i)
    if list.count == 1 { return Array(repeating: list[0], count: groups) }
    if list.count == groups { return list }
    if groups > 1 && list.count == groups - 1, let last = list.last { return list + [last] }
    throw .invalid("\(owner): expected \(groups > 1 ? groups - 1 : groups) values for \(name), got \(list.count)")
}

/// MMEngine's ReduceOnPlateau{LR,Momentum,ParamScheduler}. Epoch-based only; the epoch
/// end counts a step, the validation end acts when `begin <= step < end`.
final class MMEngineReduceOnPlateau<Target: MMEngineTarget>: SchedulerAlgorithm {
    static var typeName: String { "ReduceOnPlateau" + Target.suffix }
    static var summary: String { "Reduce \(Target.noun) when a validation metric stops improving (MMEngine)" }
    static var reference: String { "mmengine 0.10.7, param_scheduler.py: ReduceOnPlateauParamScheduler" }
    static var target: stepwise_schedule_target { Target.target }
    static var dialect: stepwise_schedule_dialect { STEPWISE_DIALECT_MMENGINE }
    static var flags: UInt32 { UInt32(STEPWISE_SCHED_NEEDS_METRICS) }
    static var own: [Hyperparam] { [
        .string("monitor", "loss", doc: "name of the validation metric to watch"),
        HP.choice("rule", "less", ["less", "greater"], doc: "whether a smaller or a larger metric is better"),
    ] + PlateauTracker.common + [
        HP.choice("threshold_rule", "rel", ["rel", "abs"], doc: "threshold relative to the best value, or absolute"),
        .int("cooldown", 0, min: 0, doc: "validations to wait after a reduction before counting again"),
        HP.perGroup("min_value", 0, doc: "lower bound, or one per param group"),
        .float("eps", 1e-8, doc: "reductions smaller than this are ignored"),
    ] }
    static var hyperparams: [Hyperparam] { mmengineSchema(own, convertible: false, param: Target.self) }

    static func check(_ values: Values) throws(PluginError) {
        let window = MMEngineWindow(values, offset: own.count)
        try window.check(owner: typeName)
        guard window.byEpoch else { throw .invalid("\(typeName) only supports by_epoch=True") }
    }

    let host: Host
    var window: MMEngineWindow
    let monitor: String, factor: Double, eps: Double, minimums: [Double]
    var tracker: PlateauTracker
    var globalStep = 0

    init(host: Host, values: Values, setup: ScheduleSetup) throws(PluginError) {
        try Self.check(values)
        self.host = host
        window = MMEngineWindow(values, offset: Self.own.count)
        monitor = values.string(0)
        factor = values.double(2)
        eps = values.double(8)
        minimums = try plateauMinimums(values, 7, groups: setup.groupCount, name: "min_value", owner: Self.typeName)
        let minimize = values.string(1) == "less"
        tracker = PlateauTracker(minimize: minimize, threshold: values.double(4), relative: values.string(5) == "rel",
                                 patience: values.int(3), cooldown: values.int(6),
                                 worst: Double(minimize ? mmengineInfinity : -mmengineInfinity))
    }

    func tick(_ tick: Tick) throws(PluginError) {
        switch tick.event {
        case STEPWISE_TICK_AFTER_EPOCH:
            globalStep += 1
        case STEPWISE_TICK_AFTER_VAL where window.begin <= globalStep && globalStep < window.end:
            guard let metric = tick.metric(monitor) else {
                throw .invalid("\(Self.typeName) monitors '\(monitor)', but the validation metrics are "
                               + "\(tick.metricNames); set `monitor` to one of them")
            }
            window.lastStep += 1
            if tracker.observe(metric) { PlateauTracker.reduce(tick, factor: factor, minimums: minimums, eps: eps) }
        default:
            break
        }
    }

    func saveState(_ writer: StateWriter) throws(PluginError) {
        try StateCodec.save(writer, tag: "ReduceOnPlateau", ints: [globalStep, window.lastStep] + tracker.counters,
                            doubles: [tracker.best])
    }

    func loadState(_ reader: StateReader) throws(PluginError) {
        let (ints, doubles) = try StateCodec.load(reader, tag: "ReduceOnPlateau", ints: 4, doubles: 1)
        globalStep = ints[0]; window.lastStep = ints[1]
        tracker.restore(ints[2...], best: doubles[0])
    }
}

/// torch's ReduceLROnPlateau. torch's `step(metrics)` takes one number; Stepwise adds
/// `monitor` to name it (default: the only metric the loop reports).
final class TorchReduceLROnPlateau: SchedulerAlgorithm {
    static let typeName = "torch_ReduceLROnPlateau"
    static let summary = "Reduce the lr when a validation metric stops improving (torch)"
    static let reference = "torch 2.x, torch/optim/lr_scheduler.py: ReduceLROnPlateau"
    static let target = STEPWISE_TARGET_LR
    static let dialect = STEPWISE_DIALECT_TORCH
    static var flags: UInt32 { UInt32(STEPWISE_SCHED_NEEDS_METRICS) }
    static let hyperparams: [Hyperparam] = [
        HP.choice("mode", "min", ["min", "max"], doc: "whether a smaller or a larger metric is better"),
    ] + PlateauTracker.common + [
        HP.choice("threshold_mode", "rel", ["rel", "abs"], doc: "threshold relative to the best value, or absolute"),
        .int("cooldown", 0, min: 0, doc: "epochs to wait after a reduction before counting again"),
        HP.perGroup("min_lr", 0, doc: "lower bound on the lr, or one per param group"),
        .float("eps", 1e-8, doc: "reductions smaller than this are ignored"),
        .string("monitor", nil, doc: "Stepwise: the metric to watch; default the only one reported"),
    ]

    let monitor: String?, factor: Double, eps: Double, minimums: [Double]
    var tracker: PlateauTracker
    var lastEpoch = 0

    init(host: Host, values: Values, setup: ScheduleSetup) throws(PluginError) {
        factor = values.double(1)
        eps = values.double(7)
        monitor = values.optionalString(8)
        let list = values.doubles(6)
        guard list.count == 1 || list.count == setup.groupCount else {
            throw .invalid("ReduceLROnPlateau: expected \(setup.groupCount) min_lrs, got \(list.count)")
        }
        minimums = list.count == 1 ? Array(repeating: list[0], count: setup.groupCount) : list
        let minimize = values.string(0) == "min"
        tracker = PlateauTracker(minimize: minimize, threshold: values.double(3), relative: values.string(4) == "rel",
                                 patience: values.int(2), cooldown: values.int(5),
                                 worst: minimize ? .infinity : -.infinity)
    }

    func tick(_ tick: Tick) throws(PluginError) {
        guard tick.event == STEPWISE_TICK_AFTER_VAL else { return }
        let names = tick.metricNames
        let metric: Double?
        if let monitor {
            metric = tick.metric(monitor)
        } else {
            guard names.count == 1 else {
                throw .invalid("ReduceLROnPlateau takes one metric but the loop reports \(names); set `monitor`")
            }
            metric = tick.metric(names[0])
        }
        guard let metric else {
            throw .invalid("ReduceLROnPlateau monitors '\(monitor ?? "")', but the validation metrics are \(names)")
        }
        lastEpoch += 1
        if tracker.observe(metric) { PlateauTracker.reduce(tick, factor: factor, minimums: minimums, eps: eps) }
    }

    func saveState(_ writer: StateWriter) throws(PluginError) {
        try StateCodec.save(writer, tag: Self.typeName, ints: [lastEpoch] + tracker.counters, doubles: [tracker.best])
    }

    func loadState(_ reader: StateReader) throws(PluginError) {
        let (ints, doubles) = try StateCodec.load(reader, tag: Self.typeName, ints: 3, doubles: 1)
        lastEpoch = ints[0]
        tracker.restore(ints[1...], best: doubles[0])
    }
}
