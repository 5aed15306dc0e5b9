import StepwiseABI

/// The training loop as a hook sees it during one call.
public struct RunnerView {
    public let raw: UnsafePointer<stepwise_runner_view>
    public init(_ raw: UnsafePointer<stepwise_runner_view>) { self.raw = raw }

    public var epoch: Int { Int(raw.pointee.epoch) }
    public var iter: Int { Int(raw.pointee.iter) }
    public var innerIter: Int { Int(raw.pointee.inner_iter) }
    public var maxEpochs: Int { Int(raw.pointee.max_epochs) }
    public var maxIters: Int { Int(raw.pointee.max_iters) }
    public var itersPerEpoch: Int { Int(raw.pointee.iters_per_epoch) }
    public var isTerminal: Bool { raw.pointee.is_terminal }
    public var workDir: String { raw.pointee.work_dir.map { String(cString: $0) } ?? "." }

    /// This iteration's logged scalars (or the validation metrics), in order.
    public var scalars: [(name: String, value: Double)] {
        (0..<Int(raw.pointee.scalar_count)).compactMap { i in
            raw.pointee.scalars[i].map { (String(cString: $0.pointee.name), $0.pointee.value) }
        }
    }
    public func scalar(_ name: String) -> Double? { scalars.first { $0.name == name }?.value }

    public var paramCount: Int { Int(raw.pointee.param_count) }

    /// Calls `body` with a view of parameter `index` whose data may be read and written.
    public func withParam<R>(_ index: Int, _ body: (Param) throws(PluginError) -> R) throws(PluginError) -> R {
        guard let at = raw.pointee.param_at else { throw .invalid("the runner offers no parameter access") }
        var p = stepwise_param()
        p.struct_size = MemoryLayout<stepwise_param>.size
        guard at(raw, UInt32(index), &p) else { throw .invalid("parameter \(index) does not exist") }
        return try withUnsafePointer(to: &p) { (pointer) throws(PluginError) in try body(Param(pointer)) }
    }

    public func print(_ text: String, transient: Bool = false) { raw.pointee.print?(raw, text, transient) }
    public func requestStop(_ reason: String) { raw.pointee.request_stop?(raw, reason) }

    public func saveCheckpoint(_ path: String, host: Host) throws(PluginError) {
        guard let save = raw.pointee.save_checkpoint else { throw .invalid("the runner cannot save checkpoints") }
        var error: OpaquePointer? = nil
        let status = save(raw, path, &error)
        guard status == STEPWISE_OK else {
            let message = error.flatMap { host.raw.pointee.error_message?(host.raw, $0) }.map { String(cString: $0) }
            host.raw.pointee.error_free?(host.raw, error)
            throw PluginError(status, message ?? "saving \(path) failed")
        }
    }
}

/// What a Swift hook implements.
public protocol HookAlgorithm: ComponentAlgorithm {
    static var points: [stepwise_hook_point] { get }
    /// MMEngine's priority scale: HIGHEST 0, NORMAL 50, LOWEST 100.
    static var defaultPriority: Int32 { get }

    init(host: Host, values: Values) throws(PluginError)
    func handle(_ point: stepwise_hook_point, _ view: RunnerView) throws(PluginError)
    static var hasState: Bool { get }
}

extension HookAlgorithm {
    public static var hasState: Bool { false }
    public func saveState(_ writer: StateWriter) throws(PluginError) {}
    public func loadState(_ reader: StateReader) throws(PluginError) {}
}

@usableFromInline
final class HookBox: InstanceBox {
    @usableFromInline let algorithm: any HookAlgorithm
    @usableFromInline init(host: Host, algorithm: any HookAlgorithm) {
        self.algorithm = algorithm
        super.init(host: host, stateful: algorithm)
    }
    @usableFromInline static func from(_ p: UnsafeMutableRawPointer?) -> HookBox {
        Unmanaged<HookBox>.fromOpaque(p!).takeUnretainedValue()
    }
}

/// The ABI glue for a hook type; see OptimizerExport for why `check` and `create` are
/// per-type thunks.
public enum HookExport: ExportGlue {
    @inlinable
    public static func create<T: HookAlgorithm>(
        _: T.Type, _ host: UnsafePointer<stepwise_host>?, _ values: UnsafePointer<stepwise_values>?,
        _ instance: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ error: UnsafeMutablePointer<OpaquePointer?>?
    ) -> stepwise_status {
        let h = Host(host!)
        return abiCall(h, error) { () throws(PluginError) in
            let algorithm = try T(host: h, values: Values(values!))
            instance!.pointee = Unmanaged.passRetained(HookBox(host: h, algorithm: algorithm)).toOpaque()
            return STEPWISE_OK
        }
    }

    @inlinable
    public static func component<T: HookAlgorithm>(
        _ type: T.Type, check: CheckThunk, create: OptimizerCreateThunk
    ) -> UnsafePointer<stepwise_component> {
        var api = stepwise_hook_api()
        api.struct_size = MemoryLayout<stepwise_hook_api>.size
        api.points = T.points.reduce(0) { $0 | (1 << UInt64($1.rawValue)) }
        api.default_priority = T.defaultPriority
        api.check = check
        api.create = create
        api.destroy = InstanceBox.destroy
        api.on_event = { p, point, view, error in
            let box = HookBox.from(p)
            return abiCall(box.host, error) { () throws(PluginError) in
                try box.algorithm.handle(point, RunnerView(view!))
                return STEPWISE_OK
            }
        }
        if T.hasState {
            api.save_state = InstanceBox.saveState
            api.load_state = InstanceBox.loadState
            api.state_version = 1
        }
        return Descriptors.component(
            kind: STEPWISE_KIND_HOOK, typeName: T.typeName, summary: T.summary, reference: T.reference,
            hyperparams: T.hyperparams, api: UnsafeRawPointer(Descriptors.object(api)))
    }
}
