import StepwiseABI
import StepwiseKit

/// Stops training when a validation metric reaches a plateau: it keeps the `pool_size`
/// best values seen; once the pool is full and the latest value fails to beat the pool's
/// mean by `delta` (in the rule's direction) `patience` times in a row, it stops.
/// Source: mmengine.hooks.EarlyStoppingHook (same keys, defaults and rule inference:
/// "loss" → less; "acc", "top", "mAP", ... → greater).
final class EarlyStoppingHook: HookAlgorithm {
    enum Key: Int { case monitor, rule, delta, poolSize, patience }
    static let typeName = "EarlyStoppingHook"
    static let summary = "Stops training when a monitored validation metric reaches a plateau"
    static let reference = "mmengine.hooks.EarlyStoppingHook"
    static let hyperparams: [Hyperparam] = [
        Hyperparam("monitor", STEPWISE_TYPE_STRING, default: .none, flags: UInt32(STEPWISE_HP_REQUIRED),
                   doc: "the validation metric to watch, e.g. 'loss' or 'acc'"),
        .string("rule", nil, choices: ["greater", "less"], doc: "'greater' or 'less' is better; inferred for common names"),
        .float("delta", 0.1, doc: "minimum improvement over the pool's mean that counts"),
        .int("pool_size", 5, min: 1, doc: "how many best values form the pool"),
        .int("patience", 0, min: 0, doc: "validations without improvement before stopping"),
    ]
    static let points = [STEPWISE_HOOK_AFTER_VAL_EPOCH]
    static let defaultPriority: Int32 = 100 // LOWEST
    static let hasState = true

    static let greaterKeys = ["acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc"]

    static func rule(_ v: Values) -> String? {
        let monitor = v.string(Key.monitor.rawValue)
        if greaterKeys.contains(monitor) { return "greater" }
        if monitor == "loss" { return "less" }
        return v.isNone(Key.rule.rawValue) ? nil : v.string(Key.rule.rawValue)
    }

    static func check(_ v: Values) throws(PluginError) {
        if rule(v) == nil { throw .invalid("`rule` should be either 'greater' or 'less'.") }
    }

    let monitor: String
    let greater: Bool
    let delta: Double
    let poolSize: Int
    let patience: Int
    var count = 0
    var pool: [Double] = []

    init(host: Host, values: Values) throws(PluginError) {
        monitor = values.string(Key.monitor.rawValue)
        greater = Self.rule(values) == "greater"
        delta = values.double(Key.delta.rawValue)
        poolSize = values.int(Key.poolSize.rawValue)
        patience = values.int(Key.patience.rawValue)
    }

    func handle(_ point: stepwise_hook_point, _ view: RunnerView) throws(PluginError) {
        guard let latest = view.scalar(monitor) else {
            view.print("EarlyStoppingHook: skipped, the metrics (\(view.scalars.map(\.name).joined(separator: ", "))) do not include '\(monitor)'")
            return
        }
        pool.append(latest)
        pool.sort()
        pool = greater ? Array(pool.suffix(poolSize)) : Array(pool.prefix(poolSize))
        let mean = pool.reduce(0, +) / Double(poolSize)
        let plateau = pool.count == poolSize && (greater ? mean + delta > latest : mean + delta < latest)
        if plateau {
            count += 1
            if count >= patience {
                view.requestStop("The monitored metric reached a plateau. This training process will be stopped early.")
            }
        } else {
            count = 0
        }
    }

    func saveState(_ w: StateWriter) throws(PluginError) {
        try w.scalar(UInt64(count))
        try w.doubles(pool)
    }

    func loadState(_ r: StateReader) throws(PluginError) {
        let count = Int(try r.scalar(UInt64.self))
        let pool = try r.doubles(limit: 1 << 20)
        try r.expectEnd()
        self.count = count
        self.pool = pool
    }
}
