import Foundation
import StepwiseABI

/// Conversions between config values and the ABI's `stepwise_value`, and the schema
/// checks that produce torch-like messages.
/// Why a config value does not fit a hyperparameter.
struct CoercionFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

enum ValueCodec {
    static func configValue(_ v: stepwise_value) -> ConfigValue {
        switch v.type {
        case STEPWISE_TYPE_FLOAT: return .float(v.f)
        case STEPWISE_TYPE_INT: return .int(v.i)
        case STEPWISE_TYPE_BOOL: return .bool(v.b)
        case STEPWISE_TYPE_STRING: return v.s.map { .string(String(cString: $0)) } ?? .null
        case STEPWISE_TYPE_FLOAT_VECTOR:
            guard let p = v.fv else { return .list([]) }
            return .list((0..<Int(v.count)).map { .float(p[$0]) })
        case STEPWISE_TYPE_INT_VECTOR:
            guard let p = v.iv else { return .list([]) }
            return .list((0..<Int(v.count)).map { .int(p[$0]) })
        case STEPWISE_TYPE_JSON:
            // A JSON-typed value is JSON text (a schema default, or what the host encoded).
            guard let text = v.s.map({ String(cString: $0) }) else { return .null }
            let wrapped = try? ConfigLoader.parse(string: "{\"v\": \(text)}", format: .json, origin: "<json value>")
            return wrapped?["v"] ?? .string(text)
        default: return .null
        }
    }

    /// Checks a value's type against a hyperparameter and normalizes it (ints to floats
    /// for float keys, a scalar to a one-element vector with SCALAR_OK). Returns the
    /// message of the mismatch on failure.
    static func coerce(_ value: ConfigValue, _ h: HyperparamInfo) -> Result<ConfigValue, CoercionFailure> {
        if case .null = value {
            return h.isNullable ? .success(.null) : .failure(CoercionFailure("expects \(h.typeName), got None"))
        }
        let wrongType = Result<ConfigValue, CoercionFailure>.failure(CoercionFailure("expects \(h.typeName), got \(value.typeDescription) (\(render(value)))"))
        switch h.type {
        case STEPWISE_TYPE_FLOAT:
            guard let d = value.double else { return wrongType }
            return .success(.float(d))
        case STEPWISE_TYPE_INT:
            if let i = value.int { return .success(.int(i)) }
            return wrongType
        case STEPWISE_TYPE_BOOL:
            guard value.bool != nil else { return wrongType }
            return .success(value)
        case STEPWISE_TYPE_STRING:
            guard let s = value.string else { return wrongType }
            if let choices = h.choices, !choices.contains(s) {
                return .failure(CoercionFailure("must be one of \(choices.map { "'\($0)'" }.joined(separator: ", ")), got '\(s)'"))
            }
            return .success(value)
        case STEPWISE_TYPE_FLOAT_VECTOR, STEPWISE_TYPE_INT_VECTOR:
            let isFloat = h.type == STEPWISE_TYPE_FLOAT_VECTOR
            var items: [ConfigValue]
            if let list = value.list {
                items = list
            } else if h.has(STEPWISE_HP_SCALAR_OK), value.double != nil {
                items = [value]
            } else {
                return wrongType
            }
            for (i, item) in items.enumerated() {
                if isFloat {
                    guard let d = item.double else { return .failure(CoercionFailure("expects \(h.typeName); element \(i) is \(item.typeDescription)")) }
                    items[i] = .float(d)
                } else {
                    guard item.int != nil else { return .failure(CoercionFailure("expects \(h.typeName); element \(i) is \(item.typeDescription)")) }
                }
            }
            if h.vectorLength > 0 && items.count != h.vectorLength {
                return .failure(CoercionFailure("expects \(h.vectorLength) values, got \(items.count)"))
            }
            return .success(.list(items))
        case STEPWISE_TYPE_JSON:
            return .success(value)
        default:
            return wrongType
        }
    }

    /// A torch-style message when a (coerced) value is outside the declared range.
    static func rangeViolation(_ value: ConfigValue, _ h: HyperparamInfo) -> String? {
        guard h.min != nil || h.max != nil else { return nil }
        let label = h.label ?? "value of '\(h.name)'"
        func outside(_ x: Double) -> Bool {
            if x.isNaN { return true }
            if let lo = h.min, h.minExclusive ? !(x > lo) : !(x >= lo) { return true }
            if let hi = h.max, h.maxExclusive ? !(x < hi) : !(x <= hi) { return true }
            return false
        }
        // The range text is built only for a message: formatting is slow at load time.
        if let list = value.list {
            for (i, item) in list.enumerated() {
                if let x = item.double, outside(x) {
                    return "Invalid \(label) at index \(i): \(render(item)) (must be in \(h.rangeDescription ?? ""))"
                }
            }
            return nil
        }
        if let x = value.double, outside(x) { return "Invalid \(label): \(render(value)) (must be in \(h.rangeDescription ?? ""))" }
        return nil
    }

    /// Python-like rendering of a value for messages.
    static func render(_ v: ConfigValue) -> String {
        switch v {
        case .null: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): "\(i)"
        case .float(let f): formatNumber(f)
        case .string(let s): "'\(s)'"
        case .list(let l): "[" + l.map(render).joined(separator: ", ") + "]"
        case .dict(let d): "{" + d.entries.map { "\($0.key): \(render($0.value))" }.joined(separator: ", ") + "}"
        }
    }
}

/// JSON rendering of config values, for JSON-typed hyperparameters handed to plugins.
enum JSONText {
    static func render(_ v: ConfigValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return "\(i)"
        case .float(let f): return f.isFinite ? "\(f)" : (f.isNaN ? "NaN" : (f > 0 ? "Infinity" : "-Infinity"))
        case .string(let s): return quote(s)
        case .list(let l): return "[" + l.map(render).joined(separator: ",") + "]"
        case .dict(let d): return "{" + d.entries.map { quote($0.key) + ":" + render($0.value) }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ s: String) -> String { JSONValue.quote(s) }
}
