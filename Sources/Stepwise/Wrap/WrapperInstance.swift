import StepwiseABI

/// What a wrapper's `pre_step` reported.
public struct PreStepReport: Sendable, Equatable {
    /// False when the wrapper asked to skip the optimizer step.
    public var step: Bool
    public var foundNonFinite: Bool
    /// The total gradient norm before clipping (clip by norm, finite norms only).
    public var gradNorm: Double?
}

/// One instance of a wrapper component, behind the ABI. Every call is checked against a
/// NULL function pointer; errors become `StepwiseError`s naming the component.
final class WrapperInstance {
    let component: Component
    let values: ResolvedValues
    let api: UnsafePointer<stepwise_wrapper_api>
    private(set) var instance: UnsafeMutableRawPointer
    private(set) var setup: (startIter: Int, maxIters: Int?)

    init(component: Component, values: ResolvedValues, startIter: Int = 0, maxIters: Int? = nil) throws {
        guard let api = component.wrapperAPI else {
            throw StepwiseError.plugin("\(component.qualifiedName) is not a wrapper")
        }
        guard api.pointee.create != nil, api.pointee.destroy != nil, api.pointee.loss_factor != nil,
              api.pointee.should_update != nil, api.pointee.pre_step != nil else {
            throw StepwiseError.plugin("wrapper \(component.qualifiedName) lacks a required function")
        }
        self.component = component
        self.values = values
        self.api = api
        self.setup = (startIter, maxIters)
        instance = try Self.create(api: api, component: component, values: values, startIter: startIter, maxIters: maxIters)
    }

    deinit { api.pointee.destroy?(instance) }

    private static func create(api: UnsafePointer<stepwise_wrapper_api>, component: Component, values: ResolvedValues,
                               startIter: Int, maxIters: Int?) throws -> UnsafeMutableRawPointer {
        var s = stepwise_wrapper_setup()
        s.struct_size = MemoryLayout<stepwise_wrapper_setup>.size
        s.start_iter = Int64(startIter)
        s.max_iters = Int64(maxIters ?? 0)
        var out: UnsafeMutableRawPointer? = nil
        var error: OpaquePointer? = nil
        let status = api.pointee.create!(component.host, values.raw, &s, &out, &error)
        guard status == STEPWISE_OK, let out else {
            throw HostServices.takeError(error, status: status, context: "creating wrapper \(component.typeName)")
        }
        return out
    }

    /// Rebuilds the instance for a new run setup, carrying its state (loss scale) over:
    /// the ABI hands the setup to `create` only.
    func reset(startIter: Int, maxIters: Int?) throws {
        guard setup.startIter != startIter || setup.maxIters != maxIters else { return }
        let state = try saveState()
        let fresh = try Self.create(api: api, component: component, values: values, startIter: startIter, maxIters: maxIters)
        let old = instance
        instance = fresh
        setup = (startIter, maxIters)
        api.pointee.destroy?(old)
        if let state { try loadState(state) }
    }

    func lossFactor(iter: Int) -> Double { api.pointee.loss_factor!(instance, Int64(iter)) }
    func shouldUpdate(iter: Int) -> Bool { api.pointee.should_update!(instance, Int64(iter)) }
    func shouldSync(iter: Int) -> Bool {
        api.pointee.should_sync.map { $0(instance, Int64(iter)) } ?? shouldUpdate(iter: iter)
    }
    var lossScale: Double { api.pointee.loss_scale.map { $0(instance) } ?? 1 }

    /// `groups`: the C views of the optimizer's param groups (kept by the caller, so no
    /// step allocates).
    func preStep(groups: [UnsafePointer<stepwise_group>?]) throws -> PreStepReport {
        var info = stepwise_pre_step_info()
        info.struct_size = MemoryLayout<stepwise_pre_step_info>.size
        var error: OpaquePointer? = nil
        let status = groups.withUnsafeBufferPointer { buffer -> stepwise_status in
            var set = stepwise_grad_set()
            set.struct_size = MemoryLayout<stepwise_grad_set>.size
            set.group_count = UInt32(buffer.count)
            set.groups = UnsafePointer(buffer.baseAddress)
            return api.pointee.pre_step!(instance, &set, &info, &error)
        }
        guard status == STEPWISE_OK || status == STEPWISE_SKIPPED else {
            throw HostServices.takeError(error, status: status, context: "\(component.typeName) pre_step")
        }
        return PreStepReport(step: status == STEPWISE_OK, foundNonFinite: info.found_non_finite,
                             gradNorm: info.has_grad_norm ? info.grad_norm : nil)
    }

    func postStep(stepped: Bool) throws {
        guard let post = api.pointee.post_step else { return }
        var error: OpaquePointer? = nil
        let status = post(instance, stepped, &error)
        guard status == STEPWISE_OK || status == STEPWISE_SKIPPED else {
            throw HostServices.takeError(error, status: status, context: "\(component.typeName) post_step")
        }
    }

    var stateVersion: UInt32 { api.pointee.state_version }

    /// The plugin's opaque state, or nil for wrappers without state.
    func saveState() throws -> [UInt8]? {
        guard let save = api.pointee.save_state, api.pointee.load_state != nil else { return nil }
        let sink = ByteSink()
        var error: OpaquePointer? = nil
        let status = sink.withStream { save(instance, $0, &error) }
        guard status == STEPWISE_OK else {
            throw HostServices.takeError(error, status: status, context: "saving \(component.typeName) state")
        }
        return sink.bytes
    }

    func loadState(_ bytes: [UInt8], chunk: Int = .max) throws {
        guard let load = api.pointee.load_state else {
            throw StepwiseError.state("wrapper \(component.typeName) keeps no state, but the saved state has some")
        }
        let source = ByteSource(bytes, chunk: chunk)
        var error: OpaquePointer? = nil
        let status = source.withStream { load(instance, $0, &error) }
        guard status == STEPWISE_OK else {
            throw HostServices.takeError(error, status: status, context: "loading \(component.typeName) state")
        }
    }
}
