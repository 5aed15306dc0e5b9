import StepwiseABI

/// One tensor of a param group during a step.
public struct Param {
    public let raw: UnsafePointer<stepwise_param>
    public init(_ raw: UnsafePointer<stepwise_param>) { self.raw = raw }

    public var name: String { String(cString: raw.pointee.name) }
    public var tag: stepwise_param_tag { raw.pointee.tag }
    public var count: Int { Int(raw.pointee.numel) }
    public var shape: [Int] { (0..<Int(raw.pointee.rank)).map { Int(raw.pointee.shape[$0]) } }
    public var data: UnsafeMutablePointer<Float> { raw.pointee.data }
    public var grad: UnsafeMutablePointer<Float>? { raw.pointee.grad }
    public var hasGrad: Bool { raw.pointee.grad != nil }
    /// True on the parameter's first step: its slots are zero and must be initialized.
    public var isFresh: Bool { raw.pointee.flags & UInt32(STEPWISE_PARAM_STATE_FRESH) != 0 }
    /// A TENSOR slot's storage, or nil when absent for this parameter.
    public func tensor(_ slot: Int) -> UnsafeMutablePointer<Float>? {
        raw.pointee.slots[slot]?.assumingMemoryBound(to: Float.self)
    }
    /// A SCALAR slot's storage.
    public func scalar(_ slot: Int) -> UnsafeMutablePointer<Double> {
        raw.pointee.slots[slot]!.assumingMemoryBound(to: Double.self)
    }
}

/// A param group during a step: its current hyperparameters and its tensors.
public struct Group {
    public let raw: UnsafePointer<stepwise_group>
    public init(_ raw: UnsafePointer<stepwise_group>) { self.raw = raw }

    public var index: Int { Int(raw.pointee.index) }
    public var values: Values { Values(raw.pointee.values) }
    public var count: Int { Int(raw.pointee.param_count) }
    public subscript(i: Int) -> Param { Param(raw.pointee.params[i]!) }

    /// Calls `body` for every parameter that has a gradient this step.
    @inline(__always)
    public func forEachWithGrad(_ body: (Param) throws(PluginError) -> Void) throws(PluginError) {
        for i in 0..<count {
            let p = self[i]
            if p.hasGrad { try body(p) }
        }
    }

    /// Splits the elements of every parameter that has a gradient into chunks of about
    /// `grain` elements, runs them on the host's pool, and calls `body(param, begin, end)`
    /// for each piece; a piece never crosses a tensor boundary. Allocation-free, so one
    /// call per group per step costs nothing per tensor (1000 small tensors are batched
    /// into a few chunks).
    public func parallelElements(host: Host, grain: Int = 1 << 16,
                                 _ body: (Param, Int, Int) -> Void) {
        var total = 0
        for i in 0..<count where self[i].hasGrad { total += self[i].count }
        guard total > 0 else { return }
        let chunks = host.threadCount > 1 ? max(1, min(host.threadCount * 4, total / grain)) : 1
        let per = (total + chunks - 1) / chunks
        host.parallelFor(count: chunks, grain: 1) { first, last in
            for chunk in first..<last {
                // Walk the tensors to the chunk's start: O(tensors) per chunk, no tables.
                let lo = chunk * per, hi = min(total, lo + per)
                var base = 0
                for i in 0..<count {
                    let p = self[i]
                    guard p.hasGrad else { continue }
                    let n = p.count
                    let b = max(lo, base), e = min(hi, base + n)
                    if b < e { body(p, b - base, e - base) }
                    base += n
                    if base >= hi { break }
                }
            }
        }
    }
}

/// What a Swift optimizer implements. One type per algorithm, one file each.
public protocol OptimizerAlgorithm: ComponentAlgorithm {
    static var slots: [Slot] { get }
    static var flags: UInt32 { get }

    init(host: Host, defaults: Values) throws(PluginError)
    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome
    func slotShape(_ slot: Int, param: Param) -> [Int64]?
    /// Opaque state beyond the slots; only for algorithms that declare `hasExtraState`.
    static var hasExtraState: Bool { get }
}

public struct StepOutcome: Sendable {
    public var status: stepwise_status
    public var loss: Double?
    public init(_ status: stepwise_status = STEPWISE_OK, loss: Double? = nil) {
        self.status = status; self.loss = loss
    }
    public static let stepped = StepOutcome()
}

extension OptimizerAlgorithm {
    public static var flags: UInt32 { 0 }
    public static var slots: [Slot] { [] }
    public func slotShape(_ slot: Int, param: Param) -> [Int64]? { param.shape.map(Int64.init) }
    public static var hasExtraState: Bool { false }
    public func saveState(_ writer: StateWriter) throws(PluginError) {}
    public func loadState(_ reader: StateReader) throws(PluginError) {}
}

/// Holds an instance behind the ABI's `void *`, with the host it was created with.
@usableFromInline
final class OptimizerBox: InstanceBox {
    @usableFromInline let algorithm: any OptimizerAlgorithm
    @usableFromInline init(host: Host, algorithm: any OptimizerAlgorithm) {
        self.algorithm = algorithm
        super.init(host: host, stateful: algorithm)
    }
    @usableFromInline static func from(_ p: UnsafeMutableRawPointer?) -> OptimizerBox {
        Unmanaged<OptimizerBox>.fromOpaque(p!).takeUnretainedValue()
    }
}

public typealias CheckThunk = @convention(c) (
    UnsafePointer<stepwise_host>?, UnsafePointer<stepwise_values>?, UnsafeMutablePointer<OpaquePointer?>?
) -> stepwise_status

public typealias OptimizerCreateThunk = @convention(c) (
    UnsafePointer<stepwise_host>?, UnsafePointer<stepwise_values>?,
    UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<OpaquePointer?>?
) -> stepwise_status

/// The ABI glue for an optimizer type. The C ABI's `check` and `create` carry no
/// component identity, so each component passes two one-line thunks that name its type:
///
///     OptimizerExport.component(Adam.self,
///         check: { OptimizerExport.check(Adam.self, $0, $1, $2) },
///         create: { OptimizerExport.create(Adam.self, $0, $1, $2, $3) })
public enum OptimizerExport: ExportGlue {
    @inlinable
    public static func create<T: OptimizerAlgorithm>(
        _: T.Type, _ host: UnsafePointer<stepwise_host>?, _ values: UnsafePointer<stepwise_values>?,
        _ instance: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ error: UnsafeMutablePointer<OpaquePointer?>?
    ) -> stepwise_status {
        let h = Host(host!)
        return abiCall(h, error) { () throws(PluginError) in
            let algorithm = try T(host: h, defaults: Values(values!))
            instance!.pointee = Unmanaged.passRetained(OptimizerBox(host: h, algorithm: algorithm)).toOpaque()
            return STEPWISE_OK
        }
    }

    @inlinable
    public static func component<T: OptimizerAlgorithm>(
        _ type: T.Type, check: CheckThunk, create: OptimizerCreateThunk
    ) -> UnsafePointer<stepwise_component> {
        var api = stepwise_optimizer_api()
        api.struct_size = MemoryLayout<stepwise_optimizer_api>.size
        api.flags = T.flags
        api.slot_count = UInt32(T.slots.count)
        api.slots = Descriptors.pointers(T.slots.map { s in
            var c = stepwise_slot()
            c.struct_size = MemoryLayout<stepwise_slot>.size
            c.name = Descriptors.string(s.name)
            c.kind = s.kind
            c.doc = Descriptors.string(s.doc)
            return Descriptors.object(c)
        })
        api.check = check
        api.create = create
        api.destroy = InstanceBox.destroy
        api.slot_shape = { p, slot, param, shape, rank in
            let box = OptimizerBox.from(p)
            guard let dims = box.algorithm.slotShape(Int(slot), param: Param(param!)) else { return false }
            for (i, d) in dims.prefix(Int(STEPWISE_MAX_RANK)).enumerated() { shape![i] = d }
            rank!.pointee = UInt32(min(dims.count, Int(STEPWISE_MAX_RANK)))
            return true
        }
        api.step = { p, group, closure, info, error in
            let box = OptimizerBox.from(p)
            return abiCall(box.host, error) { () throws(PluginError) in
                let outcome = try box.algorithm.step(Group(group!), closure: closure)
                if let loss = outcome.loss, let info {
                    info.pointee.has_loss = true
                    info.pointee.loss = loss
                }
                return outcome.status
            }
        }
        if T.hasExtraState {
            api.save_state = InstanceBox.saveState
            api.load_state = InstanceBox.loadState
            api.state_version = 1
        }
        return Descriptors.component(
            kind: STEPWISE_KIND_OPTIMIZER, typeName: T.typeName, summary: T.summary,
            reference: T.reference, hyperparams: T.hyperparams,
            api: UnsafeRawPointer(Descriptors.object(api)))
    }
}
