import StepwiseABI
import StepwiseKit

// torch.optim.lr_scheduler's LRScheduler protocol (torch 2.x): construction applies an
// initial step (`last_epoch` -1 -> 0, `_is_initial`); every `step()` advances `last_epoch`
// and applies the chainable `get_lr`; `_update_lr(epoch)` (SequentialLR at a milestone)
// jumps to an epoch and applies the closed form where the scheduler has one. In a
// Stepwise loop, torch schedulers step after every iteration.
//
//     param_scheduler = dict(type='CosineAnnealingLR', T_max=1000, eta_min=1e-5)

/// torch's step counters, as `get_lr` sees them.
struct TorchCounters {
    var lastEpoch: Int
    var stepCount = 0
    var isInitial = false
}

protocol TorchRule {
    static var name: String { get }
    static var summary: String { get }
    /// The keys before `last_epoch`, in value order.
    static var hyperparams: [Hyperparam] { get }
    static var flags: UInt32 { get }
    static func check(_ values: Values) throws(PluginError)
    init(values: Values, setup: ScheduleSetup) throws(PluginError)
    /// `get_lr`, the chainable form.
    mutating func lr(_ c: TorchCounters, _ tick: Tick) throws(PluginError) -> [Double]
    /// `_get_closed_form_lr`, or nil for schedulers without one.
    func closedForm(_ c: TorchCounters, _ tick: Tick) -> [Double]?
    /// What `step()` does to the counters before `get_lr`; CosineAnnealingWarmRestarts
    /// keeps its own cycle position here.
    mutating func advance(_ c: inout TorchCounters)
    /// Side effects of the constructor before the initial step (CyclicLR moves the lr to
    /// base_lr and the momentum to max_momentum). `fresh` is torch's `last_epoch == -1`.
    func construct(_ tick: Tick, fresh: Bool) throws(PluginError)
    /// State beyond the counters, saved and restored with them.
    var state: [Double] { get set }
}

extension TorchRule {
    static var flags: UInt32 { 0 }
    static func check(_ values: Values) throws(PluginError) {}
    func closedForm(_ c: TorchCounters, _ tick: Tick) -> [Double]? { nil }
    mutating func advance(_ c: inout TorchCounters) { c.lastEpoch += 1 }
    func construct(_ tick: Tick, fresh: Bool) throws(PluginError) {}
    var state: [Double] { get { [] } set {} }
}

final class TorchScheduler<Rule: TorchRule>: SchedulerAlgorithm {
    static var typeName: String { "torch_" + Rule.name }
    static var summary: String { Rule.summary + " (torch)" }
    static var reference: String { "torch 2.x, torch/optim/lr_scheduler.py: \(Rule.name)" }
    static var target: stepwise_schedule_target { STEPWISE_TARGET_LR }
    static var dialect: stepwise_schedule_dialect { STEPWISE_DIALECT_TORCH }
    static var flags: UInt32 { Rule.flags }
    static var hyperparams: [Hyperparam] {
        Rule.hyperparams + [.int("last_epoch", -1, min: -1, doc: "index of the last step, to resume without saved state")]
    }
    static func check(_ values: Values) throws(PluginError) { try Rule.check(values) }

    var rule: Rule
    let configuredLastEpoch: Int
    let groups: Int
    var counters: TorchCounters

    init(host: Host, values: Values, setup: ScheduleSetup) throws(PluginError) {
        try Rule.check(values)
        rule = try Rule(values: values, setup: setup)
        configuredLastEpoch = values.int(Rule.hyperparams.count)
        groups = setup.groupCount
        counters = TorchCounters(lastEpoch: configuredLastEpoch)
    }

    func tick(_ tick: Tick) throws(PluginError) {
        guard tick.groupCount == groups else {
            throw .invalid("\(Self.typeName) was built for \(groups) param groups but ticked with \(tick.groupCount)")
        }
        if let epoch = tick.jumpToStep {
            var c = counters
            c.lastEpoch = epoch
            c.isInitial = false
            let values: [Double]
            if let closed = rule.closedForm(c, tick) { values = closed } else { values = try rule.lr(c, tick) }
            counters = c
            try tick.setAll(values, owner: Self.typeName)
            return
        }
        switch tick.event {
        case STEPWISE_TICK_START:
            // Also the re-initialization SequentialLR asks of its first child: undo the
            // construction step, then take the initial step again.
            try rule.construct(tick, fresh: configuredLastEpoch == -1)
            var c = TorchCounters(lastEpoch: configuredLastEpoch, stepCount: 1, isInitial: true)
            try step(&c, tick)
        case STEPWISE_TICK_AFTER_ITER:
            var c = counters
            c.stepCount += 1
            c.isInitial = false
            try step(&c, tick)
        default:
            break
        }
    }

    private func step(_ c: inout TorchCounters, _ tick: Tick) throws(PluginError) {
        var next = rule
        next.advance(&c)
        let values = try next.lr(c, tick)
        rule = next
        counters = c
        counters.isInitial = false
        try tick.setAll(values, owner: Self.typeName)
    }

    func saveState(_ writer: StateWriter) throws(PluginError) {
        try StateCodec.save(writer, tag: Self.typeName, ints: [counters.lastEpoch, counters.stepCount], doubles: rule.state)
    }

    func loadState(_ reader: StateReader) throws(PluginError) {
        let (ints, doubles) = try StateCodec.load(reader, tag: Self.typeName, ints: 2, doubles: rule.state.count)
        counters = TorchCounters(lastEpoch: ints[0], stepCount: ints[1])
        rule.state = doubles
    }
}

/// `bisect_right(sorted, x)`: how many elements are <= x.
func bisectRight(_ sorted: [Int], _ x: Int) -> Int {
    var lo = 0, hi = sorted.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if x < sorted[mid] { hi = mid } else { lo = mid + 1 }
    }
    return lo
}
