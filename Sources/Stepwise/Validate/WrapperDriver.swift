import Foundation
import StepwiseABI

/// The toy parameters as one param group the validator lends to wrappers, whose values
/// are empty: a wrapper never knows the optimizer it wraps.
final class LentGroup {
    let params: [Parameter]
    let cParams: UnsafeMutablePointer<stepwise_param>
    let pointers: UnsafeMutablePointer<UnsafePointer<stepwise_param>?>
    let shapes: [UnsafeMutablePointer<Int64>]
    let names: [UnsafeMutablePointer<CChar>]
    let group: UnsafeMutablePointer<stepwise_group>
    let groupPointer: UnsafeMutablePointer<UnsafePointer<stepwise_group>?>
    let emptyValues: UnsafeMutablePointer<stepwise_values>

    init(_ params: [Parameter]) {
        self.params = params
        cParams = .allocate(capacity: params.count)
        pointers = .allocate(capacity: params.count)
        shapes = params.map { p in
            let s = UnsafeMutablePointer<Int64>.allocate(capacity: max(1, p.shape.count))
            for (i, d) in p.shape.enumerated() { s[i] = Int64(d) }
            return s
        }
        names = params.map { strdup($0.name) }
        emptyValues = .allocate(capacity: 1)
        emptyValues.initialize(to: stepwise_values(struct_size: MemoryLayout<stepwise_values>.size, count: 0, items: nil))
        for (i, p) in params.enumerated() {
            var c = stepwise_param()
            c.struct_size = MemoryLayout<stepwise_param>.size
            c.name = UnsafePointer(names[i])
            c.tag = p.tag
            c.rank = UInt32(p.shape.count)
            c.shape = UnsafePointer(shapes[i])
            c.numel = Int64(p.count)
            c.dtype = STEPWISE_F32
            c.data = p.data.baseAddress
            c.grad = p.grad.baseAddress
            c.slots = SlotStorage.none
            (cParams + i).initialize(to: c)
            pointers[i] = UnsafePointer(cParams + i)
        }
        group = .allocate(capacity: 1)
        group.initialize(to: stepwise_group(struct_size: MemoryLayout<stepwise_group>.size, index: 0,
                                            values: UnsafePointer(emptyValues), param_count: UInt32(params.count),
                                            params: UnsafePointer(pointers)))
        groupPointer = .allocate(capacity: 1)
        groupPointer.initialize(to: UnsafePointer(group))
    }

    deinit {
        cParams.deallocate(); pointers.deallocate(); group.deallocate(); groupPointer.deallocate()
        emptyValues.deallocate()
        shapes.forEach { $0.deallocate() }
        names.forEach { free($0) }
    }

    func withGradSet<R>(_ body: (UnsafePointer<stepwise_grad_set>) -> R) -> R {
        var set = stepwise_grad_set(struct_size: MemoryLayout<stepwise_grad_set>.size, group_count: 1,
                                    groups: UnsafePointer(groupPointer))
        return withUnsafePointer(to: &set) { body($0) }
    }
}

/// Drives a wrapper through MMEngine's update_params sequence over 12 iterations, with a
/// plain gradient step standing in for the optimizer. A unit is one iteration.
final class WrapperDriver: Driver {
    let component: Component
    let api: UnsafePointer<stepwise_wrapper_api>
    let values: ResolvedValues
    let instance: UnsafeMutableRawPointer
    let state: StateFunctions
    let problem: ToyProblem
    let params: [Parameter]
    let lent: LentGroup
    let nonFiniteAt: Set<Int>
    let unitCount = 12
    /// Iterations after which the wrapper updated, to resume at a window's end.
    private(set) var updatedAfter: Set<Int> = []

    var resumePoint: Int { (unitCount / 2...unitCount).first { updatedAfter.contains($0 - 1) } ?? unitCount / 2 }
    var streamsState: Bool { state.streams }

    init(_ component: Component, _ spec: DriverSpec, startIter: Int) throws {
        self.component = component
        api = try required(component.wrapperAPI, "the wrapper api")
        for (name, present) in [("loss_factor", api.pointee.loss_factor != nil), ("should_update", api.pointee.should_update != nil),
                                ("pre_step", api.pointee.pre_step != nil)] where !present {
            throw CheckFailure("internal: \(name) is missing")
        }
        state = StateFunctions(component)
        problem = ToyProblem(seed: spec.seed)
        // Every parameter takes part: a wrapper sees the gradients of a whole model.
        params = problem.makeParams()
        for p in params { p.zeroGrad(); p.hasGrad = true }
        lent = LentGroup(params)
        nonFiniteAt = spec.nonFiniteAt
        var config = spec.config
        config["type"] = .string(component.qualifiedName)
        let resolved = try component.resolve(config)
        values = resolved
        var setup = stepwise_wrapper_setup(struct_size: MemoryLayout<stepwise_wrapper_setup>.size,
                                           start_iter: Int64(startIter), max_iters: 12)
        instance = try withUnsafePointer(to: &setup) { try Lifecycle.create(component, resolved, wrapperSetup: $0) }
    }

    deinit { api.pointee.destroy?(instance) }

    func run(_ i: Int) throws -> [UInt64] {
        let a = api.pointee
        let factor = try required(a.loss_factor, "loss_factor")(instance, Int64(i))
        let update = try required(a.should_update, "should_update")(instance, Int64(i))
        let sync = a.should_sync.map { $0(instance, Int64(i)) } ?? update
        // backward on loss * factor accumulates factor * ∇f into the gradients.
        for (k, p) in params.enumerated() {
            for j in 0..<p.count { p.grad[j] += Float(factor) * problem.a[k][j] * (p.data[j] - problem.c[k][j]) }
        }
        if nonFiniteAt.contains(i) { params[0].grad[0] = .nan; params[1].grad[1] = .infinity }
        var trace: [UInt64] = [factor.bits64, update ? 1 : 0, sync ? 1 : 0]
        if update {
            let data = params.map { Array($0.data) }
            var info = stepwise_pre_step_info()
            info.struct_size = MemoryLayout<stepwise_pre_step_info>.size
            var error: OpaquePointer? = nil
            let preStep = try required(a.pre_step, "pre_step")
            let status = lent.withGradSet { preStep(instance, $0, &info, &error) }
            let message = takeMessage(error)
            guard status == STEPWISE_OK || status == STEPWISE_SKIPPED else {
                throw UnitRefused(status: status, description: "pre_step at iteration \(i) failed (status \(status.rawValue)): \(message)")
            }
            if zip(params, data).contains(where: { p, before in !zip(p.data, before).allSatisfy { $0.bitPattern == $1.bitPattern } }) {
                throw CheckFailure("pre_step at iteration \(i) changed parameter data (only gradients may change)")
            }
            if info.has_grad_norm && !info.grad_norm.isFinite {
                throw CheckFailure("pre_step at iteration \(i) reported a non-finite grad_norm \(info.grad_norm) with has_grad_norm set")
            }
            let stepped = status == STEPWISE_OK
            trace += [UInt64(status.rawValue), info.found_non_finite ? 1 : 0, info.has_grad_norm ? 1 : 0, info.grad_norm.bits64]
            trace += params.flatMap { $0.grad.map(\.bits64) }
            if stepped {
                for p in params { for j in 0..<p.count where p.grad[j].isFinite { p.data[j] -= 0.05 * p.grad[j] } }
            }
            if let post = a.post_step {
                var error: OpaquePointer? = nil
                let status = post(instance, stepped, &error)
                let message = takeMessage(error)
                guard status == STEPWISE_OK || status == STEPWISE_SKIPPED else {
                    throw UnitRefused(status: status, description: "post_step at iteration \(i) failed (status \(status.rawValue)): \(message)")
                }
            }
            for p in params { p.zeroGrad() }
            updatedAfter.insert(i)
        }
        trace.append(a.loss_scale.map { $0(instance) }?.bits64 ?? 0)
        return trace + params.flatMap { $0.data.map(\.bits64) }
    }

    func checkpointBytes(writeChunk: Int) throws -> [UInt8] {
        try saveStream(writeChunk: writeChunk) + CanonicalState.encode(params)
            + params.flatMap { p in p.grad.flatMap { withUnsafeBytes(of: $0.bitPattern, Array.init) } }
    }

    func resume(from other: Driver, at unit: Int, readChunk: Int, writeChunk: Int) throws {
        guard let other = other as? WrapperDriver else { throw CheckFailure("internal: resuming across kinds") }
        for (p, q) in zip(params, other.params) {
            for j in 0..<p.count { p.data[j] = q.data[j]; p.grad[j] = q.grad[j] }
        }
        guard streamsState else { return }
        let load = loadStream(try other.saveStream(writeChunk: writeChunk), readChunk: readChunk)
        guard load.accepted else {
            throw CheckFailure("load_state refused the state save_state wrote (status \(load.status.rawValue)): \(load.message)")
        }
    }

    func saveStream(writeChunk: Int) throws -> [UInt8] { try state.save(instance, writeChunk: writeChunk) }
    func loadStream(_ bytes: [UInt8], readChunk: Int) -> StreamLoad { state.load(instance, bytes, readChunk: readChunk) }
    func loadStream(_ pattern: PatternSource) -> StreamLoad { state.load(instance, pattern) }
}
