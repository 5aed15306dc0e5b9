import Foundation
import StepwiseABI

/// Builds param groups from parameter-wise configuration:
/// - MMEngine's `paramwise_cfg` (DefaultOptimWrapperConstructor; also MMCV 1.x's, which
///   lacks only `flat_decay_mult`),
/// - MMCV / MMSelfSup regex `paramwise_options` (`'(bn|gn)(\d+)?.(weight|bias)': {...}`),
/// - explicit torch / MindSpore param groups (`params` by names or by a name filter, `lr`,
///   `weight_decay`, `grad_centralization`, `order_params`).
public enum Paramwise {
    /// The keys MMEngine's DefaultOptimWrapperConstructor reads from `paramwise_cfg`.
    static let paramwiseKeys = ["custom_keys", "bias_lr_mult", "bias_decay_mult", "norm_decay_mult",
                                "dwconv_decay_mult", "flat_decay_mult", "dcn_offset_lr_mult", "bypass_duplicate"]

    /// One group of every parameter (duplicates dropped, as torch warns and keeps one).
    static func single(_ params: [ParamSpec]) -> ParamGroupPlan {
        var seen = Set<String>()
        var plan = ParamGroupPlan(source: .single, groups: [])
        var names: [String] = []
        for p in params {
            if seen.insert(p.name).inserted { names.append(p.name) } else { plan.skipped.append((p.name, "listed twice")) }
        }
        plan.groups = [.init(params: names)]
        return plan
    }

    // MARK: MMEngine paramwise_cfg

    /// MMEngine's `DefaultOptimWrapperConstructor.add_params`, over parameters in model
    /// order. `optimizer` is the optimizer config as written: `lr` and `weight_decay` are
    /// the base values only when given explicitly (MMEngine reads them from the config).
    public static func paramwiseCfg(_ cfg: ConfigDict, optimizer: ConfigDict, params: [ParamSpec],
                                    merge: Bool = true) throws -> ParamGroupPlan {
        let at = cfg.origin.map { " in \($0)" } ?? ""
        for key in cfg.keys where !paramwiseKeys.contains(key) {
            let hint = Suggest.nearest(key, in: paramwiseKeys).map { "; did you mean '\($0)'?" } ?? ""
            throw StepwiseError.config("unknown paramwise_cfg key '\(key)'\(at)\(hint) (valid: \(paramwiseKeys.joined(separator: ", ")))")
        }
        let baseLR = optimizer["lr"]?.double
        let baseWD = optimizer["weight_decay"]?.double
        func mult(_ key: String) throws -> Double? {
            guard let v = cfg[key], v != .null else { return nil }
            guard let x = v.double else { throw StepwiseError.config("paramwise_cfg \(key) must be a number, got \(ValueCodec.render(v))\(at)") }
            return x
        }
        let biasLR = try mult("bias_lr_mult"), biasDecay = try mult("bias_decay_mult")
        let normDecay = try mult("norm_decay_mult"), dwconvDecay = try mult("dwconv_decay_mult")
        let flatDecay = try mult("flat_decay_mult")
        if try mult("dcn_offset_lr_mult") != nil {
            HostServices.log(STEPWISE_LOG_WARNING, "paramwise_cfg dcn_offset_lr_mult has no effect: Stepwise parameters carry no deformable-convolution tag")
        }
        var bypass = false
        if let v = cfg["bypass_duplicate"], v != .null {
            guard let b = v.bool else { throw StepwiseError.config("paramwise_cfg bypass_duplicate must be a bool\(at)") }
            bypass = b
        }
        var custom: [(key: String, settings: ConfigDict)] = []
        if let v = cfg["custom_keys"], v != .null {
            guard let d = v.dict else { throw StepwiseError.config("If specified, custom_keys must be a dict, but got \(v.typeDescription)\(at)") }
            for e in d.entries {
                guard let s = e.value.dict else {
                    throw StepwiseError.config("paramwise_cfg custom_keys['\(e.key)'] must be a dict of lr_mult / decay_mult / hyperparameters\(at)")
                }
                if baseWD == nil && s["decay_mult"] != nil {
                    throw StepwiseError.config("base_wd should not be None: paramwise_cfg custom_keys['\(e.key)'] sets decay_mult, so the optimizer config must set weight_decay\(at)")
                }
                custom.append((e.key, s))
            }
        }
        if baseWD == nil, let key = ["bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult"].first(where: { cfg[$0] != nil && cfg[$0] != .null }) {
            throw StepwiseError.config("base_wd should not be None: paramwise_cfg sets \(key), so the optimizer config must set weight_decay\(at)")
        }
        // MMEngine tries the longest key first; among equally long keys, alphabetical order.
        custom.sort { $0.key.count != $1.key.count ? $0.key.count > $1.key.count : $0.key < $1.key }

        func needLR(_ why: String) throws -> Double {
            guard let lr = baseLR else {
                throw StepwiseError.config("paramwise_cfg \(why) multiplies the optimizer's lr, so the optimizer config must set 'lr' explicitly\(at)")
            }
            return lr
        }

        var plan = ParamGroupPlan(source: .paramwiseCfg, groups: [])
        var seen = Set<String>()
        for facts in ParamFacts.describe(params) {
            if !seen.insert(facts.name).inserted {
                if bypass {
                    plan.skipped.append((facts.name, "duplicate; skipped since bypass_duplicate=True"))
                    continue
                }
                throw StepwiseError.config("some parameters appear in more than one parameter group ('\(facts.name)'); set paramwise_cfg bypass_duplicate: true to skip duplicates")
            }
            var overrides = ConfigDict()
            var why: [String] = []
            if let match = custom.first(where: { facts.customKeyTarget.contains($0.key) }) {
                let lrMult = match.settings["lr_mult"]?.double ?? 1
                overrides["lr"] = .float(try needLR("custom_keys['\(match.key)']") * lrMult)
                if let wd = baseWD { overrides["weight_decay"] = .float(wd * (match.settings["decay_mult"]?.double ?? 1)) }
                for e in match.settings.entries where e.key != "lr_mult" && e.key != "decay_mult" {
                    overrides[e.key, origin: e.origin] = e.value
                }
                why.append("custom_keys['\(match.key)']")
            } else {
                if facts.isBias && !facts.inNormModule, let m = biasLR {
                    overrides["lr"] = .float(try needLR("bias_lr_mult") * m)
                    why.append("bias_lr_mult=\(formatNumber(m))")
                }
                if let wd = baseWD {
                    if facts.inNormModule, let m = normDecay {
                        overrides["weight_decay"] = .float(wd * m); why.append("norm_decay_mult=\(formatNumber(m))")
                    } else if facts.isBias, let m = biasDecay {
                        overrides["weight_decay"] = .float(wd * m); why.append("bias_decay_mult=\(formatNumber(m))")
                    } else if facts.inDWConvModule, let m = dwconvDecay {
                        overrides["weight_decay"] = .float(wd * m); why.append("dwconv_decay_mult=\(formatNumber(m))")
                    } else if facts.rank == 1, let m = flatDecay {
                        overrides["weight_decay"] = .float(wd * m); why.append("flat_decay_mult=\(formatNumber(m))")
                    }
                }
            }
            plan.groups.append(.init(params: [facts.name], overrides: overrides))
            if !why.isEmpty { plan.reasons[facts.name] = why }
        }
        if merge { plan.mergeIdenticalGroups() }
        return plan
    }

    // MARK: MMCV / MMSelfSup regex paramwise_options

    /// MMSelfSup's `DefaultOptimizerConstructor` (MMCV 1.x): every pattern that
    /// `re.search`es a parameter's name applies, in config order; a `<key>_mult` option
    /// multiplies the optimizer config's `<key>`.
    public static func paramwiseOptions(_ options: ConfigDict, optimizer: ConfigDict, params: [ParamSpec],
                                        merge: Bool = true) throws -> ParamGroupPlan {
        let at = options.origin.map { " in \($0)" } ?? ""
        var rules: [(pattern: String, regex: NSRegularExpression, settings: ConfigDict)] = []
        for e in options.entries {
            guard let settings = e.value.dict else {
                throw StepwiseError.config("paramwise_options['\(e.key)'] must be a dict of hyperparameters\(at)")
            }
            do {
                rules.append((e.key, try NSRegularExpression(pattern: e.key), settings))
            } catch {
                throw StepwiseError.config("paramwise_options key '\(e.key)' is not a valid regular expression\(at)")
            }
        }
        var plan = ParamGroupPlan(source: .paramwiseOptions, groups: [])
        var seen = Set<String>()
        for p in params {
            guard seen.insert(p.name).inserted else {
                throw StepwiseError.config("some parameters appear in more than one parameter group ('\(p.name)')")
            }
            var overrides = ConfigDict()
            var why: [String] = []
            let range = NSRange(p.name.startIndex..., in: p.name)
            for rule in rules where rule.regex.firstMatch(in: p.name, range: range) != nil {
                for e in rule.settings.entries {
                    var key = e.key, value = e.value
                    if key.hasSuffix("_mult") {
                        key = String(key.dropLast(5))
                        guard let base = optimizer[key]?.double else {
                            throw StepwiseError.config("paramwise_options['\(rule.pattern)'] sets \(e.key), but \(key) not in optimizer_cfg (set '\(key)' in the optimizer config)\(at)")
                        }
                        guard let m = value.double else {
                            throw StepwiseError.config("paramwise_options['\(rule.pattern)'] \(e.key) must be a number\(at)")
                        }
                        value = .float(base * m)
                    }
                    overrides[key, origin: e.origin] = value
                }
                why.append("'\(rule.pattern)'")
            }
            plan.groups.append(.init(params: [p.name], overrides: overrides))
            if !why.isEmpty { plan.reasons[p.name] = why }
        }
        if merge { plan.mergeIdenticalGroups() }
        return plan
    }
}
