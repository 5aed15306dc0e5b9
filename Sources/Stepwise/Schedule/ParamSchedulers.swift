import Foundation
import StepwiseABI

/// The parameter schedulers of one optimizer, built from a config and driven by the
/// training loop's events. Building changes no value; `start()` applies each scheduler's
/// first value (MMEngine and torch do this at construction, MMCV at `before_run`); reading
/// values never advances anything. A resumed run builds, loads the state and skips
/// `start()`, so no scheduler takes a step it already took.
public final class ParamSchedulers {
    public let dialect: ScheduleDialect
    public let source: ScheduleValueSource
    public let loop: ScheduleLoopShape
    let schedulers: [BuiltScheduler]
    /// Per slot key: each group's value before any scheduler touched it (`initial_lr`),
    /// set when the first scheduler of that slot starts.
    public private(set) var bases: [String: [Double]] = [:]

    private var baseBuffer: [Double]
    private var valueBuffer: [Double]
    private var momentumBuffer: [Double]

    public init(registry: PluginRegistry, config: ScheduleConfig, values: ScheduleValueSource,
                loop: ScheduleLoopShape, perGroup: [(group: Int, config: ConfigDict)] = []) throws {
        dialect = config.dialect
        source = values
        self.loop = loop
        let builder = ScheduleBuilder(registry: registry, dialect: config.dialect, source: values, loop: loop)
        var built: [BuiltScheduler] = []
        for (dict, label) in zip(config.schedulers, config.labels) {
            built.append(try builder.build(dict, label: label))
        }
        for (group, dict) in perGroup {
            built.append(try builder.build(dict, label: "param_groups[\(group)].lr", group: group))
        }
        schedulers = built
        let n = values.groupCount
        baseBuffer = Array(repeating: 0, count: n)
        valueBuffer = Array(repeating: 0, count: n)
        momentumBuffer = Array(repeating: 0, count: n)
    }

    /// Every slot a scheduler here drives, in build order, momentum cycling included.
    public var drivenSlots: [ScheduleSlot] {
        var out: [ScheduleSlot] = []
        for s in schedulers.flatMap(\.flattened) {
            for slot in [s.slot, s.momentumSlot].compactMap({ $0 }) where !out.contains(slot) { out.append(slot) }
        }
        return out
    }

    /// Refuses schedulers that read a validation metric the loop never reports.
    /// `metrics`: the names the loop reports after each validation (empty: none).
    public func requireMetrics(available metrics: Set<String>) throws {
        for s in schedulers.flatMap(\.flattened) where s.needsMetrics {
            if metrics.isEmpty {
                throw StepwiseError.config("\(s.label) (\(s.component.typeName)) reduces on a plateau of the validation "
                                           + "metric '\(s.monitor ?? "loss")', but the loop never validates; give the loop "
                                           + "validation metrics (val_metrics) or remove the scheduler")
            }
            if s.monitor == nil && metrics.count > 1 {
                throw StepwiseError.config("\(s.label) (\(s.component.typeName)) watches one metric, but the loop reports "
                                           + "\(metrics.sorted().joined(separator: ", ")); set `monitor` to one of them")
            }
            if let monitor = s.monitor, !metrics.contains(monitor) {
                throw StepwiseError.config("\(s.label) (\(s.component.typeName)) monitors '\(monitor)', but the loop's "
                                           + "validation reports only \(metrics.sorted().joined(separator: ", ")); set "
                                           + "`monitor` to one of them")
            }
        }
    }

    // MARK: Loop events

    public func start() throws { try deliver(STEPWISE_TICK_START, epoch: 0, iter: 0) }
    public func beforeEpoch(_ epoch: Int) throws {
        try deliver(STEPWISE_TICK_BEFORE_EPOCH, epoch: epoch, iter: epoch * loop.itersPerEpoch)
    }
    public func beforeIter(epoch: Int, iter: Int) throws { try deliver(STEPWISE_TICK_BEFORE_ITER, epoch: epoch, iter: iter) }
    public func afterIter(epoch: Int, iter: Int) throws { try deliver(STEPWISE_TICK_AFTER_ITER, epoch: epoch, iter: iter) }
    public func afterEpoch(_ epoch: Int) throws {
        try deliver(STEPWISE_TICK_AFTER_EPOCH, epoch: epoch, iter: (epoch + 1) * loop.itersPerEpoch - 1)
    }
    public func afterValidation(_ epoch: Int, metrics: [(name: String, value: Double)]) throws {
        try deliver(STEPWISE_TICK_AFTER_VAL, epoch: epoch, iter: (epoch + 1) * loop.itersPerEpoch - 1, metrics: metrics)
    }

    private func deliver(_ event: stepwise_schedule_event, epoch: Int, iter: Int,
                         metrics: [(name: String, value: Double)] = []) throws {
        let names = metrics.map { strdup($0.name) }
        defer { names.forEach { free($0) } }
        var named = zip(names, metrics).map { name, m in
            stepwise_named_value(struct_size: MemoryLayout<stepwise_named_value>.size, name: UnsafePointer(name), value: m.value)
        }
        try named.withUnsafeMutableBufferPointer { buffer in
            let pointers = buffer.indices.map { i in buffer.baseAddress.map { UnsafePointer($0 + i) } }
            try pointers.withUnsafeBufferPointer { metricList in
                for s in schedulers {
                    try tick(s, event: event, epoch: epoch, iter: iter, metrics: metricList)
                }
            }
        }
    }

    private func tick(_ s: BuiltScheduler, event: stepwise_schedule_event, epoch: Int, iter: Int,
                      metrics: UnsafeBufferPointer<UnsafePointer<stepwise_named_value>?>) throws {
        // One group (a per-group dynamic lr) or all; no allocation per tick.
        let groups = s.group.map { $0..<($0 + 1) } ?? 0..<source.groupCount
        if event == STEPWISE_TICK_START && bases[s.slot.key] == nil {
            bases[s.slot.key] = (0..<source.groupCount).map { source.value(s.slot, group: $0) }
        }
        guard let base = bases[s.slot.key] else {
            throw StepwiseError.usage("\(s.label) (\(s.component.typeName)) was ticked before the schedule started; call "
                                      + "start(), or load a saved state when resuming")
        }
        for (k, g) in groups.enumerated() {
            baseBuffer[k] = base[g]
            valueBuffer[k] = source.value(s.slot, group: g)
            if let m = s.momentumSlot { momentumBuffer[k] = source.value(m, group: g) }
        }
        try baseBuffer.withUnsafeBufferPointer { basePtr in
            try valueBuffer.withUnsafeMutableBufferPointer { valuePtr in
                try momentumBuffer.withUnsafeMutableBufferPointer { momentumPtr in
                    var t = stepwise_schedule_tick()
                    t.struct_size = MemoryLayout<stepwise_schedule_tick>.size
                    t.event = event
                    t.epoch = Int64(epoch)
                    t.iter = Int64(iter)
                    t.inner_iter = Int64(loop.itersPerEpoch > 0 ? iter - epoch * loop.itersPerEpoch : iter)
                    t.jump_to_step = -1
                    t.group_count = UInt32(groups.count)
                    t.base_values = basePtr.baseAddress
                    t.values = valuePtr.baseAddress
                    t.metric_count = event == STEPWISE_TICK_AFTER_VAL ? UInt32(metrics.count) : 0
                    t.metrics = metrics.baseAddress
                    t.momentum_values = s.momentumSlot == nil ? nil : momentumPtr.baseAddress
                    try withUnsafePointer(to: &t) { try s.tick($0) }
                }
            }
        }
        for (k, g) in groups.enumerated() {
            source.setValue(s.slot, group: g, valueBuffer[k])
            if let m = s.momentumSlot { source.setValue(m, group: g, momentumBuffer[k]) }
        }
    }

    // MARK: State

    /// The counters of every scheduler (children included) and the base values.
    public func stateDict() throws -> ScheduleState {
        ScheduleState(bases: bases, schedulers: try schedulers.flatMap(\.flattened).map {
            ScheduleState.Entry(type: $0.component.typeName, bytes: try $0.saveState())
        })
    }

    /// Restores a state saved from schedulers built from the same config. Takes no step.
    public func loadStateDict(_ state: ScheduleState) throws {
        let all = schedulers.flatMap(\.flattened)
        guard all.count == state.schedulers.count else {
            throw StepwiseError.state("the saved schedule state holds \(state.schedulers.count) schedulers, but this config "
                                      + "builds \(all.count)")
        }
        for (s, saved) in zip(all, state.schedulers) where s.component.typeName != saved.type {
            throw StepwiseError.state("the saved schedule state has \(saved.type) where this config builds "
                                      + "\(s.component.typeName) (\(s.label))")
        }
        for (key, values) in state.bases where values.count != source.groupCount {
            throw StepwiseError.state("the saved base values of '\(key)' cover \(values.count) param groups, but there are "
                                      + "\(source.groupCount)")
        }
        for (s, saved) in zip(all, state.schedulers) { try s.loadState(saved.bytes) }
        bases = state.bases
    }
}

/// Saved scheduler state: each scheduler's opaque blob (depth first, children after their
/// parent) and the base values per slot.
public struct ScheduleState: Codable, Equatable, Sendable {
    public struct Entry: Codable, Equatable, Sendable {
        public var type: String
        public var bytes: [UInt8]
    }
    public var bases: [String: [Double]]
    public var schedulers: [Entry]
}
