import Foundation
import StepwiseABI
import StepwiseKit

/// Saves the whole run every `interval` epochs or iterations and after the last one,
/// keeps at most `max_keep_ckpts` of its files, and records the newest in
/// `<work_dir>/last_checkpoint`, as MMEngine's CheckpointHook does. Files are
/// `epoch_N.safetensors` / `iter_N.safetensors`, written atomically by the runner.
final class CheckpointHook: HookAlgorithm {
    enum Key: Int { case interval, byEpoch, saveLast, maxKeep, outDir }
    static let typeName = "CheckpointHook"
    static let summary = "Saves safetensors checkpoints at an interval and at the end, keeping the newest N"
    static let reference = "mmengine.hooks.CheckpointHook"
    static let hyperparams: [Hyperparam] = [
        .int("interval", -1, doc: "save every this many epochs (by_epoch) or iterations; -1: only the last"),
        .bool("by_epoch", true, doc: "count the interval in epochs instead of iterations"),
        .bool("save_last", true, doc: "also save after the last epoch or iteration"),
        .int("max_keep_ckpts", -1, doc: "delete older checkpoints beyond this many; -1 keeps all"),
        .string("out_dir", nil, doc: "folder of the checkpoints; None: the run's work_dir"),
    ]
    static let points = [STEPWISE_HOOK_AFTER_TRAIN_ITER, STEPWISE_HOOK_AFTER_TRAIN_EPOCH]
    static let defaultPriority: Int32 = 90 // VERY_LOW
    static let hasState = true

    static func check(_ v: Values) throws(PluginError) {
        let interval = v.int(Key.interval.rawValue)
        if interval == 0 || interval < -1 { throw .invalid("interval must be positive or -1, got \(interval)") }
        let keep = v.int(Key.maxKeep.rawValue)
        if keep == 0 || keep < -1 { throw .invalid("max_keep_ckpts must be positive or -1, got \(keep)") }
    }

    let host: StepwiseKit.Host
    let interval: Int
    let byEpoch: Bool
    let saveLast: Bool
    let maxKeep: Int
    let outDir: String?
    var saved: [String] = []

    init(host: StepwiseKit.Host, values: Values) throws(PluginError) {
        self.host = host
        interval = values.int(Key.interval.rawValue)
        byEpoch = values.bool(Key.byEpoch.rawValue)
        saveLast = values.bool(Key.saveLast.rawValue)
        maxKeep = values.int(Key.maxKeep.rawValue)
        outDir = values.isNone(Key.outDir.rawValue) ? nil : values.string(Key.outDir.rawValue)
    }

    func handle(_ point: stepwise_hook_point, _ view: RunnerView) throws(PluginError) {
        let count: Int, last: Int, name: String
        if byEpoch {
            guard point == STEPWISE_HOOK_AFTER_TRAIN_EPOCH else { return }
            count = view.epoch + 1; last = view.maxEpochs; name = "epoch_\(count)"
        } else {
            guard point == STEPWISE_HOOK_AFTER_TRAIN_ITER else { return }
            count = view.iter + 1; last = view.maxIters; name = "iter_\(count)"
        }
        let periodic = interval > 0 && count % interval == 0
        guard periodic || (saveLast && count == last) else { return }
        let dir = outDir ?? view.workDir
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = (dir as NSString).appendingPathComponent(name + ".safetensors")
        try view.saveCheckpoint(path, host: host)
        saved.removeAll { $0 == path }
        saved.append(path)
        try? path.write(toFile: (dir as NSString).appendingPathComponent("last_checkpoint"), atomically: true, encoding: .utf8)
        if maxKeep > 0 {
            while saved.count > maxKeep {
                try? FileManager.default.removeItem(atPath: saved.removeFirst())
            }
        }
    }

    func saveState(_ w: StateWriter) throws(PluginError) {
        try w.scalar(UInt64(saved.count))
        for path in saved { try w.string(path) }
    }

    func loadState(_ r: StateReader) throws(PluginError) {
        let n = try r.count(limit: 1 << 20)
        var paths: [String] = []
        for _ in 0..<n { paths.append(try r.string(limit: 1 << 16)) }
        try r.expectEnd()
        saved = paths
    }
}
