import StepwiseABI

/// One hyperparameter as a Swift plugin declares it; turned into the static C schema by
/// `Descriptors`.
public struct Hyperparam: Sendable {
    public var name: String
    public var type: stepwise_value_type
    public var role: stepwise_role = STEPWISE_ROLE_NONE
    public var flags: UInt32 = 0
    public var defaultValue: Value
    public var min: Double? = nil
    public var max: Double? = nil
    public var minExclusive = false
    public var maxExclusive = false
    public var vectorLength: Int = 0
    public var choices: [String]? = nil
    public var label: String? = nil
    public var doc: String

    public init(_ name: String, _ type: stepwise_value_type, default defaultValue: Value,
                role: stepwise_role = STEPWISE_ROLE_NONE, flags: UInt32 = 0,
                min: Double? = nil, max: Double? = nil, minExclusive: Bool = false,
                maxExclusive: Bool = false, vectorLength: Int = 0, choices: [String]? = nil,
                label: String? = nil, doc: String) {
        self.name = name; self.type = type; self.defaultValue = defaultValue; self.role = role
        self.flags = flags; self.min = min; self.max = max; self.minExclusive = minExclusive
        self.maxExclusive = maxExclusive; self.vectorLength = vectorLength; self.choices = choices
        self.label = label; self.doc = doc
    }

    // Shorthands for the common shapes, so a schema reads as a table.
    public static func float(_ name: String, _ value: Double, role: stepwise_role = STEPWISE_ROLE_NONE,
                             min: Double? = nil, max: Double? = nil, minExclusive: Bool = false,
                             maxExclusive: Bool = false, flags: UInt32 = 0, label: String? = nil,
                             doc: String) -> Hyperparam {
        Hyperparam(name, STEPWISE_TYPE_FLOAT, default: .float(value), role: role, flags: flags, min: min,
                   max: max, minExclusive: minExclusive, maxExclusive: maxExclusive, label: label, doc: doc)
    }
    public static func int(_ name: String, _ value: Int64, min: Double? = nil, max: Double? = nil,
                           flags: UInt32 = 0, label: String? = nil, doc: String) -> Hyperparam {
        Hyperparam(name, STEPWISE_TYPE_INT, default: .int(value), flags: flags, min: min, max: max,
                   label: label, doc: doc)
    }
    public static func bool(_ name: String, _ value: Bool, flags: UInt32 = 0, doc: String) -> Hyperparam {
        Hyperparam(name, STEPWISE_TYPE_BOOL, default: .bool(value), flags: flags, doc: doc)
    }
    public static func string(_ name: String, _ value: String?, choices: [String]? = nil,
                              flags: UInt32 = 0, doc: String) -> Hyperparam {
        Hyperparam(name, STEPWISE_TYPE_STRING, default: value.map(Value.string) ?? .none,
                   flags: flags | (value == nil ? UInt32(STEPWISE_HP_NULLABLE) : 0), choices: choices, doc: doc)
    }
    public static func floats(_ name: String, _ value: [Double], role: stepwise_role = STEPWISE_ROLE_NONE,
                              min: Double? = nil, max: Double? = nil, minExclusive: Bool = false,
                              maxExclusive: Bool = false, length: Int = 0, flags: UInt32 = 0,
                              label: String? = nil, doc: String) -> Hyperparam {
        Hyperparam(name, STEPWISE_TYPE_FLOAT_VECTOR, default: .floats(value), role: role, flags: flags,
                   min: min, max: max, minExclusive: minExclusive, maxExclusive: maxExclusive,
                   vectorLength: length, label: label, doc: doc)
    }
    /// A torch key that only selects a kernel there (`foreach`, `fused`, ...): accepted,
    /// documented as having no effect.
    public static func noEffect(_ name: String, _ type: stepwise_value_type = STEPWISE_TYPE_BOOL,
                                default value: Value = .none) -> Hyperparam {
        Hyperparam(name, type, default: value,
                   flags: UInt32(STEPWISE_HP_NO_EFFECT | STEPWISE_HP_NULLABLE | STEPWISE_HP_PER_GROUP),
                   doc: "accepted for torch compatibility; no effect (Stepwise has one fused kernel)")
    }
}

/// A named piece of per-parameter optimizer state.
public struct Slot: Sendable {
    public var name: String
    public var kind: stepwise_slot_kind
    public var doc: String
    public init(_ name: String, _ kind: stepwise_slot_kind = STEPWISE_SLOT_TENSOR, doc: String) {
        self.name = name; self.kind = kind; self.doc = doc
    }
    public static func scalar(_ name: String, doc: String) -> Slot { Slot(name, STEPWISE_SLOT_SCALAR, doc: doc) }
}

/// Builds the static C descriptors a plugin returns. Everything allocated here lives until
/// the process exits, as the ABI requires of descriptors; nothing is ever freed, and the
/// builder keeps no state of its own (no globals in the kit).
public enum Descriptors {
    public static func string(_ s: String) -> UnsafePointer<CChar> {
        let utf8 = Array(s.utf8CString)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
        p.initialize(from: utf8, count: utf8.count)
        return UnsafePointer(p)
    }

    public static func optionalString(_ s: String?) -> UnsafePointer<CChar>? { s.map(string) }

    public static func object<T>(_ value: T) -> UnsafePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: 1)
        p.initialize(to: value)
        return UnsafePointer(p)
    }

    public static func array<T>(_ items: [T]) -> UnsafePointer<T>? {
        guard !items.isEmpty else { return nil }
        let p = UnsafeMutablePointer<T>.allocate(capacity: items.count)
        p.initialize(from: items, count: items.count)
        return UnsafePointer(p)
    }

    public static func pointers<T>(_ items: [UnsafePointer<T>]) -> UnsafePointer<UnsafePointer<T>?>? {
        array(items.map { Optional($0) })
    }

    public static func value(_ v: Value) -> stepwise_value {
        var out = stepwise_value()
        out.struct_size = MemoryLayout<stepwise_value>.size
        out.type = v.type
        switch v {
        case .none: break
        case .float(let f): out.f = f
        case .int(let i): out.i = i
        case .bool(let b): out.b = b
        case .string(let s), .json(let s): out.s = string(s)
        case .floats(let fs): out.fv = array(fs); out.count = UInt32(fs.count)
        case .ints(let xs): out.iv = array(xs); out.count = UInt32(xs.count)
        }
        return out
    }

    public static func hyperparam(_ h: Hyperparam) -> UnsafePointer<stepwise_hyperparam> {
        var c = stepwise_hyperparam()
        c.struct_size = MemoryLayout<stepwise_hyperparam>.size
        c.name = string(h.name)
        c.type = h.type
        c.role = h.role
        var flags = h.flags
        if let min = h.min { c.min = min; flags |= UInt32(STEPWISE_HP_HAS_MIN) }
        if let max = h.max { c.max = max; flags |= UInt32(STEPWISE_HP_HAS_MAX) }
        if h.minExclusive { flags |= UInt32(STEPWISE_HP_MIN_EXCLUSIVE) }
        if h.maxExclusive { flags |= UInt32(STEPWISE_HP_MAX_EXCLUSIVE) }
        if h.defaultValue == .none && h.flags & UInt32(STEPWISE_HP_REQUIRED) == 0 {
            flags |= UInt32(STEPWISE_HP_NULLABLE)
        }
        c.flags = flags
        c.default_value = value(h.defaultValue)
        c.vector_length = UInt32(h.vectorLength)
        if let choices = h.choices {
            c.choices = pointers(choices.map(string))
            c.choice_count = UInt32(choices.count)
        }
        c.label = optionalString(h.label)
        c.doc = string(h.doc)
        return object(c)
    }

    public static func component(kind: stepwise_kind, typeName: String, summary: String,
                                 reference: String, hyperparams: [Hyperparam],
                                 api: UnsafeRawPointer) -> UnsafePointer<stepwise_component> {
        var c = stepwise_component()
        c.struct_size = MemoryLayout<stepwise_component>.size
        c.kind = kind
        c.type_name = string(typeName)
        c.summary = string(summary)
        c.reference = string(reference)
        c.hyperparam_count = UInt32(hyperparams.count)
        c.hyperparams = pointers(hyperparams.map(hyperparam))
        c.api = api
        return object(c)
    }

    public static func plugin(id: String, name: String, version: String, vendor: String? = nil,
                              description: String? = nil,
                              components: [UnsafePointer<stepwise_component>]) -> UnsafePointer<stepwise_plugin> {
        var p = stepwise_plugin()
        p.struct_size = MemoryLayout<stepwise_plugin>.size
        p.abi_version = stepwise_version(major: STEPWISE_ABI_MAJOR, minor: STEPWISE_ABI_MINOR)
        p.id = string(id)
        p.name = string(name)
        p.version = string(version)
        p.vendor = optionalString(vendor)
        p.description = optionalString(description)
        p.component_count = UInt32(components.count)
        p.components = pointers(components)
        return object(p)
    }
}
