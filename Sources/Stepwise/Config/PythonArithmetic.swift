import Foundation

/// A value while a `.py` config's expression is evaluated. Tuples become lists in the
/// config, but Python refuses `[1] + (2,)`, so the evaluator remembers which was written.
struct PyOperand {
    var value: ConfigValue
    var isTuple = false
}

/// The arithmetic MMEngine configs use on literals and earlier names
/// (`lr = 0.1 * 8 / 256`, `target_ratio = (0.85 / 0.95, 1)`, `data_root + 'train/'`),
/// with CPython's results: int and float `+ - * / // % **`, string and list
/// concatenation and repetition. Python's unbounded ints are not modelled: a result past
/// 64 bits is refused rather than wrapped or rounded.
enum PythonArithmetic {
    struct Failure: Error {
        var kind: ConfigError.Kind
        var message: String
        init(_ kind: ConfigError.Kind, _ message: String) { self.kind = kind; self.message = message }
    }

    /// The longest string or list a repetition may build; configs never need more, and a
    /// typo such as `[0] * 10**9` should fail instead of exhausting memory.
    static let maxRepetition = 1_000_000

    static func binary(_ op: String, _ a: PyOperand, _ b: PyOperand) throws -> PyOperand {
        try refuseReference(op, a.value)
        try refuseReference(op, b.value)
        switch (a.value, b.value) {
        case (.bool, _), (_, .bool):
            throw Failure(.unsupported, "unsupported Python: '\(op)' on a bool (True and False are not numbers in a config)")
        case (.int(let x), .int(let y)):
            return PyOperand(value: try integer(op, x, y))
        case (.int, .float), (.float, .int), (.float, .float):
            guard let x = a.value.double, let y = b.value.double else { break }
            return PyOperand(value: .float(try float(op, x, y)))
        case (.string(let x), .string(let y)) where op == "+":
            return PyOperand(value: .string(x + y))
        case (.string(let s), .int(let n)) where op == "*", (.int(let n), .string(let s)) where op == "*":
            let count = try repetitions(n, length: s.unicodeScalars.count)
            return PyOperand(value: .string(String(repeating: s, count: count)))
        case (.list(let x), .list(let y)) where op == "+":
            guard a.isTuple == b.isTuple else {
                let (l, r) = a.isTuple ? ("tuple", "list") : ("list", "tuple")
                throw Failure(.type, "can only concatenate \(l) (not \"\(r)\") to \(l)")
            }
            return PyOperand(value: .list(x + y), isTuple: a.isTuple)
        case (.list(let l), .int(let n)) where op == "*", (.int(let n), .list(let l)) where op == "*":
            let count = try repetitions(n, length: l.count)
            var out: [ConfigValue] = []
            out.reserveCapacity(count * l.count)
            for _ in 0..<count { out += l }
            return PyOperand(value: .list(out), isTuple: a.value.list != nil ? a.isTuple : b.isTuple)
        default:
            break
        }
        throw Failure(.type, "unsupported operand types for '\(op)': \(describe(a)) and \(describe(b))")
    }

    static func unary(_ op: String, _ a: PyOperand) throws -> PyOperand {
        switch a.value {
        case .int(let v):
            guard op == "-" else { return a }
            guard v != .min else { throw tooLarge }
            return PyOperand(value: .int(-v))
        case .float(let d):
            return PyOperand(value: .float(op == "-" ? -d : d))
        default:
            throw Failure(.unsupported, "unsupported Python: unary '\(op)' on \(a.value.typeDescription)")
        }
    }

    private static func describe(_ a: PyOperand) -> String {
        if case .list = a.value, a.isTuple { return "a tuple" }
        return a.value.typeDescription
    }

    /// MMEngine substitutes `{{_base_.x}}` as a quoted string before Python runs, so
    /// `{{_base_.lr}} * 2` repeats a placeholder instead of doubling the base value.
    private static func refuseReference(_ op: String, _ v: ConfigValue) throws {
        guard case .string(let s) = v, BaseReference.containsMarker(s) else { return }
        throw Failure(.reference, "a {{_base_.*}} reference cannot take part in '\(op)': MMEngine substitutes it as a "
                          + "string before evaluating, so the result would not be the base value; compute the value in "
                          + "the base config instead")
    }

    private static var tooLarge: Failure {
        Failure(.unsupported, "unsupported Python: integer result does not fit in 64 bits")
    }

    private static func repetitions(_ n: Int64, length: Int) throws -> Int {
        guard n > 0, length > 0 else { return 0 }
        guard n <= Int64(maxRepetition / length) else {
            throw Failure(.unsupported, "unsupported Python: repetition longer than \(maxRepetition) elements")
        }
        return Int(n)
    }

    // MARK: Integers

    private static func integer(_ op: String, _ x: Int64, _ y: Int64) throws -> ConfigValue {
        switch op {
        case "+": return .int(try checked(x.addingReportingOverflow(y)))
        case "-": return .int(try checked(x.subtractingReportingOverflow(y)))
        case "*": return .int(try checked(x.multipliedReportingOverflow(by: y)))
        case "/":
            guard y != 0 else { throw Failure(.type, "division by zero") }
            // Python divides ints exactly and rounds once; doubles do the same while both
            // operands are exact.
            let exact: Int64 = 1 << 53
            guard x.magnitude <= exact.magnitude, y.magnitude <= exact.magnitude else {
                throw Failure(.unsupported, "unsupported Python: true division of integers beyond 2**53")
            }
            return .float(Double(x) / Double(y))
        case "//", "%":
            guard y != 0 else { throw Failure(.type, op == "//" ? "integer division by zero" : "integer modulo by zero") }
            let (q0, overflow) = x.dividedReportingOverflow(by: y)
            guard !overflow else { throw tooLarge }
            let r0 = x - q0 * y
            // Python rounds the quotient toward negative infinity; the remainder takes
            // the divisor's sign.
            let adjust = r0 != 0 && ((r0 < 0) != (y < 0))
            return .int(op == "//" ? (adjust ? q0 - 1 : q0) : (adjust ? r0 + y : r0))
        case "**":
            if y < 0 {
                guard x != 0 else { throw Failure(.type, "0.0 cannot be raised to a negative power") }
                return .float(try power(Double(x), Double(y)))
            }
            return .int(try integerPower(x, y))
        default:
            throw Failure(.unsupported, "unsupported Python: arithmetic operator '\(op)'")
        }
    }

    private static func checked(_ r: (partialValue: Int64, overflow: Bool)) throws -> Int64 {
        guard !r.overflow else { throw tooLarge }
        return r.partialValue
    }

    private static func integerPower(_ base: Int64, _ exponent: Int64) throws -> Int64 {
        var result: Int64 = 1, b = base, e = exponent
        while e > 0 {
            if e & 1 == 1 { result = try checked(result.multipliedReportingOverflow(by: b)) }
            e >>= 1
            if e > 0 { b = try checked(b.multipliedReportingOverflow(by: b)) }
        }
        return result
    }

    // MARK: Floats

    private static func float(_ op: String, _ x: Double, _ y: Double) throws -> Double {
        switch op {
        case "+": return x + y
        case "-": return x - y
        case "*": return x * y
        case "/":
            guard y != 0 else { throw Failure(.type, "float division by zero") }
            return x / y
        case "//", "%":
            guard y != 0 else { throw Failure(.type, op == "//" ? "float floor division by zero" : "float modulo by zero") }
            let (div, mod) = divmod(x, y)
            return op == "//" ? div : mod
        case "**":
            return try power(x, y)
        default:
            throw Failure(.unsupported, "unsupported Python: arithmetic operator '\(op)'")
        }
    }

    /// CPython's float divmod: the remainder from fmod with the divisor's sign, and the
    /// quotient rounded so that `div * y + mod` is as close to `x` as doubles allow.
    private static func divmod(_ x: Double, _ y: Double) -> (Double, Double) {
        var mod = fmod(x, y)
        var div = (x - mod) / y
        if mod != 0 {
            if (y < 0) != (mod < 0) {
                mod += y
                div -= 1
            }
        } else {
            mod = Double(signOf: y, magnitudeOf: 0)
        }
        var floordiv: Double
        if div != 0 {
            floordiv = div.rounded(.down)
            if div - floordiv > 0.5 { floordiv += 1 }
        } else {
            floordiv = Double(signOf: x / y, magnitudeOf: 0)
        }
        return (floordiv, mod)
    }

    /// CPython's float `**`: C `pow`, except where Python raises instead.
    private static func power(_ x: Double, _ y: Double) throws -> Double {
        if y == 0 { return 1 }
        if x == 0 && y < 0 { throw Failure(.type, "0.0 cannot be raised to a negative power") }
        if x < 0 && y.isFinite && y != y.rounded(.towardZero) {
            throw Failure(.unsupported, "unsupported Python: a negative number to a fractional power is a complex number")
        }
        let r = Foundation.pow(x, y)
        if r.isInfinite && x.isFinite && y.isFinite {
            throw Failure(.type, "float '**' result out of range")
        }
        return r
    }
}
