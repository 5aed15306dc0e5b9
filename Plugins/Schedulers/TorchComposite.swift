import StepwiseABI
import StepwiseKit

// torch's containers of schedulers. The host builds the children from `schedulers`
// (STEPWISE_HP_SCHEDULERS) and lends a way to tick them; the container delivers every
// event its children would see in torch, construction included: torch builds the
// children before their container, each applying its initial step.

private let schedulersDoc = "the sub-schedulers, as configs, built in order on the same optimizer"

/// Copies a tick with another event or jump, for a child.
private func childTick(_ tick: Tick, event: stepwise_schedule_event, jump: Int? = nil) -> stepwise_schedule_tick {
    var t = tick.raw.pointee
    t.struct_size = min(tick.raw.pointee.struct_size, MemoryLayout<stepwise_schedule_tick>.size)
    t.event = event
    t.jump_to_step = Int64(jump ?? -1)
    return t
}

private func send(_ setup: ScheduleSetup, _ host: Host, child: Int, _ t: stepwise_schedule_tick) throws(PluginError) {
    var copy = t
    try withUnsafePointer(to: &copy) { (p) throws(PluginError) in try setup.tick(child: child, p, host: host) }
}

/// Runs the children one after another: child `i` from milestone `i - 1` on, restarted
/// at its milestone with `step(0)` (closed form at epoch 0).
final class TorchSequentialLR: SchedulerAlgorithm {
    static let typeName = "torch_SequentialLR"
    static let summary = "Run schedulers one after another, switching at milestones (torch)"
    static let reference = "torch 2.x, torch/optim/lr_scheduler.py: SequentialLR"
    static let target = STEPWISE_TARGET_LR
    static let dialect = STEPWISE_DIALECT_TORCH
    static let hyperparams: [Hyperparam] = [
        Hyperparam("schedulers", STEPWISE_TYPE_JSON, default: .none,
                   flags: UInt32(STEPWISE_HP_SCHEDULERS) | HP.required, doc: schedulersDoc),
        HP.ints("milestones", nil, doc: "steps at which the next scheduler takes over (one fewer than schedulers)"),
        .int("last_epoch", -1, min: -1, doc: "index of the last step, to resume without saved state"),
    ]

    let host: Host, setup: ScheduleSetup, milestones: [Int]
    var lastEpoch: Int

    init(host: Host, values: Values, setup: ScheduleSetup) throws(PluginError) {
        self.host = host
        self.setup = setup
        milestones = values.ints(1)
        guard setup.childCount >= 1 else {
            throw .invalid("SequentialLR expects at least one scheduler, but got no scheduler")
        }
        guard milestones.count == setup.childCount - 1 else {
            throw .invalid("SequentialLR expects one more scheduler than milestones, but got \(setup.childCount) "
                           + "schedulers and \(milestones.count) milestones")
        }
        lastEpoch = values.int(2) + 1
    }

    func tick(_ tick: Tick) throws(PluginError) {
        switch tick.event {
        case STEPWISE_TICK_START:
            for i in 0..<setup.childCount { try send(setup, host, child: i, childTick(tick, event: STEPWISE_TICK_START)) }
            // Reset to the initial values, then let the first child take its initial step
            // again (torch's recursive_undo + _initial_step).
            for i in 0..<tick.groupCount { tick.set(i, tick.base(i)) }
            try send(setup, host, child: 0, childTick(tick, event: STEPWISE_TICK_START))
        case STEPWISE_TICK_AFTER_ITER:
            let next = lastEpoch + 1
            let idx = bisectRight(milestones, next)
            if idx > 0 && milestones[idx - 1] == next {
                try send(setup, host, child: idx, childTick(tick, event: tick.event, jump: 0))
            } else {
                try send(setup, host, child: idx, childTick(tick, event: tick.event))
            }
            lastEpoch = next
        default:
            break
        }
    }

    func saveState(_ writer: StateWriter) throws(PluginError) {
        try StateCodec.save(writer, tag: Self.typeName, ints: [lastEpoch], doubles: [])
    }

    func loadState(_ reader: StateReader) throws(PluginError) {
        lastEpoch = try StateCodec.load(reader, tag: Self.typeName, ints: 1, doubles: 0).0[0]
    }
}

/// Steps every child at every step, in order, so their factors compose.
final class TorchChainedScheduler: SchedulerAlgorithm {
    static let typeName = "torch_ChainedScheduler"
    static let summary = "Step several chainable schedulers together, composing them (torch)"
    static let reference = "torch 2.x, torch/optim/lr_scheduler.py: ChainedScheduler"
    static let target = STEPWISE_TARGET_LR
    static let dialect = STEPWISE_DIALECT_TORCH
    static let hyperparams: [Hyperparam] = [
        Hyperparam("schedulers", STEPWISE_TYPE_JSON, default: .none,
                   flags: UInt32(STEPWISE_HP_SCHEDULERS) | HP.required, doc: schedulersDoc),
    ]

    let host: Host, setup: ScheduleSetup

    init(host: Host, values: Values, setup: ScheduleSetup) throws(PluginError) {
        guard setup.childCount >= 1 else {
            throw .invalid("ChainedScheduler expects at least one scheduler to be chained, but got no scheduler")
        }
        self.host = host
        self.setup = setup
    }

    func tick(_ tick: Tick) throws(PluginError) {
        guard tick.event == STEPWISE_TICK_START || tick.event == STEPWISE_TICK_AFTER_ITER else { return }
        for i in 0..<setup.childCount { try send(setup, host, child: i, childTick(tick, event: tick.event)) }
    }

    // The children's state is their own; the host saves it with them.
    func saveState(_ writer: StateWriter) throws(PluginError) {
        try StateCodec.save(writer, tag: Self.typeName, ints: [], doubles: [])
    }

    func loadState(_ reader: StateReader) throws(PluginError) {
        _ = try StateCodec.load(reader, tag: Self.typeName, ints: 0, doubles: 0)
    }
}
