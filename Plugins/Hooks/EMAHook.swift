import StepwiseABI
import StepwiseKit

/// An exponential moving average of the parameters, swapped in for validation.
///
///     steps = 0:                  ema ← θ
///     steps % interval == 0:      ema ← ema + momentum · (θ − ema)      (torch lerp)
///
/// Before `begin_iter` / `begin_epoch` the average just copies the parameters.
/// Source: mmengine.hooks.EMAHook with mmengine.model.ExponentialMovingAverage
/// (momentum 0.0002, interval 1).
final class EMAHook: HookAlgorithm {
    enum Key: Int { case emaType, momentum, interval, beginIter, beginEpoch, strictLoad }
    static let typeName = "EMAHook"
    static let summary = "Exponential moving average of the parameters, swapped in for validation"
    static let reference = "mmengine.hooks.EMAHook + mmengine.model.ExponentialMovingAverage"
    static let hyperparams: [Hyperparam] = [
        .string("ema_type", "ExponentialMovingAverage", choices: ["ExponentialMovingAverage"], doc: "averaging strategy"),
        .float("momentum", 0.0002, min: 0, max: 1, minExclusive: true, doc: "weight of the new parameters in each update"),
        .int("interval", 1, min: 1, doc: "update the average every this many iterations"),
        .int("begin_iter", 0, min: 0, doc: "iteration from which the average starts (copies before)"),
        .int("begin_epoch", 0, min: 0, doc: "epoch from which the average starts (copies before)"),
        .bool("strict_load", false, doc: "accepted for MMEngine compatibility"),
    ]
    static let points = [STEPWISE_HOOK_BEFORE_RUN, STEPWISE_HOOK_AFTER_TRAIN_ITER, STEPWISE_HOOK_BEFORE_VAL_EPOCH,
                         STEPWISE_HOOK_AFTER_VAL_EPOCH]
    static let defaultPriority: Int32 = 50 // NORMAL
    static let hasState = true

    static func check(_ v: Values) throws(PluginError) {
        if v.int(Key.beginIter.rawValue) != 0 && v.int(Key.beginEpoch.rawValue) != 0 {
            throw .invalid("`begin_iter` and `begin_epoch` should not be both set.")
        }
    }

    let momentum: Float
    let interval: Int
    let beginIter: Int
    let beginEpoch: Int
    var steps = 0
    var average: [[Float]] = []

    init(host: Host, values: Values) throws(PluginError) {
        momentum = values.float(Key.momentum.rawValue)
        interval = values.int(Key.interval.rawValue)
        beginIter = values.int(Key.beginIter.rawValue)
        beginEpoch = values.int(Key.beginEpoch.rawValue)
    }

    func handle(_ point: stepwise_hook_point, _ view: RunnerView) throws(PluginError) {
        switch point {
        case STEPWISE_HOOK_BEFORE_RUN:
            if average.count != view.paramCount {
                average = try (0..<view.paramCount).map { (i) throws(PluginError) in
                    try view.withParam(i) { p in Array(UnsafeBufferPointer(start: p.data, count: p.count)) }
                }
            }
        case STEPWISE_HOOK_AFTER_TRAIN_ITER:
            let started = beginEpoch > 0 ? view.epoch + 1 >= beginEpoch : view.iter + 1 >= beginIter
            for i in 0..<average.count {
                try view.withParam(i) { p in
                    average[i].withUnsafeMutableBufferPointer { ema in
                        if !started || steps == 0 {
                            for k in 0..<p.count { ema[k] = p.data[k] }
                        } else if steps % interval == 0 {
                            for k in 0..<p.count { ema[k] += momentum * (p.data[k] - ema[k]) }
                        }
                    }
                }
            }
            if started { steps += 1 }
        case STEPWISE_HOOK_BEFORE_VAL_EPOCH, STEPWISE_HOOK_AFTER_VAL_EPOCH:
            for i in 0..<average.count {
                try view.withParam(i) { p in
                    average[i].withUnsafeMutableBufferPointer { ema in
                        for k in 0..<p.count { swap(&ema[k], &p.data[k]) }
                    }
                }
            }
        default:
            break
        }
    }

    func saveState(_ w: StateWriter) throws(PluginError) {
        try w.scalar(UInt64(steps))
        try w.scalar(UInt64(average.count))
        for a in average { try a.withUnsafeBufferPointer { (b) throws(PluginError) in try w.floats(b) } }
    }

    func loadState(_ r: StateReader) throws(PluginError) {
        let steps = Int(try r.scalar(UInt64.self))
        let n = try r.count(limit: 1 << 20)
        var average: [[Float]] = []
        for _ in 0..<n {
            let count = try r.count(limit: 1 << 31)
            var a: [Float] = []
            a.reserveCapacity(min(count, 1 << 20))
            for _ in 0..<count { a.append(try r.float()) }
            average.append(a)
        }
        try r.expectEnd()
        self.steps = steps
        self.average = average
    }
}
