import Foundation
import StepwiseABI

/// A component's hyperparameters resolved from a config: one validated value per declared
/// hyperparameter, in schema order, with defaults filled in. Owns the C `stepwise_values`
/// handed to the plugin, which stays valid as long as this object lives (the ABI requires
/// it to outlive the instance built from it).
public final class ResolvedValues: @unchecked Sendable {
    public let component: Component
    public private(set) var values: [ConfigValue]
    /// Keys the config gave explicitly (not defaults), in config order.
    public private(set) var explicitKeys: [String]

    private let items: UnsafeMutablePointer<stepwise_value>
    private let pointers: UnsafeMutablePointer<UnsafePointer<stepwise_value>?>
    private let header: UnsafeMutablePointer<stepwise_values>
    private var owned: [UnsafeMutableRawPointer?]

    public var raw: UnsafePointer<stepwise_values> { UnsafePointer(header) }

    init(component: Component, values: [ConfigValue], explicitKeys: [String]) {
        self.component = component
        self.values = values
        self.explicitKeys = explicitKeys
        let n = values.count
        items = .allocate(capacity: max(n, 1))
        pointers = .allocate(capacity: max(n, 1))
        header = .allocate(capacity: 1)
        owned = Array(repeating: nil, count: n)
        for i in 0..<n {
            (items + i).initialize(to: stepwise_value())
            pointers[i] = UnsafePointer(items + i)
        }
        var h = stepwise_values()
        h.struct_size = MemoryLayout<stepwise_values>.size
        h.count = UInt32(n)
        h.items = UnsafePointer(pointers)
        header.initialize(to: h)
        for i in 0..<n { encode(i) }
    }

    deinit {
        for p in owned { p?.deallocate() }
        items.deallocate()
        pointers.deallocate()
        header.deallocate()
    }

    public func index(of name: String) -> Int? { component.hyperparams.firstIndex { $0.name == name } }

    public subscript(name: String) -> ConfigValue? { index(of: name).map { values[$0] } }

    /// The name of the hyperparameter with `role`, if the component declares one.
    public func name(for role: stepwise_role) -> String? { component.hyperparam(role: role)?.name }

    /// Replaces a value after validating it against the schema (type and range).
    public func set(_ name: String, _ value: ConfigValue) throws {
        guard let i = index(of: name) else {
            throw StepwiseError.config("\(component.kind.rawValue) \(component.typeName) has no hyperparameter '\(name)'")
        }
        let h = component.hyperparams[i]
        switch ValueCodec.coerce(value, h) {
        case .failure(let why):
            throw StepwiseError.config("\(component.kind.rawValue) \(component.typeName): '\(name)' \(why.description)")
        case .success(let v):
            if let message = ValueCodec.rangeViolation(v, h) {
                throw StepwiseError.config("\(message) (key '\(name)' of \(component.kind.rawValue) \(component.typeName))")
            }
            values[i] = v
            encode(i)
            if !explicitKeys.contains(name) { explicitKeys.append(name) }
        }
    }

    /// Sets a float hyperparameter, or element `element` of a float vector, without
    /// allocating: schedulers call this every iteration.
    public func setDouble(at index: Int, _ x: Double, element: Int = 0) {
        switch values[index] {
        case .list(var list):
            guard element < list.count else { return }
            list[element] = .float(x)
            values[index] = .list(list)
            if let fv = items[index].fv { UnsafeMutablePointer(mutating: fv)[element] = x }
        default:
            values[index] = .float(x)
            items[index].type = STEPWISE_TYPE_FLOAT
            items[index].f = x
        }
    }

    public func double(at index: Int, element: Int = 0) -> Double? {
        switch values[index] {
        case .list(let list): element < list.count ? list[element].double : nil
        default: values[index].double
        }
    }

    /// An independent copy (param groups start as copies of the defaults).
    public func copy() -> ResolvedValues {
        ResolvedValues(component: component, values: values, explicitKeys: explicitKeys)
    }

    private func encode(_ i: Int) {
        owned[i]?.deallocate()
        owned[i] = nil
        var c = stepwise_value()
        c.struct_size = MemoryLayout<stepwise_value>.size
        let h = component.hyperparams[i]
        switch values[i] {
        case .null: c.type = STEPWISE_TYPE_NONE
        case .bool, .int, .float:
            if h.type == STEPWISE_TYPE_JSON {
                c.type = STEPWISE_TYPE_JSON
                c.s = UnsafePointer(ownString(JSONText.render(values[i]), at: i))
            } else {
                encodeScalar(values[i], type: h.type, into: &c)
            }
        case .string(let s):
            // A JSON-typed key always receives JSON text, so a string arrives quoted.
            if h.type == STEPWISE_TYPE_JSON {
                c.type = STEPWISE_TYPE_JSON
                c.s = UnsafePointer(ownString(JSONText.render(.string(s)), at: i))
            } else {
                c.type = STEPWISE_TYPE_STRING
                c.s = UnsafePointer(ownString(s, at: i))
            }
        case .list(let list):
            if h.type == STEPWISE_TYPE_JSON {
                c.type = STEPWISE_TYPE_JSON
                c.s = UnsafePointer(ownString(JSONText.render(.list(list)), at: i))
            } else if h.type == STEPWISE_TYPE_INT_VECTOR {
                c.type = STEPWISE_TYPE_INT_VECTOR
                let p = UnsafeMutablePointer<Int64>.allocate(capacity: max(list.count, 1))
                for (k, v) in list.enumerated() { p[k] = v.int ?? 0 }
                owned[i] = UnsafeMutableRawPointer(p)
                c.iv = UnsafePointer(p)
                c.count = UInt32(list.count)
            } else {
                c.type = STEPWISE_TYPE_FLOAT_VECTOR
                let p = UnsafeMutablePointer<Double>.allocate(capacity: max(list.count, 1))
                for (k, v) in list.enumerated() { p[k] = v.double ?? .nan }
                owned[i] = UnsafeMutableRawPointer(p)
                c.fv = UnsafePointer(p)
                c.count = UInt32(list.count)
            }
        case .dict(let d):
            c.type = STEPWISE_TYPE_JSON
            c.s = UnsafePointer(ownString(JSONText.render(.dict(d)), at: i))
        }
        items[i] = c
    }

    private func encodeScalar(_ v: ConfigValue, type: stepwise_value_type, into c: inout stepwise_value) {
        switch v {
        case .bool(let b): c.type = STEPWISE_TYPE_BOOL; c.b = b
        case .int(let x):
            if type == STEPWISE_TYPE_FLOAT { c.type = STEPWISE_TYPE_FLOAT; c.f = Double(x) } else { c.type = STEPWISE_TYPE_INT; c.i = x }
        case .float(let x): c.type = STEPWISE_TYPE_FLOAT; c.f = x
        default: break
        }
    }

    private func ownString(_ s: String, at i: Int) -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(s.utf8CString)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
        p.initialize(from: utf8, count: utf8.count)
        owned[i] = UnsafeMutableRawPointer(p)
        return p
    }
}

extension Component {
    /// Validates `config` against this component's schema and resolves every
    /// hyperparameter. `type` and the keys in `ignoring` are not hyperparameters.
    /// `overriding`: a group's values start from these (param-group overrides) and only
    /// PER_GROUP keys may be overridden.
    public func resolve(_ config: ConfigDict, ignoring: Set<String> = ["type"],
                        overriding base: ResolvedValues? = nil) throws -> ResolvedValues {
        var values = base?.values ?? hyperparams.map { $0.defaultValue ?? .null }
        var explicit = base?.explicitKeys ?? []
        let what = "\(kind.rawValue) \(typeName)"
        func at(_ key: String) -> String {
            config.origin(of: key).map { " in \($0)" } ?? ""
        }
        for entry in config.entries where !ignoring.contains(entry.key) {
            guard let i = hyperparams.firstIndex(where: { $0.name == entry.key }) else {
                let keys = hyperparams.map(\.name)
                let hint = Suggest.nearest(entry.key, in: keys).map { "; did you mean '\($0)'?" } ?? ""
                throw StepwiseError.config(
                    "unknown key '\(entry.key)' for \(what)\(at(entry.key))\(hint) (valid keys: \(keys.joined(separator: ", ")))")
            }
            let h = hyperparams[i]
            if base != nil && !h.has(STEPWISE_HP_PER_GROUP) {
                throw StepwiseError.config("key '\(entry.key)' of \(what) cannot be set per param group\(at(entry.key))")
            }
            switch ValueCodec.coerce(entry.value, h) {
            case .failure(let why):
                throw StepwiseError.config("key '\(entry.key)' of \(what)\(at(entry.key)) \(why.description)")
            case .success(let v):
                if let message = ValueCodec.rangeViolation(v, h) {
                    throw StepwiseError.config("\(message) (key '\(entry.key)' of \(what)\(at(entry.key)))")
                }
                values[i] = v
                if !explicit.contains(entry.key) { explicit.append(entry.key) }
            }
        }
        for (i, h) in hyperparams.enumerated() where h.isRequired && values[i] == .null && !explicit.contains(h.name) {
            throw StepwiseError.config("missing required key '\(h.name)' for \(what)\(config.origin.map { " in \($0)" } ?? "")")
        }
        let resolved = ResolvedValues(component: self, values: values, explicitKeys: explicit)
        try runCheck(resolved, context: "\(what)\(config.origin.map { " in \($0)" } ?? "")")
        return resolved
    }

    /// Calls the component's cross-key check, if it has one.
    func runCheck(_ values: ResolvedValues, context: String) throws {
        let check: CheckFn?
        switch kind {
        case .optimizer: check = optimizerAPI?.pointee.check
        case .scheduler: check = schedulerAPI?.pointee.check
        case .wrapper: check = wrapperAPI?.pointee.check
        case .hook: check = hookAPI?.pointee.check
        case .communicator: check = communicatorAPI?.pointee.check
        }
        guard let check else { return }
        var error: OpaquePointer? = nil
        let status = check(host, values.raw, &error)
        if status != STEPWISE_OK {
            throw HostServices.takeError(error, status: status, context: context)
        }
    }
}

typealias CheckFn = @convention(c) (UnsafePointer<stepwise_host>?, UnsafePointer<stepwise_values>?,
                                    UnsafeMutablePointer<OpaquePointer?>?) -> stepwise_status

/// "Did you mean" suggestions by edit distance.
public enum Suggest {
    public static func nearest(_ word: String, in candidates: [String]) -> String? {
        let w = Array(word.lowercased())
        var best: (String, Int)? = nil
        for c in candidates {
            let d = distance(w, Array(c.lowercased()))
            if d <= max(2, w.count / 3), best == nil || d < best!.1 { best = (c, d) }
        }
        return best?.0
    }

    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = prev
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
