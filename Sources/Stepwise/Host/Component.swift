import StepwiseABI

public enum ComponentKind: String, Sendable, CaseIterable, Codable {
    case optimizer, scheduler, wrapper, hook, communicator

    /// The ABI minor version that introduced the kind.
    public var sinceMinor: UInt32 { self == .communicator ? 1 : 0 }

    /// "an optimizer", "a scheduler", ... for messages.
    public var withArticle: String { (self == .optimizer ? "an " : "a ") + rawValue }

    init?(_ c: stepwise_kind) {
        switch c {
        case STEPWISE_KIND_OPTIMIZER: self = .optimizer
        case STEPWISE_KIND_SCHEDULER: self = .scheduler
        case STEPWISE_KIND_WRAPPER: self = .wrapper
        case STEPWISE_KIND_HOOK: self = .hook
        case STEPWISE_KIND_COMMUNICATOR: self = .communicator
        default: return nil
        }
    }
}

/// A hyperparameter as the host reads it from a plugin's schema.
public struct HyperparamInfo: Sendable {
    public var name: String
    public var type: stepwise_value_type
    public var role: stepwise_role
    public var flags: UInt32
    public var defaultValue: ConfigValue?  // nil when required
    public var min: Double?
    public var max: Double?
    public var minExclusive: Bool
    public var maxExclusive: Bool
    public var vectorLength: Int
    public var choices: [String]?
    public var label: String?
    public var doc: String

    public func has(_ flag: Int) -> Bool { flags & UInt32(flag) != 0 }
    public var isRequired: Bool { has(STEPWISE_HP_REQUIRED) }
    public var isNullable: Bool { has(STEPWISE_HP_NULLABLE) }
    public var hasNoEffect: Bool { has(STEPWISE_HP_NO_EFFECT) }

    public var typeName: String {
        switch type {
        case STEPWISE_TYPE_FLOAT: "float"
        case STEPWISE_TYPE_INT: "int"
        case STEPWISE_TYPE_BOOL: "bool"
        case STEPWISE_TYPE_STRING: "string"
        case STEPWISE_TYPE_FLOAT_VECTOR: vectorLength > 0 ? "float[\(vectorLength)]" : "float[]"
        case STEPWISE_TYPE_INT_VECTOR: vectorLength > 0 ? "int[\(vectorLength)]" : "int[]"
        case STEPWISE_TYPE_JSON: "any"
        default: "?"
        }
    }

    public var roleName: String? {
        switch role {
        case STEPWISE_ROLE_LR: "lr"
        case STEPWISE_ROLE_MOMENTUM: "momentum"
        case STEPWISE_ROLE_WEIGHT_DECAY: "weight_decay"
        default: nil
        }
    }

    /// The valid range in interval notation, e.g. "[0, 1)", or nil when unbounded.
    public var rangeDescription: String? {
        guard min != nil || max != nil else { return nil }
        let lo = min.map { "\(minExclusive ? "(" : "[")\(formatNumber($0))" } ?? "(-inf"
        let hi = max.map { "\(formatNumber($0))\(maxExclusive ? ")" : "]")" } ?? "inf)"
        return "\(lo), \(hi)"
    }
}

/// A registered component: its descriptor, read once at load time, and its plugin.
public final class Component: @unchecked Sendable {
    public let kind: ComponentKind
    public let typeName: String
    public let summary: String
    public let reference: String
    public let hyperparams: [HyperparamInfo]
    public unowned let plugin: LoadedPlugin
    public let raw: UnsafePointer<stepwise_component>

    public var qualifiedName: String { "\(plugin.id).\(typeName)" }

    init(kind: ComponentKind, raw: UnsafePointer<stepwise_component>, hyperparams: [HyperparamInfo],
         plugin: LoadedPlugin) {
        self.kind = kind
        self.raw = raw
        self.typeName = String(cString: raw.pointee.type_name)
        self.summary = raw.pointee.summary.map { String(cString: $0) } ?? ""
        self.reference = raw.pointee.reference.map { String(cString: $0) } ?? ""
        self.hyperparams = hyperparams
        self.plugin = plugin
    }

    public var optimizerAPI: UnsafePointer<stepwise_optimizer_api>? {
        kind == .optimizer ? raw.pointee.api.assumingMemoryBound(to: stepwise_optimizer_api.self) : nil
    }
    public var schedulerAPI: UnsafePointer<stepwise_scheduler_api>? {
        kind == .scheduler ? raw.pointee.api.assumingMemoryBound(to: stepwise_scheduler_api.self) : nil
    }
    public var wrapperAPI: UnsafePointer<stepwise_wrapper_api>? {
        kind == .wrapper ? raw.pointee.api.assumingMemoryBound(to: stepwise_wrapper_api.self) : nil
    }
    public var hookAPI: UnsafePointer<stepwise_hook_api>? {
        kind == .hook ? raw.pointee.api.assumingMemoryBound(to: stepwise_hook_api.self) : nil
    }

    public var communicatorAPI: UnsafePointer<stepwise_communicator_api>? {
        kind == .communicator ? raw.pointee.api.assumingMemoryBound(to: stepwise_communicator_api.self) : nil
    }

    /// The services table handed to this component's plugin.
    public var host: UnsafePointer<stepwise_host> { plugin.hostTable }

    public func hyperparam(named name: String) -> HyperparamInfo? { hyperparams.first { $0.name == name } }
    public func hyperparam(role: stepwise_role) -> HyperparamInfo? { hyperparams.first { $0.role == role } }
}

/// One plugin file that loaded.
public final class LoadedPlugin: @unchecked Sendable {
    public let path: String
    public let id: String
    public let name: String
    public let version: String
    public let vendor: String?
    public let description: String?
    public let abiVersion: (major: UInt32, minor: UInt32)
    public internal(set) var components: [Component] = []
    let hostTable: UnsafePointer<stepwise_host>
    /// The descriptor the entry returned (static), for the validator's size checks.
    let descriptor: UnsafePointer<stepwise_plugin>

    init(path: String, raw: UnsafePointer<stepwise_plugin>, hostTable: UnsafePointer<stepwise_host>) {
        self.path = path
        self.id = String(cString: raw.pointee.id)
        self.name = String(cString: raw.pointee.name)
        self.version = String(cString: raw.pointee.version)
        self.vendor = raw.pointee.vendor.map { String(cString: $0) }
        self.description = raw.pointee.description.map { String(cString: $0) }
        self.abiVersion = (raw.pointee.abi_version.major, raw.pointee.abi_version.minor)
        self.hostTable = hostTable
        self.descriptor = raw
    }

    public var fileName: String { path.split(separator: "/").last.map(String.init) ?? path }
}

/// Python-like number formatting for messages: 1.0, 0.001, 1e-08.
func formatNumber(_ x: Double) -> String {
    if x == x.rounded(), abs(x) < 1e16 { return "\(Int64(x)).0" }
    return "\(x)"
}
