import Foundation
import StepwiseABI
import StepwiseKit

/// Logs every `interval` iterations: the iteration, every scalar the step logged (loss,
/// lr and momentum per wrapper, grad norm), the time per iteration and the ETA. On a
/// terminal it also keeps a live progress bar on the last line.
///
/// Source: MMEngine's LoggerHook + IterTimerHook (mmengine/hooks/logger_hook.py): the
/// same "Epoch(train) [e][i/n]" layout, ETA from the mean iteration time so far.
final class LoggerHook: HookAlgorithm {
    enum Key: Int { case interval, ignoreLast, progressBar }
    static let typeName = "LoggerHook"
    static let summary = "Logs losses, lr/momentum, grad norm, time per iteration and ETA; live progress bar on a terminal"
    static let reference = "mmengine.hooks.LoggerHook and IterTimerHook"
    static let hyperparams: [Hyperparam] = [
        .int("interval", 10, min: 1, doc: "log every this many iterations"),
        .bool("ignore_last", true, doc: "skip the last iterations of an epoch when fewer than interval remain"),
        .bool("progress_bar", true, doc: "draw a progress bar on a terminal between log lines"),
    ]
    static let points = [STEPWISE_HOOK_BEFORE_RUN, STEPWISE_HOOK_AFTER_TRAIN_ITER, STEPWISE_HOOK_AFTER_VAL_EPOCH,
                         STEPWISE_HOOK_AFTER_RUN]
    static let defaultPriority: Int32 = 60 // BELOW_NORMAL

    let interval: Int
    let ignoreLast: Bool
    let progressBar: Bool
    var runStart = Date()
    var startIter = 0
    var timeSum = 0.0
    var timeCount = 0

    init(host: StepwiseKit.Host, values: Values) throws(PluginError) {
        interval = values.int(Key.interval.rawValue)
        ignoreLast = values.bool(Key.ignoreLast.rawValue)
        progressBar = values.bool(Key.progressBar.rawValue)
    }

    func handle(_ point: stepwise_hook_point, _ view: RunnerView) throws(PluginError) {
        switch point {
        case STEPWISE_HOOK_BEFORE_RUN:
            runStart = Date()
            startIter = view.iter
        case STEPWISE_HOOK_AFTER_TRAIN_ITER:
            if let t = view.scalar("time") { timeSum += t; timeCount += 1 }
            let endOfEpoch = view.innerIter + 1 == view.itersPerEpoch
            let due = (view.iter + 1) % interval == 0 || (endOfEpoch && !ignoreLast)
            if due {
                if view.isTerminal && progressBar { view.print("", transient: true) }
                view.print(line(view))
            } else if view.isTerminal && progressBar {
                view.print(bar(view), transient: true)
            }
        case STEPWISE_HOOK_AFTER_VAL_EPOCH:
            let metrics = view.scalars.map { "\($0.name): \(format($0.value))" }.joined(separator: "  ")
            view.print("Epoch(val) [\(view.epoch + 1)][\(view.itersPerEpoch)/\(view.itersPerEpoch)]  \(metrics)")
        case STEPWISE_HOOK_AFTER_RUN:
            if view.isTerminal && progressBar { view.print("", transient: true) }
            let seconds = Date().timeIntervalSince(runStart)
            let iters = view.iter - startIter
            view.print(String(format: "Finished %d iterations in %.1f s (%.1f it/s)", iters, seconds,
                              seconds > 0 ? Double(iters) / seconds : 0))
        default:
            break
        }
    }

    var meanTime: Double { timeCount > 0 ? timeSum / Double(timeCount) : 0 }

    func eta(_ view: RunnerView) -> String {
        let seconds = Int((Double(view.maxIters - view.iter - 1) * meanTime).rounded())
        return String(format: "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
    }

    func line(_ view: RunnerView) -> String {
        let width = String(view.itersPerEpoch).count
        let inner = String(view.innerIter + 1).leftPadded(to: width)
        let scalars = view.scalars.filter { $0.name != "time" }.map { "\($0.name): \(format($0.value))" }
        return (["Epoch(train) [\(view.epoch + 1)][\(inner)/\(view.itersPerEpoch)]", "eta: \(eta(view))",
                 "time: \(String(format: "%.4f", meanTime))"] + scalars).joined(separator: "  ")
    }

    func bar(_ view: RunnerView) -> String {
        let fraction = Double(view.iter + 1) / Double(max(view.maxIters, 1))
        let filled = Int(fraction * 30)
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled) + "] "
            + "\(view.iter + 1)/\(view.maxIters)  eta \(eta(view))"
    }

    func format(_ x: Double) -> String {
        if x != 0 && (abs(x) < 1e-3 || abs(x) >= 1e5) { return String(format: "%.4e", x) }
        return String(format: "%.4f", x)
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
