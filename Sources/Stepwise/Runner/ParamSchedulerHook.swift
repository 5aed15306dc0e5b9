/// Drives parameter schedulers from the loop, as MMEngine's ParamSchedulerHook does:
/// each scheduler hears every loop event and acts on the ones its dialect and `by_epoch`
/// select; validation metrics reach every scheduler that reads them. On a resumed run the
/// schedulers were restored from the checkpoint, so `START` is not delivered again.
public final class ParamSchedulerHook: RunnerHook {
    public let name = "ParamSchedulerHook"
    public let priority = 70 // LOW
    public let schedulers: [ParamSchedulers]
    /// Set when the schedulers' state came from a checkpoint.
    public var resumed = false

    public init(_ schedulers: [ParamSchedulers]) { self.schedulers = schedulers }

    public func handles(_ point: HookPoint) -> Bool {
        switch point {
        case .beforeRun, .beforeTrainEpoch, .beforeTrainIter, .afterTrainIter, .afterTrainEpoch, .afterValEpoch: true
        default: false
        }
    }

    public func call(_ point: HookPoint, _ runner: Runner) throws {
        for s in schedulers {
            switch point {
            case .beforeRun: if !resumed { try s.start() }
            case .beforeTrainEpoch: try s.beforeEpoch(runner.epoch)
            case .beforeTrainIter: try s.beforeIter(epoch: runner.epoch, iter: runner.iter)
            case .afterTrainIter: try s.afterIter(epoch: runner.epoch, iter: runner.iter)
            case .afterTrainEpoch: try s.afterEpoch(runner.epoch)
            case .afterValEpoch: try s.afterValidation(runner.epoch, metrics: runner.lastMetrics)
            default: break
            }
        }
    }
}
