import Foundation
import StepwiseABI

/// Drives a scheduler through the ABI over a small loop (3 epochs of 4 iterations, a
/// validation after each epoch) for two param groups. A unit is one tick.
final class SchedulerDriver: Driver {
    static let epochs = 3, itersPerEpoch = 4, groups = 2

    static var defaultSetup: stepwise_schedule_setup {
        var s = stepwise_schedule_setup()
        s.struct_size = MemoryLayout<stepwise_schedule_setup>.size
        s.group_count = UInt32(groups)
        s.max_epochs = Int64(epochs)
        s.iters_per_epoch = Int64(itersPerEpoch)
        s.max_iters = Int64(epochs * itersPerEpoch)
        // The validator builds no child schedulers; a plugin must not tick any.
        s.child_count = 0
        s.tick_child = { _, _, _, error in
            error?.pointee = ErrorBox.make(STEPWISE_UNSUPPORTED, "the validator provides no child schedulers")
            return STEPWISE_UNSUPPORTED
        }
        return s
    }

    struct Event {
        let kind: stepwise_schedule_event
        let epoch: Int, iter: Int, inner: Int
    }

    /// START, then per epoch BEFORE_EPOCH, (BEFORE_ITER, AFTER_ITER) per iteration,
    /// AFTER_EPOCH and AFTER_VAL.
    static let events: [Event] = {
        var out = [Event(kind: STEPWISE_TICK_START, epoch: 0, iter: 0, inner: 0)]
        for e in 0..<epochs {
            out.append(Event(kind: STEPWISE_TICK_BEFORE_EPOCH, epoch: e, iter: e * itersPerEpoch, inner: 0))
            for i in 0..<itersPerEpoch {
                let iter = e * itersPerEpoch + i
                out.append(Event(kind: STEPWISE_TICK_BEFORE_ITER, epoch: e, iter: iter, inner: i))
                out.append(Event(kind: STEPWISE_TICK_AFTER_ITER, epoch: e, iter: iter, inner: i))
            }
            out.append(Event(kind: STEPWISE_TICK_AFTER_EPOCH, epoch: e, iter: (e + 1) * itersPerEpoch - 1, inner: itersPerEpoch - 1))
            out.append(Event(kind: STEPWISE_TICK_AFTER_VAL, epoch: e, iter: (e + 1) * itersPerEpoch - 1, inner: itersPerEpoch - 1))
        }
        return out
    }()

    let component: Component
    let api: UnsafePointer<stepwise_scheduler_api>
    let tickFn: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<stepwise_schedule_tick>?,
                                UnsafeMutablePointer<OpaquePointer?>?) -> stepwise_status
    let values: ResolvedValues
    let instance: UnsafeMutableRawPointer
    let state: StateFunctions
    let base: [Double]
    var current: [Double]
    /// The momentum a STEPWISE_SCHED_ALSO_MOMENTUM scheduler also drives (CyclicLR).
    var momentum: [Double]
    let alsoMomentum: Bool
    /// Metric names a monitoring scheduler may watch, with deterministic values.
    let metricNames: [UnsafeMutablePointer<CChar>]

    var unitCount: Int { Self.events.count }
    /// After the AFTER_ITER of iteration 5, mid-epoch, where an iteration-based run
    /// checkpoints.
    var resumePoint: Int { (Self.events.firstIndex { $0.kind == STEPWISE_TICK_AFTER_ITER && $0.iter == 5 } ?? 16) + 1 }
    var streamsState: Bool { state.streams }

    init(_ component: Component, _ spec: DriverSpec) throws {
        self.component = component
        api = try required(component.schedulerAPI, "the scheduler api")
        tickFn = try required(api.pointee.tick, "tick")
        state = StateFunctions(component)
        var config = spec.config
        config["type"] = .string(component.qualifiedName)
        let resolved = try component.resolve(config)
        values = resolved
        base = api.pointee.target == STEPWISE_TARGET_MOMENTUM ? [0.9, 0.85] : [0.1, 0.05]
        current = base
        momentum = [0.9, 0.85]
        alsoMomentum = api.pointee.flags & UInt32(STEPWISE_SCHED_ALSO_MOMENTUM) != 0
        var names = ["loss", "acc", "accuracy", "top1", "mAP", "val_loss"]
        if let monitor = resolved["monitor"]?.string, !names.contains(monitor) { names.append(monitor) }
        // A metric-driven scheduler told no name watches the loop's only metric, as
        // torch's `scheduler.step(val_loss)`.
        if api.pointee.flags & UInt32(STEPWISE_SCHED_NEEDS_METRICS) != 0 && resolved["monitor"]?.string == nil { names = ["loss"] }
        metricNames = names.map { strdup($0) }
        var setup = Self.defaultSetup
        instance = try withUnsafePointer(to: &setup) { try Lifecycle.create(component, resolved, schedulerSetup: $0) }
    }

    deinit {
        api.pointee.destroy?(instance)
        metricNames.forEach { free($0) }
    }

    func run(_ i: Int) throws -> [UInt64] {
        let e = Self.events[i]
        // Metrics that improve, then plateau: monitoring schedulers act on both.
        let progress = Double(min(e.epoch, 1))
        var metrics = metricNames.enumerated().map { k, name in
            stepwise_named_value(struct_size: MemoryLayout<stepwise_named_value>.size, name: UnsafePointer(name),
                                 value: k == 0 || k == 5 ? 1.0 - 0.5 * progress : 0.5 + 0.25 * progress)
        }
        let before = fingerprint(values.raw)
        let (status, message) = metrics.withUnsafeMutableBufferPointer { buffer in
            var list = (0..<buffer.count).map { k in buffer.baseAddress.map { UnsafePointer($0 + k) } }
            return base.withUnsafeBufferPointer { basePointer in
                current.withUnsafeMutableBufferPointer { valuesPointer in
                  momentum.withUnsafeMutableBufferPointer { momentumPointer in
                    list.withUnsafeMutableBufferPointer { metricList in
                        var tick = stepwise_schedule_tick()
                        tick.struct_size = MemoryLayout<stepwise_schedule_tick>.size
                        tick.event = e.kind
                        tick.epoch = Int64(e.epoch)
                        tick.iter = Int64(e.iter)
                        tick.inner_iter = Int64(e.inner)
                        tick.jump_to_step = -1
                        tick.group_count = UInt32(Self.groups)
                        tick.base_values = basePointer.baseAddress
                        tick.values = valuesPointer.baseAddress
                        tick.momentum_values = alsoMomentum ? momentumPointer.baseAddress : nil
                        if e.kind == STEPWISE_TICK_AFTER_VAL {
                            tick.metric_count = UInt32(metricList.count)
                            tick.metrics = UnsafePointer(metricList.baseAddress)
                        }
                        var error: OpaquePointer? = nil
                        let status = tickFn(instance, &tick, &error)
                        return (status, takeMessage(error))
                    }
                  }
                }
            }
        }
        guard status == STEPWISE_OK || status == STEPWISE_SKIPPED else {
            throw UnitRefused(status: status, description: "tick \(Self.name(e.kind)) at epoch \(e.epoch), iteration \(e.iter) failed (status \(status.rawValue)): \(message)")
        }
        if fingerprint(values.raw) != before { throw CheckFailure("tick wrote into the hyperparameter values it was lent") }
        if let bad = (current + momentum).first(where: { !$0.isFinite }) {
            throw CheckFailure("tick \(Self.name(e.kind)) at iteration \(e.iter) set a non-finite value \(bad)")
        }
        return (current + momentum).map(\.bits64)
    }

    static func name(_ k: stepwise_schedule_event) -> String {
        ["START", "BEFORE_EPOCH", "BEFORE_ITER", "AFTER_ITER", "AFTER_EPOCH", "AFTER_VAL"][Int(min(k.rawValue, 5))]
    }

    func checkpointBytes(writeChunk: Int) throws -> [UInt8] {
        try saveStream(writeChunk: writeChunk) + (current + momentum).flatMap { withUnsafeBytes(of: $0.bitPattern, Array.init) }
    }

    func resume(from other: Driver, at unit: Int, readChunk: Int, writeChunk: Int) throws {
        guard let other = other as? SchedulerDriver else { throw CheckFailure("internal: resuming across kinds") }
        // The optimizer's values are restored by the host with the optimizer's state.
        current = other.current
        momentum = other.momentum
        guard streamsState else { return }
        let saved = try other.saveStream(writeChunk: writeChunk)
        let load = loadStream(saved, readChunk: readChunk)
        guard load.accepted else {
            throw CheckFailure("load_state refused the state save_state wrote (status \(load.status.rawValue)): \(load.message)")
        }
    }

    func saveStream(writeChunk: Int) throws -> [UInt8] { try state.save(instance, writeChunk: writeChunk) }
    func loadStream(_ bytes: [UInt8], readChunk: Int) -> StreamLoad { state.load(instance, bytes, readChunk: readChunk) }
    func loadStream(_ pattern: PatternSource) -> StreamLoad { state.load(instance, pattern) }
}
