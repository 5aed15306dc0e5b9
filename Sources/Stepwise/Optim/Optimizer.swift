import Foundation
import StepwiseABI

/// One param group: its tensors and its current hyperparameters.
public final class ParamGroup: @unchecked Sendable {
    public let index: Int
    public let params: [Parameter]
    public let values: ResolvedValues

    // The C view of this group handed to `step`, allocated once.
    let cParams: UnsafeMutablePointer<stepwise_param>
    let cParamPointers: UnsafeMutablePointer<UnsafePointer<stepwise_param>?>
    let cGroup: UnsafeMutablePointer<stepwise_group>
    /// Each parameter's state, aligned with `params`, so a step looks nothing up by name
    /// (1000 small tensors would otherwise spend more time hashing names than stepping).
    var slotCache: [SlotStorage?]
    /// Whether the last `prepare` saw a parameter whose state is still fresh.
    var hasFresh = true
    /// Every parameter has state and none is fresh: `prepare` only updates gradients.
    var settled = false

    init(index: Int, params: [Parameter], values: ResolvedValues) {
        self.index = index
        self.params = params
        self.values = values
        slotCache = Array(repeating: nil, count: params.count)
        let n = max(params.count, 1)
        cParams = .allocate(capacity: n)
        cParamPointers = .allocate(capacity: n)
        for (i, p) in params.enumerated() {
            var c = stepwise_param()
            c.struct_size = MemoryLayout<stepwise_param>.size
            c.name = UnsafePointer(strdup(p.name))
            c.tag = p.tag
            c.rank = UInt32(p.shape.count)
            let shape = UnsafeMutablePointer<Int64>.allocate(capacity: max(p.shape.count, 1))
            for (k, d) in p.shape.enumerated() { shape[k] = Int64(d) }
            c.shape = UnsafePointer(shape)
            c.numel = Int64(p.count)
            c.dtype = STEPWISE_F32
            c.data = p.data.baseAddress
            (cParams + i).initialize(to: c)
            cParamPointers[i] = UnsafePointer(cParams + i)
        }
        cGroup = .allocate(capacity: 1)
        var g = stepwise_group()
        g.struct_size = MemoryLayout<stepwise_group>.size
        g.index = UInt32(index)
        g.values = values.raw
        g.param_count = UInt32(params.count)
        g.params = UnsafePointer(cParamPointers)
        cGroup.initialize(to: g)
    }

    deinit {
        for i in 0..<params.count {
            free(UnsafeMutableRawPointer(mutating: cParams[i].name))
            UnsafeMutablePointer(mutating: cParams[i].shape)?.deallocate()
        }
        cParams.deallocate()
        cParamPointers.deallocate()
        cGroup.deallocate()
    }

    /// The value of the hyperparameter with `role` (MOMENTUM on a vector: element 0,
    /// Adam's betas[0]), or nil when the optimizer has none.
    public func get(role: stepwise_role) -> Double? {
        guard let name = values.name(for: role), let i = values.index(of: name) else { return nil }
        return values.double(at: i)
    }

    public func set(role: stepwise_role, _ x: Double) {
        guard let name = values.name(for: role), let i = values.index(of: name) else { return }
        values.setDouble(at: i, x)
    }

    public subscript(name: String) -> ConfigValue? { values[name] }
}

/// What one `step` did.
public struct StepResult: Sendable {
    /// True when at least one group's step changed something.
    public var stepped: Bool
    /// The closure's first loss (closure optimizers).
    public var loss: Double?
}

/// An optimizer built from a config, driving a plugin component over host-owned
/// parameters and state. One ABI call per param group per step.
public final class Optimizer: @unchecked Sendable {
    public let component: Component
    public let defaults: ResolvedValues
    public let paramGroups: [ParamGroup]
    public var params: [Parameter] { paramGroups.flatMap(\.params) }

    let api: UnsafePointer<stepwise_optimizer_api>
    let instance: UnsafeMutableRawPointer
    var states: [String: SlotStorage] = [:]
    /// Where the parameters' slot tables and SCALAR slots live, packed.
    let scalarArena = ScalarArena()
    /// Where small parameters' tensor slots live, contiguous per slot.
    let tensorArena = TensorArena()

    /// Builds `config` (`{type: Adam, lr: 1e-3, ...}`) over `params`. `paramGroups`, as in
    /// torch, lists dicts with "params" (parameter names) and per-group overrides; without
    /// it one group holds every parameter.
    public init(registry: PluginRegistry, config: ConfigDict, params: [Parameter],
                paramGroups groupConfigs: [ConfigDict]? = nil) throws {
        component = try registry.component(.optimizer, for: config)
        guard let api = component.optimizerAPI else { throw StepwiseError.plugin("\(component.typeName) has no optimizer api") }
        self.api = api
        defaults = try component.resolve(config)

        var groups: [ParamGroup] = []
        if let groupConfigs {
            let byName = Dictionary(params.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            var used = Set<String>()
            for (i, g) in groupConfigs.enumerated() {
                guard let names = g["params"]?.list?.compactMap(\.string), !names.isEmpty else {
                    throw StepwiseError.config("param group \(i) has no 'params' list of parameter names\(g.origin.map { " in \($0)" } ?? "")")
                }
                let members = try names.map { name -> Parameter in
                    guard let p = byName[name] else {
                        throw StepwiseError.config("param group \(i) names unknown parameter '\(name)'")
                    }
                    guard used.insert(name).inserted else {
                        throw StepwiseError.config("some parameters appear in more than one parameter group ('\(name)')")
                    }
                    return p
                }
                let values = try component.resolve(g, ignoring: ["type", "params"], overriding: defaults)
                groups.append(ParamGroup(index: i, params: members, values: values))
            }
        } else {
            groups = [ParamGroup(index: 0, params: params, values: defaults.copy())]
        }
        if api.pointee.flags & UInt32(STEPWISE_OPT_SINGLE_GROUP) != 0 && groups.count > 1 {
            throw StepwiseError.config("\(component.typeName) doesn't support per-parameter options (parameter groups)")
        }
        paramGroups = groups

        var out: UnsafeMutableRawPointer? = nil
        var error: OpaquePointer? = nil
        let status = api.pointee.create!(component.host, defaults.raw, &out, &error)
        guard status == STEPWISE_OK, let out else {
            throw HostServices.takeError(error, status: status, context: "creating optimizer \(component.typeName)")
        }
        instance = out
    }

    deinit {
        api.pointee.destroy?(instance)
    }

    public var needsClosure: Bool { api.pointee.flags & UInt32(STEPWISE_OPT_NEEDS_CLOSURE) != 0 }

    /// Runs one optimization step over every group. `closure` (closure optimizers) must
    /// re-evaluate the loss and write every parameter's gradient, and returns the loss.
    @discardableResult
    public func step(closure: (() throws -> Double)? = nil) throws -> StepResult {
        if needsClosure && closure == nil {
            throw StepwiseError.usage("\(component.typeName) needs a closure that re-evaluates the loss")
        }
        var result = StepResult(stepped: false, loss: nil)
        for group in paramGroups {
            try prepare(group, closure: closure != nil)
            var info = stepwise_step_info()
            info.struct_size = MemoryLayout<stepwise_step_info>.size
            var error: OpaquePointer? = nil
            let status: stepwise_status
            if let closure {
                let context = ClosureContext(closure, params: group.params)
                status = withClosure(context) { c in api.pointee.step!(instance, group.cGroup, c, &info, &error) }
                if let thrown = context.thrown { ErrorBox.release(error); throw thrown }
            } else {
                status = api.pointee.step!(instance, group.cGroup, nil, &info, &error)
            }
            guard status == STEPWISE_OK || status == STEPWISE_SKIPPED else {
                throw HostServices.takeError(error, status: status, context: "\(component.typeName) step, param group \(group.index)")
            }
            if status == STEPWISE_OK {
                result.stepped = true
                if group.hasFresh {
                    let cache = group.slotCache
                    for (i, p) in group.params.enumerated() where p.hasGrad || closure != nil { cache[i]?.fresh = false }
                }
            }
            if info.has_loss && result.loss == nil { result.loss = info.loss }
        }
        return result
    }

    /// Marks every gradient absent (torch's `zero_grad(set_to_none=True)`); with
    /// `setToNone: false`, zeroes them and keeps them present.
    public func zeroGrad(setToNone: Bool = true) {
        for p in params {
            if setToNone { p.hasGrad = false } else { p.zeroGrad(); p.hasGrad = true }
        }
    }

    /// Points the group's C params at this step's gradients and state, allocating the
    /// state of parameters stepped for the first time.
    private func prepare(_ group: ParamGroup, closure: Bool) throws {
        let params = group.params
        // Steady state (every parameter has settled state): only the gradients can change.
        // Reading through the buffer borrows each parameter instead of retaining it.
        if group.settled && !closure {
            params.withUnsafeBufferPointer { ps in
                for i in ps.indices { group.cParams[i].grad = ps[i].hasGrad ? ps[i].grad.baseAddress : nil }
            }
            return
        }
        // Locals, so the loop neither re-checks exclusive access to the group's properties
        // nor copies the cache unless a parameter gets its state now.
        var cache = group.slotCache
        var added = false, fresh = false
        for i in params.indices {
            let p = params[i]
            let active = p.hasGrad || closure
            if closure && !p.hasGrad { p.zeroGrad(); p.hasGrad = true }
            var state = cache[i]
            if state == nil {
                state = states[p.name]
                if active && state == nil {
                    state = try SlotStorage(api: api, instance: instance, param: group.cParams + i, count: p.count,
                                            scalars: scalarArena, tensors: tensorArena)
                    states[p.name] = state
                }
                cache[i] = state
                added = true
            }
            let c = group.cParams + i
            c.pointee.grad = active ? p.grad.baseAddress : nil
            if let state {
                c.pointee.slots = UnsafePointer(state.pointers)
                c.pointee.flags = state.fresh ? UInt32(STEPWISE_PARAM_STATE_FRESH) : 0
                fresh = fresh || state.fresh
            } else {
                c.pointee.slots = SlotStorage.none
                c.pointee.flags = UInt32(STEPWISE_PARAM_STATE_FRESH)
            }
        }
        if added { group.slotCache = cache }
        group.hasFresh = fresh
        group.settled = !fresh && !cache.contains { $0 == nil }
    }
}

/// The per-parameter state a plugin declared: one buffer per slot, host-owned.
final class SlotStorage {
    // Slots of a parameter with no state yet; a plugin never reads them (it has no gradient).
    nonisolated(unsafe) static let none: UnsafePointer<UnsafeMutableRawPointer?> = {
        let p = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 64)
        p.initialize(repeating: nil, count: 64)
        return UnsafePointer(p)
    }()

    let pointers: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let shapes: [[Int]?]   // nil: absent for this parameter; [] for scalars
    let kinds: [stepwise_slot_kind]
    /// The arena blocks holding this parameter's slot table and scalars.
    private let blocks: [ScalarArena.Block]
    /// Arena blocks holding small tensor slots; the tensor slots allocated on their own.
    private let tensorBlocks: [TensorArena.Block]
    private let ownedSlots: [Int]
    var fresh = true

    init(api: UnsafePointer<stepwise_optimizer_api>, instance: UnsafeMutableRawPointer,
         param: UnsafePointer<stepwise_param>, count: Int, scalars: ScalarArena,
         tensors: TensorArena) throws {
        let n = Int(api.pointee.slot_count)
        let (table, tableBlock) = scalars.words(max(n, 1))
        pointers = table.bindMemory(to: UnsafeMutableRawPointer?.self, capacity: max(n, 1))
        var shapes: [[Int]?] = []
        var kinds: [stepwise_slot_kind] = []
        var held: [ScalarArena.Block] = [tableBlock]
        var pooled: [TensorArena.Block] = [], owned: [Int] = []
        for s in 0..<n {
            let kind = api.pointee.slots[s]!.pointee.kind
            kinds.append(kind)
            if kind == STEPWISE_SLOT_SCALAR {
                let (cell, block) = scalars.words(1)
                pointers[s] = UnsafeMutableRawPointer(cell.bindMemory(to: Double.self, capacity: 1))
                if !held.contains(where: { $0 === block }) { held.append(block) }
                shapes.append([])
                continue
            }
            var dims = [Int64](repeating: 0, count: Int(STEPWISE_MAX_RANK))
            var rank: UInt32 = 0
            var shape: [Int]? = (0..<Int(param.pointee.rank)).map { Int(param.pointee.shape[$0]) }
            if let slotShape = api.pointee.slot_shape {
                shape = slotShape(instance, UInt32(s), param, &dims, &rank)
                    ? dims.prefix(Int(min(rank, STEPWISE_MAX_RANK))).map(Int.init) : nil
            }
            if let shape {
                guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) <= max(count, 1) * 4 + 64 else {
                    throw StepwiseError.plugin("slot \(s) of \(String(cString: param.pointee.name)) has an implausible shape \(shape)")
                }
                if let (room, block) = tensors.floats(shape.reduce(1, *), slot: s) {
                    pointers[s] = room
                    pooled.append(block)
                } else {
                    pointers[s] = UnsafeMutableRawPointer(alignedFloats(shape.reduce(1, *)).baseAddress)
                    owned.append(s)
                }
            } else {
                pointers[s] = nil
            }
            shapes.append(shape)
        }
        self.shapes = shapes
        self.kinds = kinds
        blocks = held
        tensorBlocks = pooled
        ownedSlots = owned
    }

    deinit {
        for s in ownedSlots { free(pointers[s]) }
    }

    func tensor(_ s: Int) -> UnsafeMutableBufferPointer<Float>? {
        guard let shape = shapes[s], kinds[s] == STEPWISE_SLOT_TENSOR, let p = pointers[s] else { return nil }
        return UnsafeMutableBufferPointer(start: p.assumingMemoryBound(to: Float.self), count: shape.reduce(1, *))
    }

    func scalar(_ s: Int) -> UnsafeMutablePointer<Double>? {
        guard kinds[s] == STEPWISE_SLOT_SCALAR else { return nil }
        return pointers[s]?.assumingMemoryBound(to: Double.self)
    }
}

/// Lends a Swift loss closure to a plugin as a `stepwise_closure`.
final class ClosureContext {
    let body: () throws -> Double
    let params: [Parameter]
    var thrown: Error?

    init(_ body: @escaping () throws -> Double, params: [Parameter]) {
        self.body = body
        self.params = params
    }
}

private func withClosure<R>(_ context: ClosureContext, _ call: (UnsafePointer<stepwise_closure>) -> R) -> R {
    var c = stepwise_closure()
    c.struct_size = MemoryLayout<stepwise_closure>.size
    c.ctx = Unmanaged.passUnretained(context).toOpaque()
    c.evaluate = { closure, loss, errorOut in
        guard let closure, let ctx = closure.pointee.ctx else { return STEPWISE_INTERNAL }
        let context = Unmanaged<ClosureContext>.fromOpaque(ctx).takeUnretainedValue()
        do {
            let value = try context.body()
            for p in context.params where !p.hasGrad { p.zeroGrad(); p.hasGrad = true }
            loss?.pointee = value
            return STEPWISE_OK
        } catch {
            context.thrown = error
            errorOut?.pointee = ErrorBox.make(STEPWISE_INTERNAL, "the loss closure failed: \(error)")
            return STEPWISE_INTERNAL
        }
    }
    return withUnsafePointer(to: &c) { call($0) }
}
