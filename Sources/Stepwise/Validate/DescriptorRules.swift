import StepwiseABI

/// The header rules a loaded plugin's descriptors must follow beyond what the loader
/// already refuses: struct sizes no larger than the ABI version they claim defines,
/// known flag bits only, ranges and vectors that make sense, one hyperparameter per
/// role, docs for `stepwise describe`, names the host leaves to configs.
enum DescriptorRules {
    static let knownHyperparamFlags: UInt32 = (1 << 11) - 1
    static let knownOptimizerFlags = UInt32(STEPWISE_OPT_NEEDS_CLOSURE | STEPWISE_OPT_SINGLE_GROUP | STEPWISE_OPT_REJECTS_NON_FINITE)
    static let knownSchedulerFlags = UInt32(STEPWISE_SCHED_NEEDS_METRICS | STEPWISE_SCHED_ALSO_MOMENTUM)
    static let knownHookPoints: UInt64 = (1 << 10) - 1
    /// Keys the host consumes before a component sees its config.
    static let reservedKeys: [ComponentKind: Set<String>] = [
        .optimizer: ["type", "params"], .scheduler: ["type"], .wrapper: ["type"], .hook: ["type", "priority"], .communicator: ["type"],
    ]

    static func problems(_ plugin: LoadedPlugin) -> [String] {
        var out: [String] = []
        if let s = size(plugin.descriptor.pointee.struct_size, stepwise_plugin.self, "the plugin descriptor") { out.append(s) }
        if plugin.name.isEmpty { out.append("the plugin's name is empty") }
        if plugin.version.isEmpty { out.append("the plugin's version is empty") }
        for c in plugin.components { out += problems(c) }
        return out
    }

    /// A struct may be as large as the ABI the plugin claims defines it, no larger: a
    /// bigger size claims fields no 1.x header has.
    static func size<T>(_ declared: Int, _ type: T.Type, _ what: String) -> String? {
        let known = MemoryLayout<T>.stride
        return declared > known
            ? "\(what) declares struct_size \(declared), but ABI \(STEPWISE_ABI_MAJOR).\(STEPWISE_ABI_MINOR) defines it as \(known) bytes: set it to sizeof the struct"
            : nil
    }

    static func problems(_ c: Component) -> [String] {
        var out: [String] = []
        let who = "\(c.kind.rawValue) '\(c.typeName)'"
        func add(_ s: String?) { if let s { out.append(s) } }
        add(size(c.raw.pointee.struct_size, stepwise_component.self, who))
        if c.summary.isEmpty { out.append("\(who) has no summary (`stepwise list` shows it)") }
        if c.summary.contains("\n") { out.append("\(who)'s summary is more than one line") }
        let apiSize = c.raw.pointee.api.load(as: Int.self)
        switch c.kind {
        case .optimizer:
            guard let a = c.optimizerAPI?.pointee else { break }
            add(size(apiSize, stepwise_optimizer_api.self, "\(who)'s api table"))
            if a.flags & ~knownOptimizerFlags != 0 { out.append("\(who) sets unknown optimizer flag bits 0x\(String(a.flags & ~knownOptimizerFlags, radix: 16))") }
            if a.slot_count > 64 { out.append("\(who) declares \(a.slot_count) slots; the host supports at most 64") }
            for i in 0..<Int(min(a.slot_count, 64)) {
                guard let s = a.slots[i] else { continue }
                let name = String(cString: s.pointee.name)
                add(size(s.pointee.struct_size, stepwise_slot.self, "\(who)'s slot '\(name)'"))
                if !DescriptorValidation.isValidKey(name) { out.append("\(who)'s slot name '\(name)' is not letters, digits and '_'") }
                if s.pointee.doc.map({ String(cString: $0).isEmpty }) ?? true { out.append("\(who)'s slot '\(name)' has no doc") }
            }
        case .scheduler:
            guard let a = c.schedulerAPI?.pointee else { break }
            add(size(apiSize, stepwise_scheduler_api.self, "\(who)'s api table"))
            if a.flags & ~knownSchedulerFlags != 0 { out.append("\(who) sets unknown scheduler flag bits") }
            if a.target.rawValue > STEPWISE_TARGET_PARAM_NAME.rawValue { out.append("\(who) has unknown target \(a.target.rawValue)") }
            if a.dialect.rawValue > STEPWISE_DIALECT_MINDSPORE.rawValue { out.append("\(who) has unknown dialect \(a.dialect.rawValue)") }
            if a.target == STEPWISE_TARGET_PARAM_NAME && c.hyperparam(named: "param_name")?.type != STEPWISE_TYPE_STRING {
                out.append("\(who) targets a named hyperparameter but declares no string 'param_name'")
            }
        case .wrapper:
            guard let a = c.wrapperAPI?.pointee else { break }
            add(size(apiSize, stepwise_wrapper_api.self, "\(who)'s api table"))
            if a.flags != 0 { out.append("\(who) sets wrapper flags 0x\(String(a.flags, radix: 16)); ABI \(STEPWISE_ABI_MAJOR).\(STEPWISE_ABI_MINOR) defines none") }
            if (a.save_state == nil) != (a.load_state == nil) { out.append("\(who) must provide both save_state and load_state, or neither") }
        case .hook:
            guard let a = c.hookAPI?.pointee else { break }
            add(size(apiSize, stepwise_hook_api.self, "\(who)'s api table"))
            if a.points == 0 { out.append("\(who) subscribes to no hook point") }
            if a.points & ~knownHookPoints != 0 { out.append("\(who) subscribes to unknown hook points 0x\(String(a.points & ~knownHookPoints, radix: 16))") }
            if !(0...100).contains(a.default_priority) { out.append("\(who)'s default priority \(a.default_priority) is outside MMEngine's 0...100") }
            if (a.save_state == nil) != (a.load_state == nil) { out.append("\(who) must provide both save_state and load_state, or neither") }
        case .communicator:
            guard let a = c.communicatorAPI?.pointee else { break }
            add(size(apiSize, stepwise_communicator_api.self, "\(who)'s api table"))
            if a.flags != 0 { out.append("\(who) sets communicator flags 0x\(String(a.flags, radix: 16)); ABI \(STEPWISE_ABI_MAJOR).\(STEPWISE_ABI_MINOR) defines none") }
        }
        var roles: [UInt32: String] = [:]
        for i in 0..<Int(c.raw.pointee.hyperparam_count) {
            guard let p = c.raw.pointee.hyperparams[i] else { continue }
            out += problems(p, c.hyperparams[i], c, who: who)
            let h = c.hyperparams[i]
            if h.role != STEPWISE_ROLE_NONE {
                if let first = roles[h.role.rawValue] {
                    out.append("\(who): '\(first)' and '\(h.name)' both have the \(h.roleName ?? "?") role; schedulers could not tell which to drive")
                }
                roles[h.role.rawValue] = roles[h.role.rawValue] ?? h.name
            }
        }
        return out
    }

    static func problems(_ p: UnsafePointer<stepwise_hyperparam>, _ h: HyperparamInfo, _ c: Component, who: String) -> [String] {
        var out: [String] = []
        let what = "\(who) hyperparameter '\(h.name)'"
        let raw = p.pointee
        let isVector = h.type == STEPWISE_TYPE_FLOAT_VECTOR || h.type == STEPWISE_TYPE_INT_VECTOR
        let isNumber = h.type == STEPWISE_TYPE_FLOAT || h.type == STEPWISE_TYPE_INT || isVector
        func flag(_ f: Int) -> Bool { h.flags & UInt32(f) != 0 }
        if let s = size(raw.struct_size, stepwise_hyperparam.self, what) { out.append(s) }
        if !h.isRequired, let s = size(raw.default_value.struct_size, stepwise_value.self, "\(what)'s default value") { out.append(s) }
        if h.flags & ~knownHyperparamFlags != 0 { out.append("\(what) sets unknown flag bits 0x\(String(h.flags & ~knownHyperparamFlags, radix: 16))") }
        if h.doc.isEmpty { out.append("\(what) has no doc (`stepwise describe` shows it)") }
        if reservedKeys[c.kind]?.contains(h.name) == true { out.append("\(what): the host consumes '\(h.name)' before the component sees the config, so it can never be set") }
        if flag(STEPWISE_HP_HAS_MIN) && !raw.min.isFinite && !(raw.min == -.infinity) { out.append("\(what) has a NaN minimum") }
        if flag(STEPWISE_HP_HAS_MAX) && !raw.max.isFinite && !(raw.max == .infinity) { out.append("\(what) has a NaN maximum") }
        if flag(STEPWISE_HP_MIN_EXCLUSIVE) && !flag(STEPWISE_HP_HAS_MIN) { out.append("\(what) has MIN_EXCLUSIVE without HAS_MIN") }
        if flag(STEPWISE_HP_MAX_EXCLUSIVE) && !flag(STEPWISE_HP_HAS_MAX) { out.append("\(what) has MAX_EXCLUSIVE without HAS_MAX") }
        if let lo = h.min, let hi = h.max, lo == hi, h.minExclusive || h.maxExclusive { out.append("\(what) has an empty range") }
        if (h.min != nil || h.max != nil) && !isNumber { out.append("\(what) has a range but is not a number") }
        if h.vectorLength > 0 && !isVector { out.append("\(what) has a vector_length but is not a vector") }
        if raw.choice_count > 0 && h.type != STEPWISE_TYPE_STRING { out.append("\(what) has choices but is not a string") }
        if let choices = h.choices {
            if Set(choices).count != choices.count { out.append("\(what) lists a choice twice") }
            if choices.contains("") { out.append("\(what) has an empty choice") }
        }
        if flag(STEPWISE_HP_SCALAR_OK) && !isVector { out.append("\(what) is SCALAR_OK but not a vector") }
        if flag(STEPWISE_HP_PERIOD) && !isNumber { out.append("\(what) is a PERIOD but not a number") }
        if flag(STEPWISE_HP_SCHEDULERS) && (h.type != STEPWISE_TYPE_JSON || c.kind != .scheduler) {
            out.append("\(what) is SCHEDULERS but not an any-JSON scheduler hyperparameter")
        }
        if flag(STEPWISE_HP_PER_GROUP) && c.kind != .optimizer { out.append("\(what) is PER_GROUP, which only optimizers have") }
        if !h.isRequired {
            let v = raw.default_value
            if isVector && v.type == h.type {
                if v.count > 0 && (h.type == STEPWISE_TYPE_FLOAT_VECTOR ? v.fv == nil : v.iv == nil) {
                    out.append("\(what)'s default declares \(v.count) elements but no array")
                }
                if h.vectorLength > 0 && Int(v.count) != h.vectorLength {
                    out.append("\(what)'s default has \(v.count) elements; its vector_length is \(h.vectorLength)")
                }
            }
            if (v.type == STEPWISE_TYPE_STRING || v.type == STEPWISE_TYPE_JSON) && v.s == nil {
                out.append("\(what)'s default is a NULL string; use STEPWISE_TYPE_NONE with NULLABLE for None")
            }
        }
        return out
    }
}
