import Foundation
import StepwiseABI

/// An epoch/iteration training loop with MMEngine's hook points and priorities. The
/// application supplies what one iteration does (`trainStep`) and, optionally, a
/// validation pass and how to save the whole run; everything else — logging,
/// checkpoints, EMA, early stopping, parameter schedulers — comes in as hooks.
public final class Runner: @unchecked Sendable {
    public let maxEpochs: Int
    public let itersPerEpoch: Int
    /// Validate every this many epochs (0: never).
    public let valInterval: Int
    /// The run ends here; the last epoch is short when this is not a multiple of the
    /// epoch length.
    public let maxIters: Int

    public private(set) var epoch = 0
    public private(set) var iter = 0
    public var innerIter: Int { iter - epoch * itersPerEpoch }
    /// Iterations whose training step has finished: `iter + 1` during AFTER_TRAIN_ITER
    /// (MMEngine advances `iter` after those hooks), `iter` elsewhere. Checkpoints record it.
    public private(set) var completedIters = 0

    public var workDir: String
    /// The parameters hooks may read and write (EMA), in a stable order.
    public var params: [Parameter] = []
    /// This iteration's logged scalars, or the metrics at AFTER_VAL_EPOCH.
    public private(set) var scalars: [(name: String, value: Double)] = []
    public private(set) var lastMetrics: [(name: String, value: Double)] = []
    public private(set) var stopReason: String?

    /// One training iteration; returns the scalars to log (loss, lr, grad_norm, ...).
    public var trainStep: (Runner) throws -> [(name: String, value: Double)] = { _ in [] }
    /// One validation pass; returns the metrics.
    public var valStep: ((Runner) throws -> [(name: String, value: Double)])?
    /// Saves the whole run to a path (atomically).
    public var saveCheckpoint: ((String, Runner) throws -> Void)?
    /// Where hooks print; `transient` lines may be overwritten on a terminal.
    public var output: (String, Bool) -> Void = Runner.printToStdout
    public let isTerminal = isatty(STDOUT_FILENO) != 0

    public private(set) var hooks: [RunnerHook] = []

    public init(maxEpochs: Int, itersPerEpoch: Int, valInterval: Int = 1, workDir: String) {
        precondition(maxEpochs >= 0 && itersPerEpoch > 0, "a loop needs a positive epoch length")
        self.maxEpochs = maxEpochs
        self.itersPerEpoch = itersPerEpoch
        self.valInterval = valInterval
        self.maxIters = maxEpochs * itersPerEpoch
        self.workDir = workDir
    }

    /// An iteration-based run of `maxIters` iterations, in epochs of `itersPerEpoch`
    /// (the last one short when needed); validation runs at every epoch end.
    public init(maxIters: Int, itersPerEpoch: Int, valInterval: Int = 1, workDir: String) {
        precondition(maxIters >= 0 && itersPerEpoch > 0, "a loop needs a positive epoch length")
        self.maxEpochs = (maxIters + itersPerEpoch - 1) / itersPerEpoch
        self.itersPerEpoch = itersPerEpoch
        self.valInterval = valInterval
        self.maxIters = maxIters
        self.workDir = workDir
    }

    /// Adds a hook; hooks run by priority, equal priorities in registration order.
    public func register(_ hook: RunnerHook) {
        let i = hooks.firstIndex { $0.priority > hook.priority } ?? hooks.count
        hooks.insert(hook, at: i)
    }

    /// Continues a run from a checkpoint taken after `iter` iterations.
    public func resume(atIter iter: Int) {
        self.iter = iter
        self.completedIters = iter
        self.epoch = iter / itersPerEpoch
    }

    /// Asks the loop to stop after the current hook point.
    public func requestStop(_ reason: String) {
        if stopReason == nil { stopReason = reason }
    }

    public func run() throws {
        stopReason = nil
        try call(.beforeRun)
        while iter < maxIters && stopReason == nil {
            epoch = iter / itersPerEpoch
            if innerIter == 0 { try call(.beforeTrainEpoch) }
            try call(.beforeTrainIter)
            let start = DispatchTime.now().uptimeNanoseconds
            var logged = try trainStep(self)
            logged.append(("time", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            scalars = logged
            completedIters = iter + 1
            try call(.afterTrainIter)
            iter += 1
            if iter % itersPerEpoch == 0 || iter == maxIters {
                try call(.afterTrainEpoch)
                if valInterval > 0, let valStep, (epoch + 1) % valInterval == 0 {
                    try call(.beforeValEpoch)
                    lastMetrics = try valStep(self)
                    scalars = lastMetrics
                    try call(.afterValEpoch)
                }
            }
        }
        try call(.afterRun)
    }

    /// Saves through the application's checkpoint function, after every hook's
    /// BEFORE_SAVE_CHECKPOINT.
    public func save(to path: String) throws {
        guard let saveCheckpoint else { throw StepwiseError.usage("this run has no checkpoint function") }
        try call(.beforeSaveCheckpoint)
        try saveCheckpoint(path, self)
    }

    func call(_ point: HookPoint) throws {
        for hook in hooks where hook.handles(point) { try hook.call(point, self) }
    }

    static func printToStdout(_ text: String, _ transient: Bool) {
        if transient && isatty(STDOUT_FILENO) != 0 {
            FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + text).utf8))
        } else if !transient {
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    }
}

extension Runner {
    /// Lends plugins a C view of the loop for one hook call.
    func withView<R>(for point: HookPoint, _ body: (UnsafePointer<stepwise_runner_view>) -> R) -> R {
        let names = scalars.map { strdup($0.name) }
        defer { names.forEach { free($0) } }
        var values = zip(names, scalars).map { name, s -> stepwise_named_value in
            var v = stepwise_named_value()
            v.struct_size = MemoryLayout<stepwise_named_value>.size
            v.name = UnsafePointer(name)
            v.value = s.value
            return v
        }
        let workDir = strdup(self.workDir)
        defer { free(workDir) }
        return values.withUnsafeMutableBufferPointer { buffer in
            var pointers = (0..<buffer.count).map { Optional(UnsafePointer(buffer.baseAddress! + $0)) }
            return pointers.withUnsafeMutableBufferPointer { list in
                var view = stepwise_runner_view()
                view.struct_size = MemoryLayout<stepwise_runner_view>.size
                view.ctx = Unmanaged.passUnretained(self).toOpaque()
                view.epoch = Int64(epoch)
                view.iter = Int64(iter)
                view.inner_iter = Int64(innerIter)
                view.max_epochs = Int64(maxEpochs)
                view.max_iters = Int64(maxIters)
                view.iters_per_epoch = Int64(itersPerEpoch)
                view.scalar_count = UInt32(list.count)
                view.scalars = UnsafePointer(list.baseAddress)
                view.is_terminal = isTerminal
                view.work_dir = UnsafePointer(workDir)
                view.param_count = UInt32(params.count)
                view.param_at = { view, index, out in
                    guard let view, let out, let runner = Runner.from(view), Int(index) < runner.params.count else { return false }
                    let p = runner.params[Int(index)]
                    out.pointee.name = nil
                    out.pointee.tag = p.tag
                    out.pointee.rank = 0
                    out.pointee.numel = Int64(p.count)
                    out.pointee.dtype = STEPWISE_F32
                    out.pointee.data = p.data.baseAddress
                    out.pointee.grad = p.hasGrad ? p.grad.baseAddress : nil
                    return true
                }
                view.print = { view, text, transient in
                    guard let view, let text, let runner = Runner.from(view) else { return }
                    runner.output(String(cString: text), transient)
                }
                view.request_stop = { view, reason in
                    guard let view, let runner = Runner.from(view) else { return }
                    runner.requestStop(reason.map { String(cString: $0) } ?? "a hook asked to stop")
                }
                view.save_checkpoint = { view, path, errorOut in
                    guard let view, let path, let runner = Runner.from(view) else { return STEPWISE_INVALID_ARGUMENT }
                    do {
                        try runner.save(to: String(cString: path))
                        return STEPWISE_OK
                    } catch {
                        errorOut?.pointee = ErrorBox.make(STEPWISE_IO_ERROR, "\(error)")
                        return STEPWISE_IO_ERROR
                    }
                }
                return withUnsafePointer(to: &view) { body($0) }
            }
        }
    }

    static func from(_ view: UnsafePointer<stepwise_runner_view>) -> Runner? {
        view.pointee.ctx.map { Unmanaged<Runner>.fromOpaque($0).takeUnretainedValue() }
    }
}
