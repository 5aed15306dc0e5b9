import StepwiseABI

/// A config value as a plugin declares it (schema defaults).
public enum Value: Sendable, Equatable {
    case none
    case float(Double)
    case int(Int64)
    case bool(Bool)
    case string(String)
    case floats([Double])
    case ints([Int64])
    case json(String)

    public var type: stepwise_value_type {
        switch self {
        case .none: STEPWISE_TYPE_NONE
        case .float: STEPWISE_TYPE_FLOAT
        case .int: STEPWISE_TYPE_INT
        case .bool: STEPWISE_TYPE_BOOL
        case .string: STEPWISE_TYPE_STRING
        case .floats: STEPWISE_TYPE_FLOAT_VECTOR
        case .ints: STEPWISE_TYPE_INT_VECTOR
        case .json: STEPWISE_TYPE_JSON
        }
    }
}

/// Resolved hyperparameters handed to a plugin: one value per declared hyperparameter,
/// in schema order. Read them by index; components name their indices with an enum.
public struct Values: @unchecked Sendable {
    public let raw: UnsafePointer<stepwise_values>

    public init(_ raw: UnsafePointer<stepwise_values>) { self.raw = raw }

    public var count: Int { Int(raw.pointee.count) }

    public subscript(index: Int) -> stepwise_value {
        precondition(index < count, "hyperparameter index \(index) out of range")
        return raw.pointee.items[index]!.pointee
    }

    public func isNone(_ i: Int) -> Bool { self[i].type == STEPWISE_TYPE_NONE }
    public func double(_ i: Int) -> Double {
        let v = self[i]
        return v.type == STEPWISE_TYPE_INT ? Double(v.i) : v.f
    }
    public func float(_ i: Int) -> Float { Float(double(i)) }
    public func int(_ i: Int) -> Int {
        let v = self[i]
        return v.type == STEPWISE_TYPE_FLOAT ? Int(v.f) : Int(v.i)
    }
    public func bool(_ i: Int) -> Bool { self[i].b }
    public func string(_ i: Int) -> String {
        let v = self[i]
        return v.s.map { String(cString: $0) } ?? ""
    }
    public func doubles(_ i: Int) -> [Double] {
        let v = self[i]
        if v.type == STEPWISE_TYPE_FLOAT { return [v.f] }
        if v.type == STEPWISE_TYPE_INT { return [Double(v.i)] }
        if v.type == STEPWISE_TYPE_INT_VECTOR { return (0..<Int(v.count)).map { Double(v.iv[$0]) } }
        guard let p = v.fv else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: Int(v.count)))
    }
    public func ints(_ i: Int) -> [Int] {
        let v = self[i]
        if v.type == STEPWISE_TYPE_INT { return [Int(v.i)] }
        if v.type == STEPWISE_TYPE_FLOAT_VECTOR { return (0..<Int(v.count)).map { Int(v.fv[$0]) } }
        guard let p = v.iv else { return [] }
        return (0..<Int(v.count)).map { Int(p[$0]) }
    }
}
