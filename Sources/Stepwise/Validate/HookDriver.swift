import Foundation
import StepwiseABI

/// Drives a hook through MMEngine's loop (2 epochs of 3 iterations, a validation after
/// each epoch) with its own runner view: parameters a toy "training" moves, logged
/// scalars, metrics, a checkpoint function writing small files into the work folder. A
/// unit is one hook point, delivered when the hook subscribes to it.
final class HookDriver: Driver {
    static let epochs = 2, itersPerEpoch = 3

    struct Event {
        let point: stepwise_hook_point
        let epoch: Int, iter: Int
    }

    static let events: [Event] = {
        var out = [Event(point: STEPWISE_HOOK_BEFORE_RUN, epoch: 0, iter: 0)]
        for e in 0..<epochs {
            out.append(Event(point: STEPWISE_HOOK_BEFORE_TRAIN_EPOCH, epoch: e, iter: e * itersPerEpoch))
            for i in 0..<itersPerEpoch {
                out.append(Event(point: STEPWISE_HOOK_BEFORE_TRAIN_ITER, epoch: e, iter: e * itersPerEpoch + i))
                out.append(Event(point: STEPWISE_HOOK_AFTER_TRAIN_ITER, epoch: e, iter: e * itersPerEpoch + i))
            }
            out.append(Event(point: STEPWISE_HOOK_AFTER_TRAIN_EPOCH, epoch: e, iter: (e + 1) * itersPerEpoch))
            out.append(Event(point: STEPWISE_HOOK_BEFORE_VAL_EPOCH, epoch: e, iter: (e + 1) * itersPerEpoch))
            out.append(Event(point: STEPWISE_HOOK_AFTER_VAL_EPOCH, epoch: e, iter: (e + 1) * itersPerEpoch))
        }
        out.append(Event(point: STEPWISE_HOOK_AFTER_RUN, epoch: epochs - 1, iter: epochs * itersPerEpoch))
        return out
    }()

    let component: Component
    let api: UnsafePointer<stepwise_hook_api>
    let onEvent: @convention(c) (UnsafeMutableRawPointer?, stepwise_hook_point, UnsafePointer<stepwise_runner_view>?,
                                 UnsafeMutablePointer<OpaquePointer?>?) -> stepwise_status
    let values: ResolvedValues
    let instance: UnsafeMutableRawPointer
    let state: StateFunctions
    let problem: ToyProblem
    let params: [Parameter]
    let workDir: String
    private(set) var stopRequests = 0
    private(set) var checkpoints = 0

    var unitCount: Int { Self.events.count }
    /// After the second iteration of the first epoch: an iteration checkpoint.
    var resumePoint: Int { (Self.events.firstIndex { $0.point == STEPWISE_HOOK_AFTER_TRAIN_ITER && $0.iter == 1 } ?? 5) + 1 }
    var streamsState: Bool { state.streams }

    init(_ component: Component, _ spec: DriverSpec) throws {
        self.component = component
        api = try required(component.hookAPI, "the hook api")
        onEvent = try required(api.pointee.on_event, "on_event")
        state = StateFunctions(component)
        problem = ToyProblem(seed: spec.seed)
        params = problem.makeParams()
        workDir = spec.workDir
        var config = spec.config
        config["type"] = .string(component.qualifiedName)
        let resolved = try component.resolve(config)
        values = resolved
        instance = try Lifecycle.create(component, resolved)
    }

    deinit { api.pointee.destroy?(instance) }

    func subscribes(_ point: stepwise_hook_point) -> Bool { api.pointee.points & (1 << UInt64(point.rawValue)) != 0 }

    func run(_ i: Int) throws -> [UInt64] {
        let e = Self.events[i]
        if e.point == STEPWISE_HOOK_AFTER_TRAIN_ITER {
            // The iteration's training: one gradient step on the toy problem.
            for (k, p) in params.enumerated() {
                for j in 0..<p.count { p.data[j] -= 0.1 * problem.a[k][j] * (p.data[j] - problem.c[k][j]) }
            }
        }
        var status = STEPWISE_OK
        if subscribes(e.point) { status = try deliver(e) }
        return [UInt64(status.rawValue), UInt64(stopRequests), UInt64(checkpoints)] + params.flatMap { $0.data.map(\.bits64) }
    }

    /// Calls on_event; errors other than a refusal with a message fail the check.
    @discardableResult
    func deliver(_ e: Event) throws -> stepwise_status {
        let loss = problem.loss(params)
        let scalars: [(String, Double)] = e.point == STEPWISE_HOOK_AFTER_VAL_EPOCH
            ? [("loss", loss), ("acc", 1 / (1 + loss)), ("accuracy", 1 / (1 + loss)), ("mAP", 0.5)]
            : [("loss", loss), ("lr", 0.01), ("grad_norm", 1.0), ("time", 0.01)]
        let names = scalars.map { strdup($0.0) }
        let dir = strdup(workDir)
        defer { names.forEach { free($0) }; free(dir) }
        var items = zip(names, scalars).map {
            stepwise_named_value(struct_size: MemoryLayout<stepwise_named_value>.size, name: UnsafePointer($0), value: $1.1)
        }
        let (status, message) = items.withUnsafeMutableBufferPointer { buffer in
            var list = (0..<buffer.count).map { k in buffer.baseAddress.map { UnsafePointer($0 + k) } }
            return list.withUnsafeMutableBufferPointer { listPointer in
                var view = stepwise_runner_view()
                view.struct_size = MemoryLayout<stepwise_runner_view>.size
                view.ctx = Unmanaged.passUnretained(self).toOpaque()
                view.epoch = Int64(e.epoch)
                view.iter = Int64(e.iter)
                view.inner_iter = Int64(e.iter - e.epoch * Self.itersPerEpoch)
                view.max_epochs = Int64(Self.epochs)
                view.max_iters = Int64(Self.epochs * Self.itersPerEpoch)
                view.iters_per_epoch = Int64(Self.itersPerEpoch)
                view.scalar_count = UInt32(listPointer.count)
                view.scalars = UnsafePointer(listPointer.baseAddress)
                view.is_terminal = false
                view.work_dir = UnsafePointer(dir)
                view.param_count = UInt32(params.count)
                view.param_at = { view, index, out in
                    guard let view, let out, let ctx = view.pointee.ctx else { return false }
                    let driver = Unmanaged<HookDriver>.fromOpaque(ctx).takeUnretainedValue()
                    guard Int(index) < driver.params.count else { return false }
                    let p = driver.params[Int(index)]
                    out.pointee.tag = p.tag
                    out.pointee.numel = Int64(p.count)
                    out.pointee.dtype = STEPWISE_F32
                    out.pointee.data = p.data.baseAddress
                    out.pointee.grad = nil
                    return true
                }
                view.print = { _, _, _ in }
                view.request_stop = { view, _ in
                    guard let view, let ctx = view.pointee.ctx else { return }
                    Unmanaged<HookDriver>.fromOpaque(ctx).takeUnretainedValue().stopRequests += 1
                }
                view.save_checkpoint = { view, path, errorOut in
                    guard let view, let ctx = view.pointee.ctx, let path else { return STEPWISE_INVALID_ARGUMENT }
                    let driver = Unmanaged<HookDriver>.fromOpaque(ctx).takeUnretainedValue()
                    do {
                        try "stepwise validate: checkpoint \(driver.checkpoints)\n".write(
                            toFile: String(cString: path), atomically: true, encoding: .utf8)
                        driver.checkpoints += 1
                        return STEPWISE_OK
                    } catch {
                        errorOut?.pointee = ErrorBox.make(STEPWISE_IO_ERROR, "\(error)")
                        return STEPWISE_IO_ERROR
                    }
                }
                var error: OpaquePointer? = nil
                let status = onEvent(instance, e.point, &view, &error)
                return (status, takeMessage(error))
            }
        }
        guard status == STEPWISE_OK || status == STEPWISE_SKIPPED else {
            throw UnitRefused(status: status, description: "on_event at \(HookPoint(rawValue: e.point.rawValue).map { "\($0)" } ?? "?") (iteration \(e.iter)) failed (status \(status.rawValue)): \(message)")
        }
        return status
    }

    func checkpointBytes(writeChunk: Int) throws -> [UInt8] {
        try saveStream(writeChunk: writeChunk) + CanonicalState.encode(params)
    }

    /// A resumed run: BEFORE_RUN on the fresh instance, then the state load, then
    /// AFTER_LOAD_CHECKPOINT, as MMEngine's runner orders them.
    func resume(from other: Driver, at unit: Int, readChunk: Int, writeChunk: Int) throws {
        guard let other = other as? HookDriver else { throw CheckFailure("internal: resuming across kinds") }
        for (p, q) in zip(params, other.params) { for j in 0..<p.count { p.data[j] = q.data[j] } }
        let at = Self.events[unit]
        if subscribes(STEPWISE_HOOK_BEFORE_RUN) { try deliver(Event(point: STEPWISE_HOOK_BEFORE_RUN, epoch: at.epoch, iter: at.iter)) }
        if streamsState {
            let load = loadStream(try other.saveStream(writeChunk: writeChunk), readChunk: readChunk)
            guard load.accepted else {
                throw CheckFailure("load_state refused the state save_state wrote (status \(load.status.rawValue)): \(load.message)")
            }
        }
        if subscribes(STEPWISE_HOOK_AFTER_LOAD_CHECKPOINT) {
            try deliver(Event(point: STEPWISE_HOOK_AFTER_LOAD_CHECKPOINT, epoch: at.epoch, iter: at.iter))
        }
        stopRequests = other.stopRequests
        checkpoints = other.checkpoints
    }

    func saveStream(writeChunk: Int) throws -> [UInt8] { try state.save(instance, writeChunk: writeChunk) }
    func loadStream(_ bytes: [UInt8], readChunk: Int) -> StreamLoad { state.load(instance, bytes, readChunk: readChunk) }
    func loadStream(_ pattern: PatternSource) -> StreamLoad { state.load(instance, pattern) }
}
