import Foundation
import StepwiseABI
import StepwiseKit

// Pieces every scheduler family shares: Python's arithmetic where Swift's differs, the
// annealing curves, per-group value lists, hyperparameter shorthands and state I/O.

/// Foundation also has a `Host`; in this plugin the name means the kit's.
typealias Host = StepwiseKit.Host

/// MMEngine's `INF = int(1e9)`: the `end` of a scheduler whose window never closes.
let mmengineInfinity: Int64 = 1_000_000_000

enum Py {
    /// Python's `round()`: halves go to the even neighbour.
    static func round(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }
    /// Python's `a // b` for ints (floor, not truncation).
    static func floorDiv(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
    /// Python's `a ** b` for floats (libm `pow`, exactly what CPython calls).
    static func pow(_ a: Double, _ b: Double) -> Double { Foundation.pow(a, b) }
}

/// Cosine annealing from `start` to `end` as `pct` goes 0 -> 1, in torch's and MMEngine's
/// operation order (`end + (start - end) / 2 * (cos(pi pct) + 1)`).
func annealCosTorch(_ start: Double, _ end: Double, _ pct: Double) -> Double {
    end + (start - end) / 2.0 * (cos(Double.pi * pct) + 1)
}

func annealLinearTorch(_ start: Double, _ end: Double, _ pct: Double) -> Double {
    (end - start) * pct + start
}

/// MMCV's `annealing_cos`, with its restart weight, in MMCV's operation order.
func annealCosMMCV(_ start: Double, _ end: Double, _ factor: Double, weight: Double = 1) -> Double {
    end + 0.5 * weight * (start - end) * (cos(Double.pi * factor) + 1)
}

func annealLinearMMCV(_ start: Double, _ end: Double, _ factor: Double) -> Double {
    start + (end - start) * factor
}

enum AnnealStrategy: String {
    case cos, linear
}

extension Values {
    func optionalDouble(_ i: Int) -> Double? { isNone(i) ? nil : double(i) }
    func optionalInt(_ i: Int) -> Int? { isNone(i) ? nil : int(i) }
    func optionalString(_ i: Int) -> String? { isNone(i) ? nil : string(i) }

    /// A number or a list with one number per param group (torch's `_format_param`).
    /// `name` and `owner` go into the error a wrong length gives.
    func perGroup(_ i: Int, groups: Int, name: String, owner: String) throws(PluginError) -> [Double] {
        let v = self[i]
        if v.type == STEPWISE_TYPE_FLOAT || v.type == STEPWISE_TYPE_INT { return Array(repeating: double(i), count: groups) }
        let list = doubles(i)
        if list.count == 1 && v.type != STEPWISE_TYPE_FLOAT_VECTOR { return Array(repeating: list[0], count: groups) }
        guard list.count == groups else {
            throw .invalid("\(owner): \(name) must have one value per param group: expected \(groups), got \(list.count)")
        }
        return list
    }
}

/// Hyperparameter shorthands used across the families.
enum HP {
    static let period = UInt32(STEPWISE_HP_PERIOD)
    static let required = UInt32(STEPWISE_HP_REQUIRED)
    static let nullable = UInt32(STEPWISE_HP_NULLABLE)
    static let scalarOK = UInt32(STEPWISE_HP_SCALAR_OK)

    static func requiredInt(_ name: String, min: Double? = nil, flags: UInt32 = 0, doc: String) -> Hyperparam {
        Hyperparam(name, STEPWISE_TYPE_INT, default: .none, flags: required | flags, min: min, doc: doc)
    }
    static func requiredFloat(_ name: String, min: Double? = nil, max: Double? = nil, minExclusive: Bool = false,
                              doc: String) -> Hyperparam {
        Hyperparam(name, STEPWISE_TYPE_FLOAT, default: .none, flags: required, min: min, max: max,
                   minExclusive: minExclusive, doc: doc)
    }
    static func optionalInt(_ name: String, min: Double? = nil, flags: UInt32 = 0, doc: String) -> Hyperparam {
        Hyperparam(name, STEPWISE_TYPE_INT, default: .none, flags: nullable | flags, min: min, doc: doc)
    }
    static func optionalFloat(_ name: String, min: Double? = nil, max: Double? = nil, doc: String) -> Hyperparam {
        Hyperparam(name, STEPWISE_TYPE_FLOAT, default: .none, flags: nullable, min: min, max: max, doc: doc)
    }
    static func ints(_ name: String, _ value: [Int64]?, min: Double? = nil, flags: UInt32 = 0, doc: String) -> Hyperparam {
        Hyperparam(name, STEPWISE_TYPE_INT_VECTOR, default: value.map(Value.ints) ?? .none,
                   flags: flags | (value == nil ? required : 0), min: min, doc: doc)
    }
    /// A float, or a list of one float per param group.
    static func perGroup(_ name: String, _ value: Double?, min: Double? = nil, doc: String) -> Hyperparam {
        Hyperparam(name, STEPWISE_TYPE_FLOAT_VECTOR, default: value.map { .floats([$0]) } ?? .none,
                   flags: scalarOK | (value == nil ? required : 0), min: min, doc: doc)
    }
    static func choice(_ name: String, _ value: String, _ choices: [String], doc: String) -> Hyperparam {
        .string(name, value, choices: choices, doc: doc)
    }
}

/// Writes the small counters schedulers save, with a leading tag so that a blob of one
/// scheduler type is never loaded into another.
struct StateCodec {
    static func save(_ writer: StateWriter, tag: String, ints: [Int], doubles: [Double]) throws(PluginError) {
        let bytes = Array(tag.utf8)
        try writer.scalar(UInt32(bytes.count))
        for b in bytes { try writer.scalar(b) }
        try writer.scalar(UInt32(ints.count))
        for i in ints { try writer.scalar(Int64(i)) }
        try writer.doubles(doubles)
    }

    static func load(_ reader: StateReader, tag: String, ints: Int, doubles: Int) throws(PluginError) -> ([Int], [Double]) {
        let n = Int(try reader.scalar(UInt32.self))
        guard n <= 256 else { throw .badState("scheduler state is not \(tag)'s (bad tag length \(n))") }
        var bytes: [UInt8] = []
        for _ in 0..<n { bytes.append(try reader.scalar(UInt8.self)) }
        let found = String(decoding: bytes, as: UTF8.self)
        guard found == tag else { throw .badState("scheduler state belongs to \(found), not \(tag)") }
        let ni = Int(try reader.scalar(UInt32.self))
        guard ni == ints else { throw .badState("\(tag) state has \(ni) counters, expected \(ints)") }
        var out: [Int] = []
        for _ in 0..<ni { out.append(Int(try reader.scalar(Int64.self))) }
        let ds = try reader.doubles(limit: 1 << 20)
        guard ds.count == doubles || doubles < 0 else {
            throw .badState("\(tag) state has \(ds.count) values, expected \(doubles)")
        }
        try reader.expectEnd()
        return (out, ds)
    }
}

/// The momentum array the host appends to a tick for schedulers that also cycle the
/// momentum (torch's CyclicLR and OneCycleLR); nil when the host or optimizer has none.
extension Tick {
    var momentumValues: UnsafeMutablePointer<Double>? {
        guard let offset = MemoryLayout<stepwise_schedule_tick>.offset(of: \.momentum_values),
              raw.pointee.struct_size >= offset + MemoryLayout<UnsafeMutablePointer<Double>?>.size
        else { return nil }
        return raw.pointee.momentum_values
    }

    /// Writes every group's value at once, so a failing computation leaves all unchanged.
    /// A non-finite value is refused where Python would have raised (a division by zero):
    /// an optimizer must never receive one.
    func setAll(_ values: [Double], owner: String) throws(PluginError) {
        if let bad = values.first(where: { !$0.isFinite }) {
            throw .init(STEPWISE_NON_FINITE, "\(owner) computed \(bad) at iteration \(iter) (a division by zero or an "
                        + "overflow in its formula); check its hyperparameters")
        }
        for (i, v) in values.enumerated() where i < groupCount { set(i, v) }
    }
}
