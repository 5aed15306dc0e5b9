import StepwiseABI

/// One loop event as a scheduler sees it.
public struct Tick {
    public let raw: UnsafePointer<stepwise_schedule_tick>
    public init(_ raw: UnsafePointer<stepwise_schedule_tick>) { self.raw = raw }

    public var event: stepwise_schedule_event { raw.pointee.event }
    public var epoch: Int { Int(raw.pointee.epoch) }
    public var iter: Int { Int(raw.pointee.iter) }
    public var innerIter: Int { Int(raw.pointee.inner_iter) }
    /// torch's `step(epoch)`: jump to this step count (closed form), or nil.
    public var jumpToStep: Int? { raw.pointee.jump_to_step >= 0 ? Int(raw.pointee.jump_to_step) : nil }
    public var groupCount: Int { Int(raw.pointee.group_count) }
    public func base(_ group: Int) -> Double { raw.pointee.base_values[group] }
    public func value(_ group: Int) -> Double { raw.pointee.values[group] }
    public func set(_ group: Int, _ value: Double) { raw.pointee.values[group] = value }
    /// The named metric of an AFTER_VAL tick, or nil.
    public func metric(_ name: String) -> Double? {
        for i in 0..<Int(raw.pointee.metric_count) {
            let m = raw.pointee.metrics[i]!.pointee
            if String(cString: m.name) == name { return m.value }
        }
        return nil
    }
}

/// The loop a scheduler was built into, copied at create.
public struct ScheduleSetup: Sendable {
    public var groupCount: Int
    public var maxEpochs: Int
    public var itersPerEpoch: Int
    public var maxIters: Int
    public var childCount: Int
    nonisolated(unsafe) var childrenContext: UnsafeMutableRawPointer?
    nonisolated(unsafe) var tickChild: (@convention(c) (UnsafeMutableRawPointer?, UInt32,
        UnsafePointer<stepwise_schedule_tick>?, UnsafeMutablePointer<OpaquePointer?>?) -> stepwise_status)?

    @usableFromInline init(_ s: UnsafePointer<stepwise_schedule_setup>) {
        groupCount = Int(s.pointee.group_count)
        maxEpochs = Int(s.pointee.max_epochs)
        itersPerEpoch = Int(s.pointee.iters_per_epoch)
        maxIters = Int(s.pointee.max_iters)
        childCount = Int(s.pointee.child_count)
        childrenContext = s.pointee.children_ctx
        tickChild = s.pointee.tick_child
    }

    /// Ticks a child scheduler (SequentialLR / ChainedScheduler) with `tick`.
    public func tick(child: Int, _ tick: UnsafePointer<stepwise_schedule_tick>, host: Host) throws(PluginError) {
        guard let f = tickChild else { throw .invalid("this scheduler has no child schedulers") }
        var error: OpaquePointer? = nil
        let status = f(childrenContext, UInt32(child), tick, &error)
        if status != STEPWISE_OK && status != STEPWISE_SKIPPED {
            let message = error.flatMap { host.raw.pointee.error_message?(host.raw, $0) }.map { String(cString: $0) }
            host.raw.pointee.error_free?(host.raw, error)
            throw PluginError(status, message ?? "child scheduler \(child) failed")
        }
    }
}

/// What a Swift scheduler implements.
public protocol SchedulerAlgorithm: ComponentAlgorithm {
    static var target: stepwise_schedule_target { get }
    static var dialect: stepwise_schedule_dialect { get }
    static var flags: UInt32 { get }

    init(host: Host, values: Values, setup: ScheduleSetup) throws(PluginError)
    func tick(_ tick: Tick) throws(PluginError)
}

extension SchedulerAlgorithm {
    public static var flags: UInt32 { 0 }
}

@usableFromInline
final class SchedulerBox: InstanceBox {
    @usableFromInline let algorithm: any SchedulerAlgorithm
    @usableFromInline init(host: Host, algorithm: any SchedulerAlgorithm) {
        self.algorithm = algorithm
        super.init(host: host, stateful: algorithm)
    }
    @usableFromInline static func from(_ p: UnsafeMutableRawPointer?) -> SchedulerBox {
        Unmanaged<SchedulerBox>.fromOpaque(p!).takeUnretainedValue()
    }
}

public typealias SchedulerCreateThunk = @convention(c) (
    UnsafePointer<stepwise_host>?, UnsafePointer<stepwise_values>?, UnsafePointer<stepwise_schedule_setup>?,
    UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<OpaquePointer?>?
) -> stepwise_status

/// The ABI glue for a scheduler type; see OptimizerExport for why two thunks are needed.
/// Inlinable so that it is specialized inside each plugin: building the descriptors of
/// many generic scheduler types then needs no runtime metadata lookups at load time.
public enum SchedulerExport: ExportGlue {
    @inlinable
    public static func create<T: SchedulerAlgorithm>(
        _: T.Type, _ host: UnsafePointer<stepwise_host>?, _ values: UnsafePointer<stepwise_values>?,
        _ setup: UnsafePointer<stepwise_schedule_setup>?,
        _ instance: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ error: UnsafeMutablePointer<OpaquePointer?>?
    ) -> stepwise_status {
        let h = Host(host!)
        return abiCall(h, error) { () throws(PluginError) in
            let algorithm = try T(host: h, values: Values(values!), setup: ScheduleSetup(setup!))
            instance!.pointee = Unmanaged.passRetained(SchedulerBox(host: h, algorithm: algorithm)).toOpaque()
            return STEPWISE_OK
        }
    }

    @inlinable
    public static func component<T: SchedulerAlgorithm>(
        _ type: T.Type, check: CheckThunk, create: SchedulerCreateThunk
    ) -> UnsafePointer<stepwise_component> {
        var api = stepwise_scheduler_api()
        api.struct_size = MemoryLayout<stepwise_scheduler_api>.size
        api.flags = T.flags
        api.target = T.target
        api.dialect = T.dialect
        api.check = check
        api.create = create
        api.destroy = InstanceBox.destroy
        api.tick = { p, tick, error in
            let box = SchedulerBox.from(p)
            return abiCall(box.host, error) { () throws(PluginError) in
                try box.algorithm.tick(Tick(tick!))
                return STEPWISE_OK
            }
        }
        api.save_state = InstanceBox.saveState
        api.load_state = InstanceBox.loadState
        api.state_version = 1
        return Descriptors.component(
            kind: STEPWISE_KIND_SCHEDULER, typeName: T.typeName, summary: T.summary,
            reference: T.reference, hyperparams: T.hyperparams,
            api: UnsafeRawPointer(Descriptors.object(api)))
    }
}
