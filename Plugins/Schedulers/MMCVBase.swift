import Foundation
import StepwiseABI
import StepwiseKit

// MMCV 1.x's LrUpdaterHook and MomentumUpdaterHook (mmcv 1.7, mmcv/runner/hooks/
// lr_updater.py, momentum_updater.py): a policy computes the "regular" value from the base
// value and the progress (epoch or iteration); a warmup (constant, linear, exp) scales it
// during the first `warmup_iters` iterations. Values are absolute, not chained. They act
// before each epoch (by_epoch) and before each iteration, as the runner calls the hooks:
//
//     lr_config = dict(policy='CosineAnnealing', min_lr_ratio=0.01, warmup='linear',
//                      warmup_iters=500, warmup_ratio=0.001)
//     momentum_config = dict(policy='cyclic', target_ratio=(0.85 / 0.95, 1), cyclic_times=1)

/// The loop's size and position, as MMCV's runner exposes them.
struct MMCVRun {
    var maxEpochs: Int
    var maxIters: Int
    var itersPerEpoch: Int
}

protocol MMCVPolicy {
    /// The policy as a config names it: `Step` for `StepLrUpdaterHook`.
    static var name: String { get }
    static var summary: String { get }
    static var momentum: Bool { get }
    /// Cyclic and OneCycle: iteration-based only (`by_epoch` defaults to and must be false).
    static var iterationOnly: Bool { get }
    /// The policy's own keys, before the warmup keys, in value order.
    static var hyperparams: [Hyperparam] { get }
    static func check(_ values: Values) throws(PluginError)
    init(values: Values, run: MMCVRun, groups: Int) throws(PluginError)
    /// Bases the policy fixes itself instead of the optimizer's initial values (OneCycle).
    var ownBases: [Double]? { get }
    /// `before_run` side effects on the values (OneCycle momentum starts at its maximum).
    func start(_ tick: Tick) throws(PluginError)
    /// The regular value of group `group` at `progress` (epoch or iteration).
    func value(progress: Int, byEpoch: Bool, run: MMCVRun, base: Double, group: Int) throws(PluginError) -> Double
}

extension MMCVPolicy {
    static var iterationOnly: Bool { false }
    static func check(_ values: Values) throws(PluginError) {}
    var ownBases: [Double]? { nil }
    func start(_ tick: Tick) throws(PluginError) {}
}

enum Warmup: String {
    case constant, linear, exp
}

final class MMCVUpdater<Policy: MMCVPolicy>: SchedulerAlgorithm {
    static var typeName: String { Policy.name + (Policy.momentum ? "MomentumUpdaterHook" : "LrUpdaterHook") }
    static var summary: String { Policy.summary + (Policy.momentum ? " (MMCV momentum_config)" : " (MMCV lr_config)") }
    static var reference: String {
        "mmcv 1.7, mmcv/runner/hooks/\(Policy.momentum ? "momentum_updater" : "lr_updater").py: \(typeName)"
    }
    static var target: stepwise_schedule_target { Policy.momentum ? STEPWISE_TARGET_MOMENTUM : STEPWISE_TARGET_LR }
    static var dialect: stepwise_schedule_dialect { STEPWISE_DIALECT_MMCV }
    static var hyperparams: [Hyperparam] {
        var list = Policy.hyperparams + [
            .bool("by_epoch", !Policy.iterationOnly, doc: "update before every epoch (true) or every iteration"),
            .string("warmup", nil, choices: ["constant", "linear", "exp"], doc: "warmup kind, or None"),
            .int("warmup_iters", 0, min: 0, doc: "iterations (or epochs, with warmup_by_epoch) of warmup"),
            .float("warmup_ratio", Policy.momentum ? 0.9 : 0.1, doc: "warmup starts at ratio times the regular value"),
        ]
        if !Policy.momentum {
            list.append(.bool("warmup_by_epoch", false, doc: "warmup_iters counts epochs"))
        }
        return list
    }

    static func check(_ values: Values) throws(PluginError) {
        let o = Policy.hyperparams.count
        if Policy.iterationOnly && values.bool(o) {
            throw .invalid("\(typeName): currently only supports by_epoch=False")
        }
        if !values.isNone(o + 1) {
            guard values.int(o + 2) > 0 else { throw .invalid("\(typeName): warmup_iters must be a positive integer") }
            let ratio = values.double(o + 3)
            guard ratio > 0 && ratio <= 1 else { throw .invalid("\(typeName): warmup_ratio must be in range (0,1]") }
        }
        try Policy.check(values)
    }

    let policy: Policy
    let run: MMCVRun
    let byEpoch: Bool
    let warmup: Warmup?
    let warmupRatio: Double
    let warmupEpochs: Int?
    var warmupIters: Int?
    var bases: [Double] = []
    var regular: [Double] = []

    init(host: Host, values: Values, setup: ScheduleSetup) throws(PluginError) {
        try Self.check(values)
        run = MMCVRun(maxEpochs: setup.maxEpochs, maxIters: setup.maxIters, itersPerEpoch: setup.itersPerEpoch)
        policy = try Policy(values: values, run: run, groups: setup.groupCount)
        let o = Policy.hyperparams.count
        byEpoch = values.bool(o)
        warmup = values.optionalString(o + 1).flatMap(Warmup.init(rawValue:))
        warmupRatio = values.double(o + 3)
        let byEpochWarmup = !Policy.momentum && values.bool(o + 4)
        warmupEpochs = byEpochWarmup ? values.int(o + 2) : nil
        warmupIters = byEpochWarmup ? nil : values.int(o + 2)
    }

    func tick(_ tick: Tick) throws(PluginError) {
        switch tick.event {
        case STEPWISE_TICK_START:
            bases = policy.ownBases ?? (0..<tick.groupCount).map(tick.base)
            try policy.start(tick)
        case STEPWISE_TICK_BEFORE_EPOCH:
            if warmupIters == nil, let epochs = warmupEpochs { warmupIters = epochs * run.itersPerEpoch }
            guard byEpoch else { return }
            regular = try regularValues(progress: tick.epoch)
            try tick.setAll(regular, owner: Self.typeName)
        case STEPWISE_TICK_BEFORE_ITER:
            let iter = tick.iter
            let warmupEnd = warmupIters ?? 0
            if !byEpoch {
                regular = try regularValues(progress: iter)
                try tick.setAll(warmup == nil || iter >= warmupEnd ? regular : warmed(iter, warmupEnd), owner: Self.typeName)
            } else if let _ = warmup, iter <= warmupEnd {
                try tick.setAll(iter == warmupEnd ? regular : warmed(iter, warmupEnd), owner: Self.typeName)
            }
        default:
            break
        }
    }

    private func regularValues(progress: Int) throws(PluginError) -> [Double] {
        guard !bases.isEmpty else { throw .invalid("\(Self.typeName) was ticked before the run started") }
        var out: [Double] = []
        for (g, base) in bases.enumerated() {
            out.append(try policy.value(progress: progress, byEpoch: byEpoch, run: run, base: base, group: g))
        }
        return out
    }

    /// The warmup scaling of the regular values at iteration `iter` of `total`. The lr is
    /// multiplied by the warmup factor, the momentum divided by it.
    private func warmed(_ iter: Int, _ total: Int) -> [Double] {
        let k: Double
        switch warmup {
        case .constant: k = warmupRatio
        case .linear: k = 1 - (1 - Double(iter) / Double(total)) * (1 - warmupRatio)
        case .exp: k = Py.pow(warmupRatio, 1 - Double(iter) / Double(total))
        case nil: k = 1
        }
        return regular.map { Policy.momentum ? $0 / k : $0 * k }
    }

    func saveState(_ writer: StateWriter) throws(PluginError) {
        try StateCodec.save(writer, tag: Self.typeName, ints: [warmupIters ?? -1, bases.count],
                            doubles: bases + regular)
    }

    func loadState(_ reader: StateReader) throws(PluginError) {
        let (ints, doubles) = try StateCodec.load(reader, tag: Self.typeName, ints: 2, doubles: -1)
        warmupIters = ints[0] < 0 ? nil : ints[0]
        let n = ints[1]
        guard n >= 0, doubles.count >= n else { throw .badState("\(Self.typeName) state is truncated") }
        bases = Array(doubles[..<n])
        regular = Array(doubles[n...])
    }
}
