import StepwiseABI

/// Every recorded value of a simulated schedule: per key ("lr", "momentum",
/// "weight_decay", ...), per param group, one value per iteration, the value that
/// iteration's `step()` uses.
public struct ScheduleTrace: Sendable, Equatable {
    public var loop: ScheduleLoopShape
    public var keys: [String]
    public var groups: Int
    public var values: [String: [[Double]]]
    /// The first iteration recorded (nonzero after a resume).
    public var firstIteration: Int

    mutating func append(_ other: ScheduleTrace) {
        for key in keys {
            for g in 0..<groups { values[key]?[g] += other.values[key]?[g] ?? [] }
        }
    }
}

/// A schedule run in its dialect's training loop without a model: the loop events of
/// conformance/FORMAT.md, a record before every optimizer step. Builds the optimizer's
/// param groups from the config (no parameters) when it names one.
public final class ScheduleSimulation {
    public let schedulers: ParamSchedulers
    public let loop: ScheduleLoopShape
    public let valMetrics: [String: [Double]]
    let recorded: [ScheduleSlot]
    /// Iterations already run.
    public private(set) var position = 0
    /// Each recorded value takes 8 bytes per group; past this the trace stops being useful.
    public static let maxIterations = 20_000_000

    /// `document`: `optimizer` (or `optim_wrapper.optimizer`), optional `param_groups`
    /// (per-group overrides, without `params`), and the schedule keys `ScheduleConfig`
    /// reads. `valMetrics`: per metric name, one value per epoch.
    public init(registry: PluginRegistry, document: ConfigDict, loop: ScheduleLoopShape,
                valMetrics: [String: [Double]] = [:]) throws {
        guard loop.epochs > 0, loop.itersPerEpoch > 0 else {
            throw StepwiseError.usage("the loop needs at least one epoch of at least one iteration "
                                      + "(got \(loop.epochs) epochs of \(loop.itersPerEpoch))")
        }
        let (total, overflow) = loop.epochs.multipliedReportingOverflow(by: loop.itersPerEpoch)
        guard !overflow, total <= Self.maxIterations else {
            throw StepwiseError.usage("\(loop.epochs) epochs of \(loop.itersPerEpoch) iterations is more than the "
                                      + "\(Self.maxIterations) iterations a simulation records; simulate fewer")
        }
        for (name, list) in valMetrics where list.count < loop.epochs {
            throw StepwiseError.config("val_metrics['\(name)'] has \(list.count) values, but the loop runs \(loop.epochs) epochs")
        }
        let config = try ScheduleConfig(document: document)
        var perGroup: [(group: Int, config: ConfigDict)] = []
        let source: ScheduleValueSource
        if let optimizer = document["optimizer"]?.dict ?? document["optim_wrapper"]?.dict?["optimizer"]?.dict {
            let component = try registry.component(.optimizer, for: optimizer)
            // MMCV 1.x / MMSelfSup configs put the parameter-wise constructor's keys inside
            // the optimizer dict; they decide groups, not scheduled values.
            let defaults = try component.resolve(optimizer, ignoring: ["type", "paramwise_options", "paramwise_cfg", "constructor"])
            var groups: [ResolvedValues] = []
            for (i, item) in (document["param_groups"]?.list ?? []).enumerated() {
                guard var g = item.dict else { throw StepwiseError.config("param_groups[\(i)] must be a dict of overrides") }
                if config.dialect == .mindspore, let dynamic = try Self.dynamicLR(g["lr"], group: i) {
                    perGroup.append((i, dynamic))
                    g["lr"] = nil
                }
                groups.append(try component.resolve(g, ignoring: ["type", "params"], overriding: defaults))
            }
            if groups.isEmpty { groups = [defaults.copy()] }
            let extra = config.dialect == .mmengine && groups.count > 1 ? defaults.copy() : nil
            source = ResolvedGroupValues(groups: groups, extra: extra)
        } else if config.dialect == .mindspore {
            source = PlainScheduleValues(groups: 1, values: ["lr": 0])
        } else {
            throw StepwiseError.config("a \(config.dialect.title) schedule needs the optimizer it schedules: add an "
                                       + "'optimizer' dict (e.g. {type: SGD, lr: 0.1, momentum: 0.9})")
        }
        self.loop = loop
        self.valMetrics = valMetrics
        schedulers = try ParamSchedulers(registry: registry, config: config, values: source, loop: loop, perGroup: perGroup)
        try schedulers.requireMetrics(available: Set(valMetrics.keys))
        var slots: [ScheduleSlot]
        if let groups = source as? ResolvedGroupValues { slots = groups.recordedSlots() } else {
            slots = [try source.slot(named: "lr")].compactMap { $0 }
        }
        for s in schedulers.drivenSlots where !slots.contains(s) { slots.append(s) }
        recorded = slots
    }

    /// MindSpore takes a schedule (or a list of values, one per step) as a group's `lr`.
    static func dynamicLR(_ value: ConfigValue?, group: Int) throws -> ConfigDict? {
        switch value {
        case .dict(let d)?: return d
        case .list(let l)?:
            return ConfigDict(["type": .string("piecewise_constant_lr"),
                               "milestone": .list((1...max(1, l.count)).map { .int(Int64($0)) }), "learning_rates": .list(l)])
        default: return nil
        }
    }

    public var keys: [String] { recorded.map(\.key) }

    /// Applies the schedulers' first values; once, before the first `run`.
    public func start() throws {
        guard position == 0 else { throw StepwiseError.usage("the schedule already started (at iteration \(position))") }
        try schedulers.start()
    }

    /// Runs `count` more iterations (default: to the end of the loop) and returns what
    /// they recorded.
    public func run(iterations count: Int? = nil) throws -> ScheduleTrace {
        let start = position, end = min(loop.maxIters, position + (count ?? loop.maxIters))
        let groups = schedulers.source.recordedGroupCount
        var columns = Array(repeating: Array(repeating: [Double](), count: groups), count: recorded.count)
        let metrics = valMetrics.keys.sorted().map { ($0, valMetrics[$0] ?? []) }
        while position < end {
            let iter = position, epoch = iter / loop.itersPerEpoch, inner = iter % loop.itersPerEpoch
            if inner == 0 { try schedulers.beforeEpoch(epoch) }
            try schedulers.beforeIter(epoch: epoch, iter: iter)
            for (k, slot) in recorded.enumerated() {
                for g in 0..<groups { columns[k][g].append(schedulers.source.value(slot, group: g)) }
            }
            try schedulers.afterIter(epoch: epoch, iter: iter)
            if inner == loop.itersPerEpoch - 1 {
                try schedulers.afterEpoch(epoch)
                if !metrics.isEmpty {
                    try schedulers.afterValidation(epoch, metrics: metrics.map { ($0.0, $0.1[epoch]) })
                }
            }
            position += 1
        }
        return ScheduleTrace(loop: loop, keys: keys, groups: groups,
                             values: Dictionary(uniqueKeysWithValues: zip(keys, columns).map { ($0, $1) }), firstIteration: start)
    }

    /// Everything a resumed simulation needs: the schedulers' state, the scheduled values
    /// (an optimizer checkpoint keeps them in its param groups) and the position.
    public func checkpoint() throws -> ScheduleCheckpoint {
        let source = schedulers.source
        var values: [String: [Double]] = [:]
        for slot in Set(recorded + schedulers.drivenSlots) {
            values[slot.key] = (0..<source.groupCount).map { source.value(slot, group: $0) }
        }
        return ScheduleCheckpoint(state: try schedulers.stateDict(), values: values, position: position)
    }

    /// Continues from a checkpoint of a simulation built from the same config; takes no
    /// step (do not call `start()`).
    public func restore(_ checkpoint: ScheduleCheckpoint) throws {
        guard position == 0 else { throw StepwiseError.usage("restore into a fresh simulation") }
        try schedulers.loadStateDict(checkpoint.state)
        let source = schedulers.source
        for slot in Set(recorded + schedulers.drivenSlots) {
            guard let saved = checkpoint.values[slot.key], saved.count == source.groupCount else {
                throw StepwiseError.state("the checkpoint has no values of '\(slot.key)' for \(source.groupCount) groups")
            }
            for (g, v) in saved.enumerated() { source.setValue(slot, group: g, v) }
        }
        position = checkpoint.position
    }
}

public struct ScheduleCheckpoint: Codable, Equatable, Sendable {
    public var state: ScheduleState
    public var values: [String: [Double]]
    public var position: Int
}
