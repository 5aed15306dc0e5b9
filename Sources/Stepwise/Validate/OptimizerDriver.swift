import Foundation
import StepwiseABI

/// Drives an optimizer through the host's `Optimizer` (param groups, slot allocation,
/// stateDict / loadStateDict) on the toy quadratic. A unit is one step.
final class OptimizerDriver: Driver {
    let component: Component
    let problem: ToyProblem
    let params: [Parameter]
    let optimizer: Optimizer
    let state: StateFunctions
    let unitCount = 24

    var resumePoint: Int { unitCount / 2 }
    var streamsState: Bool { state.streams }
    var needsClosure: Bool { optimizer.needsClosure }

    init(_ component: Component, registry: PluginRegistry, _ spec: DriverSpec) throws {
        self.component = component
        problem = ToyProblem(seed: spec.seed)
        params = problem.makeParams()
        state = StateFunctions(component)
        let api = try required(component.optimizerAPI, "the optimizer api").pointee
        var groups: [ConfigDict]? = nil
        if spec.twoGroups && api.flags & UInt32(STEPWISE_OPT_SINGLE_GROUP) == 0 {
            var first = ConfigDict(), second = ConfigDict()
            first["params"] = .list(params.prefix(3).map { .string($0.name) })
            second["params"] = .list(params.dropFirst(3).map { .string($0.name) })
            if let lr = component.hyperparam(role: STEPWISE_ROLE_LR), lr.has(STEPWISE_HP_PER_GROUP),
               let value = (spec.config[lr.name] ?? lr.defaultValue)?.double {
                second[lr.name] = .float(value / 2)
            }
            groups = [first, second]
        }
        var config = spec.config
        config["type"] = .string(component.qualifiedName)
        optimizer = try Optimizer(registry: registry, config: config, params: params, paramGroups: groups)
    }

    func run(_ i: Int) throws -> [UInt64] {
        let result: StepResult
        if needsClosure {
            result = try optimizer.step { [problem, params] in problem.evaluate(params) }
        } else {
            problem.setGrads(params, step: i)
            result = try optimizer.step()
        }
        return params.flatMap { $0.data.map(\.bits64) } + [result.stepped ? 1 : 0, result.loss?.bits64 ?? 0]
    }

    func checkpointBytes(writeChunk: Int) throws -> [UInt8] {
        var s = try optimizer.stateDict()
        if streamsState && writeChunk != .max { s.extra = try saveStream(writeChunk: writeChunk) }
        return CanonicalState.encode(s) + CanonicalState.encode(params)
    }

    func resume(from other: Driver, at unit: Int, readChunk: Int, writeChunk: Int) throws {
        guard let other = other as? OptimizerDriver else { throw CheckFailure("internal: resuming across kinds") }
        for (p, q) in zip(params, other.params) {
            for i in 0..<p.count { p.data[i] = q.data[i] }
            p.hasGrad = false
        }
        var saved = try other.optimizer.stateDict()
        if streamsState && writeChunk != .max { saved.extra = try other.saveStream(writeChunk: writeChunk) }
        do {
            try optimizer.loadStateDict(saved, extraChunk: readChunk)
        } catch {
            throw CheckFailure("loading the saved state failed: \(error)")
        }
    }

    func saveStream(writeChunk: Int) throws -> [UInt8] {
        try state.save(optimizer.instance, writeChunk: writeChunk)
    }
    func loadStream(_ bytes: [UInt8], readChunk: Int) -> StreamLoad {
        state.load(optimizer.instance, bytes, readChunk: readChunk)
    }
    func loadStream(_ pattern: PatternSource) -> StreamLoad { state.load(optimizer.instance, pattern) }

    /// The loss of the toy problem at the current parameters.
    var loss: Double { problem.loss(params) }

    /// Every byte of parameter data and slot state, for "nothing changed" comparisons.
    func snapshot() -> [UInt8] {
        var out: [UInt8] = []
        for p in params {
            out += UnsafeRawBufferPointer(p.data)
            guard let s = optimizer.states[p.name] else { continue }
            for k in 0..<s.shapes.count {
                if let t = s.tensor(k) { out += UnsafeRawBufferPointer(t) }
                if let x = s.scalar(k) { withUnsafeBytes(of: x.pointee) { out += $0 } }
            }
        }
        return out
    }

    /// One step called straight through the ABI, to see its status: the host's `step`
    /// turns statuses into errors. Grads are whatever the parameters hold (a closure
    /// optimizer gets a closure that writes `grads`); every parameter was stepped
    /// before, so none is fresh.
    func rawStep(closureGrads: (([Parameter]) -> Double)? = nil) throws -> (stepwise_status, String) {
        let step = try required(component.optimizerAPI?.pointee.step, "step")
        var last = (STEPWISE_OK, "")
        for group in optimizer.paramGroups {
            for (i, p) in group.params.enumerated() {
                let storage = optimizer.states[p.name]
                let active = p.hasGrad || closureGrads != nil
                group.cParams[i].grad = active ? p.grad.baseAddress : nil
                group.cParams[i].slots = storage.map { UnsafePointer($0.pointers) } ?? SlotStorage.none
                group.cParams[i].flags = storage == nil ? UInt32(STEPWISE_PARAM_STATE_FRESH) : 0
            }
            var info = stepwise_step_info()
            info.struct_size = MemoryLayout<stepwise_step_info>.size
            var error: OpaquePointer? = nil
            let status: stepwise_status
            if let closureGrads {
                let box = RawClosure { closureGrads(group.params) }
                status = box.lend { step(optimizer.instance, group.cGroup, $0, &info, &error) }
            } else {
                status = step(optimizer.instance, group.cGroup, nil, &info, &error)
            }
            last = (status, takeMessage(error))
            if status != STEPWISE_OK && status != STEPWISE_SKIPPED { return last }
        }
        return last
    }
}

/// A loss closure lent straight through the ABI.
final class RawClosure {
    let body: () -> Double
    init(_ body: @escaping () -> Double) { self.body = body }

    func lend<R>(_ call: (UnsafePointer<stepwise_closure>) -> R) -> R {
        var c = stepwise_closure()
        c.struct_size = MemoryLayout<stepwise_closure>.size
        c.ctx = Unmanaged.passUnretained(self).toOpaque()
        c.evaluate = { closure, loss, _ in
            guard let closure, let ctx = closure.pointee.ctx else { return STEPWISE_INTERNAL }
            loss?.pointee = Unmanaged<RawClosure>.fromOpaque(ctx).takeUnretainedValue().body()
            return STEPWISE_OK
        }
        return withUnsafePointer(to: &c) { call($0) }
    }
}

/// A byte encoding of optimizer state in which equal states, and only those, are equal
/// (floats by bit pattern, so NaNs compare too).
enum CanonicalState {
    static func encode(_ s: OptimizerState) -> [UInt8] {
        var out: [UInt8] = []
        func put(_ string: String) { out += Array(string.utf8) + [0] }
        func put(_ x: UInt64) { withUnsafeBytes(of: x.littleEndian) { out += $0 } }
        put(s.type)
        for t in s.tensors {
            put(t.key); put(t.shape.map(String.init).joined(separator: "x"))
            for v in t.values { put(v.bits64) }
        }
        for x in s.scalars { put(x.key); put(x.value.bits64) }
        put(s.initialized.joined(separator: ","))
        put(UInt64(s.extraVersion))
        if let extra = s.extra { put(UInt64(extra.count)); out += extra } else { put("no-extra") }
        for g in s.groups { put(g.entries.map { "\($0.key)=\(ValueCodec.render($0.value))" }.joined(separator: ";")) }
        return out
    }

    static func encode(_ params: [Parameter]) -> [UInt8] {
        params.flatMap { p in p.data.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
    }
}
