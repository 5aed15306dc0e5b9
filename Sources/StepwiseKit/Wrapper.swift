import StepwiseABI

/// The run a wrapper was built into, copied at create.
public struct WrapperSetup: Sendable {
    /// The iteration the run (or a resumed run) starts at.
    public var startIter: Int
    /// Total iterations, or nil when unknown (then there is no short last window).
    public var maxIters: Int?

    @usableFromInline init(_ s: UnsafePointer<stepwise_wrapper_setup>) {
        startIter = Int(s.pointee.start_iter)
        maxIters = s.pointee.max_iters > 0 ? Int(s.pointee.max_iters) : nil
    }
}

/// Every gradient the wrapped optimizer is about to see, as its param groups.
public struct GradSet {
    public let raw: UnsafePointer<stepwise_grad_set>
    public init(_ raw: UnsafePointer<stepwise_grad_set>) { self.raw = raw }

    public var groupCount: Int { Int(raw.pointee.group_count) }
    public subscript(i: Int) -> Group { Group(raw.pointee.groups[i]!) }

    /// Calls `body` for every parameter that has a gradient, group by group.
    @inline(__always)
    public func forEachGrad(_ body: (Param) throws(PluginError) -> Void) throws(PluginError) {
        for g in 0..<groupCount { try self[g].forEachWithGrad(body) }
    }

    /// The number of gradient elements in the set.
    public var elementCount: Int {
        var n = 0
        for g in 0..<groupCount {
            let group = self[g]
            for i in 0..<group.count where group[i].hasGrad { n += group[i].count }
        }
        return n
    }
}

/// What `preStep` decided.
public struct PreStepOutcome: Sendable {
    /// True: the optimizer steps. False: the step is skipped (STEPWISE_SKIPPED).
    public var step: Bool
    /// A NaN or infinity was seen in a gradient.
    public var foundNonFinite: Bool
    /// The total norm before clipping, when clipped by norm and finite.
    public var gradNorm: Double?

    public init(step: Bool, foundNonFinite: Bool = false, gradNorm: Double? = nil) {
        self.step = step; self.foundNonFinite = foundNonFinite; self.gradNorm = gradNorm
    }
}

/// What a Swift wrapper implements (sdk/include/stepwise/wrapper.h): "how to step"
/// around any optimizer. One type per wrapper.
public protocol WrapperAlgorithm: ComponentAlgorithm {
    static var flags: UInt32 { get }

    init(host: Host, values: Values, setup: WrapperSetup) throws(PluginError)
    /// The factor the loss of iteration `iter` is multiplied by before backward.
    func lossFactor(iter: Int) -> Double
    /// Whether iteration `iter` ends an accumulation window.
    func shouldUpdate(iter: Int) -> Bool
    /// Whether gradients must be synchronized on iteration `iter`.
    func shouldSync(iter: Int) -> Bool
    /// Unscales, checks and clips the gradients; decides whether the optimizer steps.
    func preStep(_ grads: GradSet) throws(PluginError) -> PreStepOutcome
    func postStep(stepped: Bool) throws(PluginError)
    var lossScale: Double { get }
    /// Opaque state (loss scaler); only for wrappers that declare `hasState`.
    static var hasState: Bool { get }
}

extension WrapperAlgorithm {
    public static var flags: UInt32 { 0 }
    public func shouldSync(iter: Int) -> Bool { shouldUpdate(iter: iter) }
    public func postStep(stepped: Bool) throws(PluginError) {}
    public var lossScale: Double { 1 }
    public static var hasState: Bool { false }
    public func saveState(_ writer: StateWriter) throws(PluginError) {}
    public func loadState(_ reader: StateReader) throws(PluginError) {}
}

@usableFromInline
final class WrapperBox: InstanceBox {
    @usableFromInline let algorithm: any WrapperAlgorithm
    @usableFromInline init(host: Host, algorithm: any WrapperAlgorithm) {
        self.algorithm = algorithm
        super.init(host: host, stateful: algorithm)
    }
    @usableFromInline static func from(_ p: UnsafeMutableRawPointer?) -> WrapperBox {
        Unmanaged<WrapperBox>.fromOpaque(p!).takeUnretainedValue()
    }
}

public typealias WrapperCreateThunk = @convention(c) (
    UnsafePointer<stepwise_host>?, UnsafePointer<stepwise_values>?, UnsafePointer<stepwise_wrapper_setup>?,
    UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<OpaquePointer?>?
) -> stepwise_status

/// The ABI glue for a wrapper type; see OptimizerExport for why two thunks are needed.
public enum WrapperExport: ExportGlue {
    @inlinable
    public static func create<T: WrapperAlgorithm>(
        _: T.Type, _ host: UnsafePointer<stepwise_host>?, _ values: UnsafePointer<stepwise_values>?,
        _ setup: UnsafePointer<stepwise_wrapper_setup>?,
        _ instance: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ error: UnsafeMutablePointer<OpaquePointer?>?
    ) -> stepwise_status {
        let h = Host(host!)
        return abiCall(h, error) { () throws(PluginError) in
            guard let setup else { throw .invalid("\(T.typeName): no wrapper setup was given") }
            let algorithm = try T(host: h, values: Values(values!), setup: WrapperSetup(setup))
            instance!.pointee = Unmanaged.passRetained(WrapperBox(host: h, algorithm: algorithm)).toOpaque()
            return STEPWISE_OK
        }
    }

    @inlinable
    public static func component<T: WrapperAlgorithm>(
        _ type: T.Type, check: CheckThunk, create: WrapperCreateThunk
    ) -> UnsafePointer<stepwise_component> {
        var api = stepwise_wrapper_api()
        api.struct_size = MemoryLayout<stepwise_wrapper_api>.size
        api.flags = T.flags
        api.check = check
        api.create = create
        api.destroy = InstanceBox.destroy
        api.loss_factor = { p, iter in WrapperBox.from(p).algorithm.lossFactor(iter: Int(iter)) }
        api.should_update = { p, iter in WrapperBox.from(p).algorithm.shouldUpdate(iter: Int(iter)) }
        api.should_sync = { p, iter in WrapperBox.from(p).algorithm.shouldSync(iter: Int(iter)) }
        api.pre_step = { p, grads, info, error in
            let box = WrapperBox.from(p)
            return abiCall(box.host, error) { () throws(PluginError) in
                guard let grads else { throw .invalid("pre_step needs a grad set") }
                let outcome = try box.algorithm.preStep(GradSet(grads))
                if let info {
                    info.pointee.found_non_finite = outcome.foundNonFinite
                    info.pointee.has_grad_norm = outcome.gradNorm != nil
                    info.pointee.grad_norm = outcome.gradNorm ?? 0
                }
                return outcome.step ? STEPWISE_OK : STEPWISE_SKIPPED
            }
        }
        api.post_step = { p, stepped, error in
            let box = WrapperBox.from(p)
            return abiCall(box.host, error) { () throws(PluginError) in
                try box.algorithm.postStep(stepped: stepped)
                return STEPWISE_OK
            }
        }
        api.loss_scale = { p in WrapperBox.from(p).algorithm.lossScale }
        if T.hasState {
            api.save_state = InstanceBox.saveState
            api.load_state = InstanceBox.loadState
            api.state_version = 1
        }
        return Descriptors.component(
            kind: STEPWISE_KIND_WRAPPER, typeName: T.typeName, summary: T.summary,
            reference: T.reference, hyperparams: T.hyperparams,
            api: UnsafeRawPointer(Descriptors.object(api)))
    }
}
