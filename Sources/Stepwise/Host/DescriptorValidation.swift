import StepwiseABI

/// Reads a plugin's descriptors into host values, checking every rule of the ABI before
/// anything is registered. Each failure is one sentence that says what is wrong.
enum DescriptorValidation {
    struct Failure: Error { let reason: String }

    static let hostVersion = (major: STEPWISE_ABI_MAJOR, minor: STEPWISE_ABI_MINOR)

    static func checkPlugin(_ p: UnsafePointer<stepwise_plugin>) throws(Failure) {
        let size = p.pointee.struct_size
        let minimum = offsetOfEnd(\stepwise_plugin.components)
        // Check the version first: a plugin from another major may lay out anything.
        if size >= MemoryLayout<Int>.size + MemoryLayout<stepwise_version>.size {
            let v = p.pointee.abi_version
            if v.major != hostVersion.major {
                throw Failure(reason: "built for Stepwise ABI \(v.major).\(v.minor), but this host implements ABI \(hostVersion.major).\(hostVersion.minor) (major versions must match)")
            }
            if v.minor > hostVersion.minor {
                throw Failure(reason: "built for Stepwise ABI \(v.major).\(v.minor), newer than this host's ABI \(hostVersion.major).\(hostVersion.minor); update Stepwise")
            }
        }
        guard size >= minimum else {
            throw Failure(reason: "plugin descriptor is \(size) bytes; ABI 1.0 needs at least \(minimum)")
        }
        guard let id = p.pointee.id.map({ String(cString: $0) }) else { throw Failure(reason: "plugin id is NULL") }
        guard isValidPluginID(id) else {
            throw Failure(reason: "plugin id '\(id)' is not lower-case letters, digits, '_' or '-'")
        }
        guard p.pointee.name != nil else { throw Failure(reason: "plugin name is NULL") }
        guard p.pointee.version != nil else { throw Failure(reason: "plugin version is NULL") }
        guard p.pointee.component_count == 0 || p.pointee.components != nil else {
            throw Failure(reason: "plugin declares \(p.pointee.component_count) components but the list is NULL")
        }
        guard p.pointee.component_count <= 10_000 else {
            throw Failure(reason: "plugin declares \(p.pointee.component_count) components; that is not credible")
        }
    }

    /// Reads and checks one component; returns its kind and schema.
    static func readComponent(_ c: UnsafePointer<stepwise_component>?, index: Int,
                              pluginMinor: UInt32 = hostVersion.minor) throws(Failure)
        -> (ComponentKind, [HyperparamInfo])
    {
        guard let c else { throw Failure(reason: "component \(index) is NULL") }
        guard c.pointee.struct_size >= offsetOfEnd(\stepwise_component.api) else {
            throw Failure(reason: "component \(index) descriptor is \(c.pointee.struct_size) bytes; ABI 1.0 needs at least \(offsetOfEnd(\stepwise_component.api))")
        }
        guard let namePtr = c.pointee.type_name else { throw Failure(reason: "component \(index) has a NULL type_name") }
        let name = String(cString: namePtr)
        guard isValidTypeName(name) else {
            throw Failure(reason: "component \(index) type name '\(name)' must be letters, digits and '_', starting with a letter")
        }
        guard let kind = ComponentKind(c.pointee.kind) else {
            throw Failure(reason: "component '\(name)' has unknown kind \(c.pointee.kind.rawValue)")
        }
        guard pluginMinor >= kind.sinceMinor else {
            throw Failure(reason: "\(kind.rawValue) '\(name)' needs Stepwise ABI 1.\(kind.sinceMinor), but the plugin says it was built for ABI 1.\(pluginMinor)")
        }
        guard let api = c.pointee.api else { throw Failure(reason: "component '\(name)' has a NULL api table") }
        try checkAPI(kind: kind, api: api, name: name)
        let count = Int(c.pointee.hyperparam_count)
        guard count == 0 || c.pointee.hyperparams != nil else {
            throw Failure(reason: "component '\(name)' declares \(count) hyperparameters but the list is NULL")
        }
        var schema: [HyperparamInfo] = []
        for i in 0..<count {
            let h = try readHyperparam(c.pointee.hyperparams[i], index: i, component: name)
            if schema.contains(where: { $0.name == h.name }) {
                throw Failure(reason: "component '\(name)' declares hyperparameter '\(h.name)' twice")
            }
            schema.append(h)
        }
        return (kind, schema)
    }

    static func checkAPI(kind: ComponentKind, api: UnsafeRawPointer, name: String) throws(Failure) {
        let size = api.load(as: Int.self)
        func need(_ minimum: Int, _ missing: [(String, Bool)]) throws(Failure) {
            guard size >= minimum else {
                throw Failure(reason: "\(kind.rawValue) '\(name)' api table is \(size) bytes; ABI 1.\(kind.sinceMinor) needs at least \(minimum)")
            }
            if let (fn, _) = missing.first(where: { !$0.1 }) {
                throw Failure(reason: "\(kind.rawValue) '\(name)' has no '\(fn)' function (required)")
            }
        }
        switch kind {
        case .optimizer:
            let a = api.assumingMemoryBound(to: stepwise_optimizer_api.self).pointee
            try need(offsetOfEnd(\stepwise_optimizer_api.state_version),
                     [("create", a.create != nil), ("destroy", a.destroy != nil), ("step", a.step != nil)])
            guard a.slot_count == 0 || a.slots != nil else {
                throw Failure(reason: "optimizer '\(name)' declares \(a.slot_count) slots but the list is NULL")
            }
            var seen = Set<String>()
            for i in 0..<Int(a.slot_count) {
                guard let s = a.slots[i], s.pointee.struct_size >= offsetOfEnd(\stepwise_slot.doc),
                      let sn = s.pointee.name else {
                    throw Failure(reason: "optimizer '\(name)' slot \(i) is NULL, too small or unnamed")
                }
                let slotName = String(cString: sn)
                guard seen.insert(slotName).inserted else {
                    throw Failure(reason: "optimizer '\(name)' declares slot '\(slotName)' twice")
                }
                guard s.pointee.kind == STEPWISE_SLOT_TENSOR || s.pointee.kind == STEPWISE_SLOT_SCALAR else {
                    throw Failure(reason: "optimizer '\(name)' slot '\(slotName)' has unknown kind \(s.pointee.kind.rawValue)")
                }
            }
            guard (a.save_state == nil) == (a.load_state == nil) else {
                throw Failure(reason: "optimizer '\(name)' must provide both save_state and load_state, or neither")
            }
        case .scheduler:
            let a = api.assumingMemoryBound(to: stepwise_scheduler_api.self).pointee
            try need(offsetOfEnd(\stepwise_scheduler_api.state_version),
                     [("create", a.create != nil), ("destroy", a.destroy != nil), ("tick", a.tick != nil)])
            guard (a.save_state == nil) == (a.load_state == nil) else {
                throw Failure(reason: "scheduler '\(name)' must provide both save_state and load_state, or neither")
            }
        case .wrapper:
            let a = api.assumingMemoryBound(to: stepwise_wrapper_api.self).pointee
            try need(offsetOfEnd(\stepwise_wrapper_api.state_version),
                     [("create", a.create != nil), ("destroy", a.destroy != nil),
                      ("loss_factor", a.loss_factor != nil), ("should_update", a.should_update != nil),
                      ("pre_step", a.pre_step != nil)])
        case .hook:
            let a = api.assumingMemoryBound(to: stepwise_hook_api.self).pointee
            try need(offsetOfEnd(\stepwise_hook_api.state_version),
                     [("create", a.create != nil), ("destroy", a.destroy != nil), ("on_event", a.on_event != nil)])
        case .communicator:
            let a = api.assumingMemoryBound(to: stepwise_communicator_api.self).pointee
            try need(offsetOfEnd(\stepwise_communicator_api.barrier),
                     [("create", a.create != nil), ("destroy", a.destroy != nil), ("rank", a.rank != nil),
                      ("size", a.size != nil), ("all_reduce", a.all_reduce != nil), ("all_gather", a.all_gather != nil),
                      ("broadcast", a.broadcast != nil), ("barrier", a.barrier != nil)])
            guard a.all_reduce_start == nil || a.wait != nil else {
                throw Failure(reason: "communicator '\(name)' has all_reduce_start but no 'wait' function")
            }
        }
    }

    static func readHyperparam(_ p: UnsafePointer<stepwise_hyperparam>?, index: Int, component: String) throws(Failure)
        -> HyperparamInfo
    {
        guard let p else { throw Failure(reason: "'\(component)' hyperparameter \(index) is NULL") }
        let h = p.pointee
        guard h.struct_size >= offsetOfEnd(\stepwise_hyperparam.doc) else {
            throw Failure(reason: "'\(component)' hyperparameter \(index) is \(h.struct_size) bytes; ABI 1.0 needs at least \(offsetOfEnd(\stepwise_hyperparam.doc))")
        }
        guard let np = h.name else { throw Failure(reason: "'\(component)' hyperparameter \(index) has no name") }
        let name = String(cString: np)
        guard isValidKey(name) else {
            throw Failure(reason: "'\(component)' hyperparameter name '\(name)' is not a valid config key")
        }
        let bad = { (why: String) in Failure(reason: "'\(component)' hyperparameter '\(name)': \(why)") }
        guard (STEPWISE_TYPE_FLOAT.rawValue...STEPWISE_TYPE_JSON.rawValue).contains(h.type.rawValue) else {
            throw bad("unknown type \(h.type.rawValue)")
        }
        var info = HyperparamInfo(
            name: name, type: h.type, role: h.role, flags: h.flags, defaultValue: nil,
            min: h.flags & UInt32(STEPWISE_HP_HAS_MIN) != 0 ? h.min : nil,
            max: h.flags & UInt32(STEPWISE_HP_HAS_MAX) != 0 ? h.max : nil,
            minExclusive: h.flags & UInt32(STEPWISE_HP_MIN_EXCLUSIVE) != 0,
            maxExclusive: h.flags & UInt32(STEPWISE_HP_MAX_EXCLUSIVE) != 0,
            vectorLength: Int(h.vector_length),
            choices: nil, label: h.label.map { String(cString: $0) },
            doc: h.doc.map { String(cString: $0) } ?? "")
        if h.choice_count > 0 {
            guard let cs = h.choices else { throw bad("declares choices but the list is NULL") }
            info.choices = try (0..<Int(h.choice_count)).map { (i) throws(Failure) in
                guard let c = cs[i] else { throw bad("choice \(i) is NULL") }
                return String(cString: c)
            }
        }
        switch h.role {
        case STEPWISE_ROLE_NONE: break
        case STEPWISE_ROLE_LR, STEPWISE_ROLE_WEIGHT_DECAY:
            guard h.type == STEPWISE_TYPE_FLOAT else { throw bad("a learning-rate or weight-decay role needs type float") }
        case STEPWISE_ROLE_MOMENTUM:
            guard h.type == STEPWISE_TYPE_FLOAT || h.type == STEPWISE_TYPE_FLOAT_VECTOR else {
                throw bad("the momentum role needs type float or float vector")
            }
        default: throw bad("unknown role \(h.role.rawValue)")
        }
        if let lo = info.min, let hi = info.max, lo > hi { throw bad("its range is empty (min \(lo) > max \(hi))") }
        if !info.isRequired {
            let v = h.default_value
            guard v.struct_size >= offsetOfEnd(\stepwise_value.count) else { throw bad("its default value is too small a struct") }
            if v.type == STEPWISE_TYPE_NONE {
                guard info.isNullable else { throw bad("its default is None but it is not nullable") }
                info.defaultValue = ConfigValue.null
            } else {
                guard v.type == h.type || (h.type == STEPWISE_TYPE_FLOAT && v.type == STEPWISE_TYPE_INT) else {
                    throw bad("its default has type \(v.type.rawValue), not the declared \(h.type.rawValue)")
                }
                let value = ValueCodec.configValue(v)
                info.defaultValue = value
                if let message = ValueCodec.rangeViolation(value, info) { throw bad("its default is invalid: \(message)") }
                if let choices = info.choices, let s = value.string, !choices.contains(s) {
                    throw bad("its default '\(s)' is not one of its choices")
                }
            }
        }
        return info
    }

    static func isValidTypeName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first.properties.isAlphabetic, first.isASCII else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
            && s.count <= 128
    }
    static func isValidKey(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 128 && s.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_")
        }
    }
    static func isValidPluginID(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
    }
}

/// The byte offset just past `field`: the smallest struct_size that contains it.
func offsetOfEnd<T, F>(_ field: KeyPath<T, F>) -> Int {
    MemoryLayout<T>.offset(of: field)! + MemoryLayout<F>.size
}
