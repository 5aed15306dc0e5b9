import StepwiseABI
import StepwiseKit

// MMEngine's generic parameter scheduler (mmengine/optim/scheduler/param_scheduler.py,
// v0.10.7): one schedule over any named hyperparameter, active in the window
// `begin <= global_step < end`, stepped after every iteration (`by_epoch: false`) or
// after every epoch. Each family (Step, Cosine, ...) is a rule; every rule is published
// three times, as `<Family>LR`, `<Family>Momentum` and `<Family>ParamScheduler`, the way
// MMEngine's mixins publish it. The host resolves what the target is; the rule computes.
//
//     param_scheduler = [
//         dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
//         dict(type='CosineAnnealingLR', T_max=12, begin=0, end=12, by_epoch=True),
//     ]

/// The schedule of one MMEngine family, in MMEngine's chainable form.
protocol MMEngineRule {
    static var family: String { get }
    static var summary: String { get }
    /// The keys before the common window keys, in value order.
    static var hyperparams: [Hyperparam] { get }
    static func check(_ values: Values, window: MMEngineWindow) throws(PluginError)
    /// `paramName` is the config's `param_name` (`*ParamScheduler` components only).
    init(values: Values, window: MMEngineWindow, groups: Int, paramName: String?) throws(PluginError)
    /// The values of every group at `lastStep` (0 at the first step of the window), from
    /// the current values (chainable form) and the base values.
    func values(lastStep: Int, _ tick: Tick) throws(PluginError) -> [Double]
}

extension MMEngineRule {
    static func check(_ values: Values, window: MMEngineWindow) throws(PluginError) {}
}

/// The keys every MMEngine scheduler shares, read from after the rule's own keys.
struct MMEngineWindow {
    var begin: Int
    var end: Int
    var byEpoch: Bool
    var lastStep: Int
    var verbose: Bool

    static func hyperparams(convertible: Bool) -> [Hyperparam] {
        var list: [Hyperparam] = [
            .int("begin", 0, min: 0, flags: HP.period, doc: "step at which the scheduler starts acting"),
            .int("end", mmengineInfinity, min: 0, flags: HP.period,
                 doc: "step at which it stops (exclusive); defaults to the loop's epochs or iterations"),
            .bool("by_epoch", true, doc: "step after every epoch (true) or after every iteration"),
            .int("last_step", -1, min: -1, doc: "index of the last step, to resume without saved state"),
            .bool("verbose", false, doc: "log every value the scheduler sets"),
        ]
        if convertible {
            list.append(.bool("convert_to_iter_based", false,
                              doc: "build an iteration-based scheduler from this epoch-based config"))
        }
        return list
    }

    init(_ values: Values, offset: Int) {
        begin = values.int(offset)
        end = values.int(offset + 1)
        byEpoch = values.bool(offset + 2)
        lastStep = values.int(offset + 3)
        verbose = values.bool(offset + 4)
    }

    func check(owner: String) throws(PluginError) {
        guard end > begin else {
            throw .invalid("\(owner): end should be larger than begin, but got begin=\(begin), end=\(end)")
        }
    }
}

/// What a published component drives; only its name and schema differ.
protocol MMEngineTarget {
    static var suffix: String { get }
    static var target: stepwise_schedule_target { get }
    static var noun: String { get }
}

enum LRTarget: MMEngineTarget {
    static let suffix = "LR"
    static let target = STEPWISE_TARGET_LR
    static let noun = "the learning rate"
}

enum MomentumTarget: MMEngineTarget {
    static let suffix = "Momentum"
    static let target = STEPWISE_TARGET_MOMENTUM
    static let noun = "the momentum (SGD's momentum, Adam's betas[0])"
}

enum ParamTarget: MMEngineTarget {
    static let suffix = "ParamScheduler"
    static let target = STEPWISE_TARGET_PARAM_NAME
    static let noun = "the hyperparameter named by param_name"
}

final class MMEngineScheduler<Rule: MMEngineRule, Target: MMEngineTarget>: SchedulerAlgorithm {
    static var typeName: String { Rule.family + Target.suffix }
    static var summary: String { "\(Rule.summary) of \(Target.noun) (MMEngine)" }
    static var reference: String {
        "mmengine 0.10.7, mmengine/optim/scheduler/param_scheduler.py: \(Rule.family)ParamScheduler"
    }
    static var target: stepwise_schedule_target { Target.target }
    static var dialect: stepwise_schedule_dialect { STEPWISE_DIALECT_MMENGINE }
    static var hyperparams: [Hyperparam] { mmengineSchema(Rule.hyperparams, convertible: true, param: Target.self) }

    static func check(_ values: Values) throws(PluginError) {
        let window = MMEngineWindow(values, offset: Rule.hyperparams.count)
        try window.check(owner: Rule.family)
        try Rule.check(values, window: window)
    }

    let host: Host
    let rule: Rule
    var window: MMEngineWindow
    var globalStep = -1

    init(host: Host, values: Values, setup: ScheduleSetup) throws(PluginError) {
        self.host = host
        window = MMEngineWindow(values, offset: Rule.hyperparams.count)
        try window.check(owner: Rule.family)
        rule = try Rule(values: values, window: window, groups: setup.groupCount,
                        paramName: mmengineParamName(values, own: Rule.hyperparams.count, convertible: true))
    }

    func tick(_ tick: Tick) throws(PluginError) {
        switch tick.event {
        case STEPWISE_TICK_START: try step(tick)
        case STEPWISE_TICK_AFTER_ITER where !window.byEpoch: try step(tick)
        case STEPWISE_TICK_AFTER_EPOCH where window.byEpoch: try step(tick)
        default: break
        }
    }

    /// `_ParamScheduler.step`: the global step always advances, the schedule only inside
    /// its window.
    private func step(_ tick: Tick) throws(PluginError) {
        let next = globalStep + 1
        if window.begin <= next && next < window.end {
            let values = try rule.values(lastStep: window.lastStep + 1, tick)
            window.lastStep += 1
            try tick.setAll(values, owner: Self.typeName)
            if window.verbose {
                for (i, v) in values.enumerated() {
                    host.log(STEPWISE_LOG_INFO, "Adjusting parameter value of group \(i) to \(v).")
                }
            }
        }
        globalStep = next
    }

    func saveState(_ writer: StateWriter) throws(PluginError) {
        try StateCodec.save(writer, tag: Rule.family, ints: [globalStep, window.lastStep], doubles: [])
    }

    func loadState(_ reader: StateReader) throws(PluginError) {
        let (ints, _) = try StateCodec.load(reader, tag: Rule.family, ints: 2, doubles: 0)
        globalStep = ints[0]
        window.lastStep = ints[1]
    }
}

/// The full schema of an MMEngine component: the rule's keys, the window keys, and for
/// `*ParamScheduler` the required `param_name` last.
func mmengineSchema<T: MMEngineTarget>(_ own: [Hyperparam], convertible: Bool, param: T.Type) -> [Hyperparam] {
    var list = own + MMEngineWindow.hyperparams(convertible: convertible)
    if T.self == ParamTarget.self {
        list.append(Hyperparam("param_name", STEPWISE_TYPE_STRING, default: .none, flags: HP.required,
                               doc: "the optimizer hyperparameter to schedule, e.g. weight_decay"))
    }
    return list
}

/// The `param_name` of a `*ParamScheduler` component, found by the value layout (it is
/// the one key past the window keys), or nil for the LR and Momentum components.
func mmengineParamName(_ values: Values, own: Int, convertible: Bool) -> String? {
    let common = MMEngineWindow.hyperparams(convertible: convertible).count
    return values.count > own + common ? values.string(values.count - 1) : nil
}

/// Publishes one rule as its three components. `check` and `create` are the LR
/// instantiation's thunks: the three share one implementation and one value layout
/// (`param_name` comes last), so they can share the thunks too.
func mmengineFamily<R: MMEngineRule>(_: R.Type, momentum: Bool = true, check: CheckThunk,
                                      create: SchedulerCreateThunk) -> [UnsafePointer<stepwise_component>] {
    var list = [SchedulerExport.component(MMEngineScheduler<R, LRTarget>.self, check: check, create: create)]
    if momentum {
        list.append(SchedulerExport.component(MMEngineScheduler<R, MomentumTarget>.self, check: check, create: create))
    }
    list.append(SchedulerExport.component(MMEngineScheduler<R, ParamTarget>.self, check: check, create: create))
    return list
}
