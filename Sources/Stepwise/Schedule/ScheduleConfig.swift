import StepwiseABI

/// The loop convention a schedule config follows (see conformance/FORMAT.md): which names
/// its `type`s mean and how the training loop steps them.
public enum ScheduleDialect: String, Sendable, CaseIterable {
    case mmengine, torch, mmcv, mindspore

    var abi: stepwise_schedule_dialect {
        switch self {
        case .mmengine: STEPWISE_DIALECT_MMENGINE
        case .torch: STEPWISE_DIALECT_TORCH
        case .mmcv: STEPWISE_DIALECT_MMCV
        case .mindspore: STEPWISE_DIALECT_MINDSPORE
        }
    }

    var title: String {
        switch self {
        case .mmengine: "MMEngine"
        case .torch: "torch"
        case .mmcv: "MMCV"
        case .mindspore: "MindSpore"
        }
    }

    init?(_ abi: stepwise_schedule_dialect) {
        guard let d = Self.allCases.first(where: { $0.abi == abi }) else { return nil }
        self = d
    }
}

/// The size of the training loop schedulers are built for.
public struct ScheduleLoopShape: Sendable, Equatable {
    public var epochs: Int
    public var itersPerEpoch: Int
    public var maxIters: Int { epochs * itersPerEpoch }

    public init(epochs: Int, itersPerEpoch: Int) {
        self.epochs = epochs
        self.itersPerEpoch = itersPerEpoch
    }
}

/// The schedulers of one optimizer, as a config gives them, normalized per dialect: each
/// entry is a dict with a `type` that names a registered component (MMCV's `policy` is
/// already turned into its hook's name).
public struct ScheduleConfig: Sendable {
    public var dialect: ScheduleDialect
    public var schedulers: [ConfigDict]
    /// What each entry is called in messages: "param_scheduler[1]", "lr_config", ...
    public var labels: [String]

    public init(dialect: ScheduleDialect, schedulers: [ConfigDict], labels: [String]? = nil) {
        self.dialect = dialect
        self.schedulers = schedulers
        self.labels = labels ?? schedulers.indices.map { schedulers.count == 1 ? "param_scheduler" : "param_scheduler[\($0)]" }
    }

    /// Reads a config document: `dialect` (default: "mmcv" when it has `lr_config` or
    /// `momentum_config`, else "mmengine"), `param_scheduler` (a dict or a list of them),
    /// or MMCV's `lr_config` / `momentum_config`.
    public init(document: ConfigDict) throws {
        let dialect: ScheduleDialect
        if let d = document["dialect"] {
            guard let s = d.string, let parsed = ScheduleDialect(rawValue: s) else {
                throw StepwiseError.config("dialect must be one of \(ScheduleDialect.allCases.map(\.rawValue).joined(separator: ", ")), "
                                           + "got \(ValueCodec.render(d))\(Self.at(document, "dialect"))")
            }
            dialect = parsed
        } else {
            dialect = document["lr_config"] != nil || document["momentum_config"] != nil ? .mmcv : .mmengine
        }
        if dialect == .mmcv {
            var dicts: [ConfigDict] = [], labels: [String] = []
            for (key, suffix) in [("lr_config", "LrUpdaterHook"), ("momentum_config", "MomentumUpdaterHook")] {
                guard let value = document[key], value != .null else { continue }
                guard let dict = value.dict else {
                    throw StepwiseError.config("\(key) must be a dict with a 'policy'\(Self.at(document, key))")
                }
                dicts.append(try Self.mmcvHook(dict, key: key, suffix: suffix))
                labels.append(key)
            }
            if document["param_scheduler"] != nil {
                throw StepwiseError.config("an MMCV config schedules with lr_config / momentum_config, not param_scheduler; "
                                           + "set dialect to mmengine or torch to use param_scheduler")
            }
            self.init(dialect: .mmcv, schedulers: dicts, labels: labels)
            return
        }
        guard let value = document["param_scheduler"], value != .null else {
            self.init(dialect: dialect, schedulers: [])
            return
        }
        let list: [ConfigValue] = value.list ?? [value]
        var dicts: [ConfigDict] = []
        for (i, item) in list.enumerated() {
            guard let d = item.dict else {
                throw StepwiseError.config("param_scheduler\(list.count > 1 ? "[\(i)]" : "") must be a dict with a 'type', "
                                           + "got \(item.typeDescription)\(Self.at(document, "param_scheduler"))")
            }
            dicts.append(d)
        }
        if dialect == .mindspore && dicts.count > 1 {
            throw StepwiseError.config("a MindSpore schedule is one function or LearningRateSchedule, not a list")
        }
        self.init(dialect: dialect, schedulers: dicts,
                  labels: value.list == nil ? ["param_scheduler"] : dicts.indices.map { "param_scheduler[\($0)]" })
    }

    /// `BaseRunner.register_lr_hook`: an all-lower-case policy is title-cased.
    static func mmcvHook(_ config: ConfigDict, key: String, suffix: String) throws -> ConfigDict {
        guard let policy = config["policy"]?.string else {
            throw StepwiseError.config("\(key) needs a 'policy' (e.g. 'step', 'CosineAnnealing')\(at(config, key))")
        }
        var out = config
        out["policy"] = nil
        out["type", origin: config.origin(of: "policy")] = .string(mmcvTitle(policy) + suffix)
        return out
    }

    /// Python's `str.title()` for lower-case policies; others are used as written.
    static func mmcvTitle(_ policy: String) -> String {
        guard policy == policy.lowercased() else { return policy }
        var out = "", previousIsLetter = false
        for ch in policy {
            out += previousIsLetter ? String(ch).lowercased() : String(ch).uppercased()
            previousIsLetter = ch.isLetter
        }
        return out
    }

    static func at(_ d: ConfigDict, _ key: String) -> String { d.origin(of: key).map { " in \($0)" } ?? "" }
}
