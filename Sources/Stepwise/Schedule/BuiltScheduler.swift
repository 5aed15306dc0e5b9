import Foundation
import StepwiseABI

/// One scheduler instance: its component, the values it was resolved to (alive until the
/// instance is destroyed, as the ABI requires), the slot it drives and its children.
final class BuiltScheduler {
    let component: Component
    let api: UnsafePointer<stepwise_scheduler_api>
    let values: ResolvedValues
    let slot: ScheduleSlot
    /// Lent to schedulers that also cycle the momentum (they or a child).
    let momentumSlot: ScheduleSlot?
    let children: ChildTable
    /// Only this param group (a MindSpore per-group dynamic lr), or every group.
    let group: Int?
    let label: String
    fileprivate let instance: UnsafeMutableRawPointer
    /// The loader refuses schedulers without `tick`; kept here so no call unwraps it.
    fileprivate let tickFunction: TickFunction

    var dialect: ScheduleDialect? { ScheduleDialect(api.pointee.dialect) }
    var needsMetrics: Bool { api.pointee.flags & UInt32(STEPWISE_SCHED_NEEDS_METRICS) != 0 }
    var alsoMomentum: Bool { api.pointee.flags & UInt32(STEPWISE_SCHED_ALSO_MOMENTUM) != 0 }
    /// The metric a ReduceOnPlateau watches, when its schema names one.
    var monitor: String? { values["monitor"]?.string }

    init(component: Component, values: ResolvedValues, slot: ScheduleSlot, momentumSlot: ScheduleSlot?,
         children: [BuiltScheduler], group: Int?, groupCount: Int, loop: ScheduleLoopShape, label: String) throws {
        guard let api = component.schedulerAPI, let create = api.pointee.create, let tick = api.pointee.tick else {
            throw StepwiseError.plugin("\(component.typeName) has no scheduler api")
        }
        self.component = component
        self.api = api
        self.tickFunction = tick
        self.values = values
        self.slot = slot
        self.momentumSlot = momentumSlot
        self.children = ChildTable(children)
        self.group = group
        self.label = label

        var setup = stepwise_schedule_setup()
        setup.struct_size = MemoryLayout<stepwise_schedule_setup>.size
        setup.group_count = UInt32(group == nil ? groupCount : 1)
        setup.max_epochs = Int64(loop.epochs)
        setup.iters_per_epoch = Int64(loop.itersPerEpoch)
        setup.max_iters = Int64(loop.maxIters)
        if !children.isEmpty {
            setup.child_count = UInt32(children.count)
            setup.children_ctx = Unmanaged.passUnretained(self.children).toOpaque()
            setup.tick_child = tickChild
        }
        var out: UnsafeMutableRawPointer? = nil
        var error: OpaquePointer? = nil
        let status = create(component.host, values.raw, &setup, &out, &error)
        guard status == STEPWISE_OK, let out else {
            throw HostServices.takeError(error, status: status, context: "\(label) (\(component.typeName))")
        }
        instance = out
    }

    deinit { api.pointee.destroy?(instance) }

    /// Delivers one tick; `tick` points at host-owned buffers the caller fills and reads.
    func tick(_ tick: UnsafePointer<stepwise_schedule_tick>) throws {
        var error: OpaquePointer? = nil
        let status = tickFunction(instance, tick, &error)
        if status != STEPWISE_OK && status != STEPWISE_SKIPPED {
            throw HostServices.takeError(error, status: status, context: "\(label) (\(component.typeName))")
        }
    }

    /// This scheduler and its descendants, depth first: the order state is saved in.
    var flattened: [BuiltScheduler] { [self] + children.list.flatMap(\.flattened) }

    func saveState() throws -> [UInt8] {
        guard let save = api.pointee.save_state else { return [] }
        let sink = ByteSink()
        var error: OpaquePointer? = nil
        let status = sink.withStream { save(instance, $0, &error) }
        guard status == STEPWISE_OK else {
            throw HostServices.takeError(error, status: status, context: "saving the state of \(label) (\(component.typeName))")
        }
        return sink.bytes
    }

    func loadState(_ bytes: [UInt8]) throws {
        guard let load = api.pointee.load_state else {
            guard bytes.isEmpty else {
                throw StepwiseError.state("\(label) (\(component.typeName)) keeps no state, but the saved state has \(bytes.count) bytes")
            }
            return
        }
        var error: OpaquePointer? = nil
        let status = ByteSource(bytes).withStream { load(instance, $0, &error) }
        guard status == STEPWISE_OK else {
            throw HostServices.takeError(error, status: status, context: "loading the state of \(label) (\(component.typeName))")
        }
    }
}

typealias TickFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<stepwise_schedule_tick>?,
                                         UnsafeMutablePointer<OpaquePointer?>?) -> stepwise_status

/// The children a container scheduler ticks through `tick_child`; its address is the
/// `children_ctx` the plugin hands back.
final class ChildTable {
    let list: [BuiltScheduler]
    init(_ list: [BuiltScheduler]) { self.list = list }
    var isEmpty: Bool { list.isEmpty }
}

/// `stepwise_schedule_setup.tick_child`: forwards a tick the parent prepared (on the
/// same host buffers) to one of its children; the child's error goes to the parent.
private let tickChild: @convention(c) (UnsafeMutableRawPointer?, UInt32, UnsafePointer<stepwise_schedule_tick>?,
                                       UnsafeMutablePointer<OpaquePointer?>?) -> stepwise_status = { ctx, index, tick, error in
    guard let ctx, let tick else { return STEPWISE_INVALID_ARGUMENT }
    let table = Unmanaged<ChildTable>.fromOpaque(ctx).takeUnretainedValue()
    guard Int(index) < table.list.count else {
        error?.pointee = ErrorBox.make(STEPWISE_INVALID_ARGUMENT, "no child scheduler \(index) (there are \(table.list.count))")
        return STEPWISE_INVALID_ARGUMENT
    }
    let child = table.list[Int(index)]
    return child.tickFunction(child.instance, tick, error)
}
