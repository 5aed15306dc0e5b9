/// The shape of a config's training loop: MMEngine's `train_cfg`
/// (`EpochBasedTrainLoop` / `IterBasedTrainLoop`: `max_epochs` or `max_iters`,
/// `val_interval`), or MMCV 1.x's `runner` (`EpochBasedRunner` / `IterBasedRunner`),
/// `total_epochs` and `evaluation.interval`.
public struct TrainLoop: Sendable, Equatable {
    public enum Length: Sendable, Equatable {
        case epochs(Int)
        case iterations(Int)
    }

    public var length: Length
    /// Validate every this many epochs (iterations for an iteration-based loop); 0: never.
    public var valInterval: Int
    /// Where the loop was configured.
    public var origin: ConfigOrigin

    public init(length: Length, valInterval: Int, origin: ConfigOrigin) {
        self.length = length
        self.valInterval = valInterval
        self.origin = origin
    }

    public var isEpochBased: Bool { if case .epochs = length { true } else { false } }

    /// The loop the schedulers see. An iteration-based loop is one epoch, as MMEngine's
    /// IterBasedTrainLoop and MMCV's IterBasedRunner call the epoch hooks once.
    public func scheduleLoop(itersPerEpoch: Int) -> ScheduleLoopShape {
        switch length {
        case .epochs(let e): ScheduleLoopShape(epochs: e, itersPerEpoch: itersPerEpoch)
        case .iterations(let n): ScheduleLoopShape(epochs: 1, itersPerEpoch: n)
        }
    }

    static let epochLoops = ["EpochBasedTrainLoop", "EpochBasedRunner"]
    static let iterLoops = ["IterBasedTrainLoop", "IterBasedRunner"]

    /// Reads `train_cfg` (MMEngine) or `runner` / `total_epochs` / `evaluation` (MMCV).
    static func read(_ config: ConfigDict, style: ConfigStyle) throws -> TrainLoop {
        let file = ConfigOrigin(file: config.origin?.file ?? "<config>")
        // MMCV never reads train_cfg (MMDetection 2.x's early configs even use the name
        // for the model's training settings), nor MMEngine runner / total_epochs.
        if style == .mmengine {
            guard let cfg = config["train_cfg"]?.dict else {
                throw StepwiseError.config("the config has no train_cfg: add e.g. train_cfg = dict(type='EpochBasedTrainLoop', "
                                           + "max_epochs=12, val_interval=1) (or max_iters for an iteration-based loop)\(at(file))")
            }
            let origin = config.origin(of: "train_cfg") ?? file
            let length = try lengthOf(cfg, section: "train_cfg", origin: origin)
            let interval = try positiveInt(cfg, "val_interval", section: "train_cfg", allowZero: true) ?? 1
            return TrainLoop(length: length, valInterval: interval, origin: origin)
        }
        if let runner = config["runner"]?.dict {
            let origin = config.origin(of: "runner") ?? file
            return TrainLoop(length: try lengthOf(runner, section: "runner", origin: origin),
                             valInterval: try evaluationInterval(config), origin: origin)
        }
        if config["total_epochs"] != nil {
            let origin = config.origin(of: "total_epochs") ?? file
            guard let n = config["total_epochs"]?.int, n > 0 else {
                throw StepwiseError.config("total_epochs must be a positive int\(at(origin))")
            }
            return TrainLoop(length: .epochs(Int(n)), valInterval: try evaluationInterval(config), origin: origin)
        }
        throw StepwiseError.config("the config gives no loop length: add runner = dict(type='EpochBasedRunner', max_epochs=12) "
                                   + "(MMCV) or train_cfg = dict(max_epochs=12) (MMEngine)\(at(file))")
    }

    private static func lengthOf(_ cfg: ConfigDict, section: String, origin: ConfigOrigin) throws -> Length {
        let type = cfg["type"]?.string
        let epochs = try positiveInt(cfg, "max_epochs", section: section)
        let iters = try positiveInt(cfg, "max_iters", section: section)
        // MMEngine's old form: train_cfg = dict(by_epoch=True, max_epochs=...).
        let byEpoch = cfg["by_epoch"]?.bool
        switch (epochs, iters) {
        case (let e?, nil):
            if let type, iterLoops.contains(where: { type.hasSuffix($0) }) {
                throw StepwiseError.config("\(section) is \(type), which counts max_iters, but it sets max_epochs\(at(cfg, "max_epochs", origin))")
            }
            if byEpoch == false { throw StepwiseError.config("\(section) sets by_epoch=False with max_epochs\(at(cfg, "by_epoch", origin))") }
            return .epochs(e)
        case (nil, let n?):
            if let type, epochLoops.contains(where: { type.hasSuffix($0) }) {
                throw StepwiseError.config("\(section) is \(type), which counts max_epochs, but it sets max_iters\(at(cfg, "max_iters", origin))")
            }
            if byEpoch == true { throw StepwiseError.config("\(section) sets by_epoch=True with max_iters\(at(cfg, "by_epoch", origin))") }
            return .iterations(n)
        case (.some, .some):
            let files = Set(["max_epochs", "max_iters"].compactMap { cfg.origin(of: $0)?.file })
            let hint = files.count > 1 ? " (a base config sets the other: write \(section) = dict(_delete_=True, ...) to replace the base's instead of merging into it)" : ""
            throw StepwiseError.config("\(section) sets both max_epochs and max_iters; keep one\(hint)\(at(cfg, "max_iters", origin))")
        case (nil, nil):
            throw StepwiseError.config("\(section) needs max_epochs (an epoch-based loop) or max_iters (an iteration-based loop)\(at(origin))")
        }
    }

    private static func evaluationInterval(_ config: ConfigDict) throws -> Int {
        guard let evaluation = config["evaluation"]?.dict else { return 0 }
        return try positiveInt(evaluation, "interval", section: "evaluation") ?? 1
    }

    private static func positiveInt(_ d: ConfigDict, _ key: String, section: String, allowZero: Bool = false) throws -> Int? {
        guard let v = d[key], v != .null else { return nil }
        guard let n = v.int, n > 0 || (allowZero && n == 0) else {
            throw StepwiseError.config("\(section).\(key) must be a \(allowZero ? "non-negative" : "positive") int, got "
                                       + "\(ValueCodec.render(v))\(at(d, key, d.origin))")
        }
        return Int(n)
    }

    private static func at(_ origin: ConfigOrigin?) -> String { origin.map { " in \($0)" } ?? "" }
    private static func at(_ d: ConfigDict, _ key: String, _ fallback: ConfigOrigin?) -> String {
        at(d.origin(of: key) ?? fallback)
    }
}

/// Which runner a config was written for: MMEngine's (`optim_wrapper`,
/// `param_scheduler`, `train_cfg`) or MMCV 1.x's (`optimizer`, `optimizer_config`,
/// `lr_config`, `momentum_config`, `runner`).
public enum ConfigStyle: String, Sendable {
    case mmengine, mmcv

    /// MMEngine when the config has an `optim_wrapper`, or `param_scheduler` / `train_cfg`
    /// and no MMCV-only section; MMCV when it has `optimizer` with MMCV's sections or
    /// nothing of MMEngine's.
    static func of(_ config: ConfigDict) -> ConfigStyle {
        if config["optim_wrapper"] != nil { return .mmengine }
        let mmcvOnly = ["optimizer_config", "lr_config", "momentum_config", "runner", "total_epochs"]
        if mmcvOnly.contains(where: { config[$0] != nil }) { return .mmcv }
        if config["param_scheduler"] != nil || config["train_cfg"] != nil { return .mmengine }
        return .mmcv
    }
}
