/// How a plain (unquoted, untagged) YAML scalar is typed. PyYAML, which MMEngine reads
/// YAML with, follows YAML 1.1, and Stepwise keeps its rules except one: PyYAML reads
/// `1e-3` (an exponent and no dot) as a *string*, which surprises everyone who writes
/// `lr: 1e-3`; here it is the float a Python user means.
///
/// - null: `~`, `null`, `Null`, `NULL`, empty
/// - bool: `true`/`false`, `yes`/`no`, `on`/`off` in lower, Title or UPPER case (YAML 1.1)
/// - int: decimal with `_` separators, `0x`, `0o`, `0b`, and YAML 1.1 octal `0755`
/// - float: digits with a `.` or an exponent (`1.`, `.5`, `1e-3`, `1_000.5`), `.inf`, `.nan`
/// - anything else is a string (`09`, `1:30` and dates stay strings)
enum YAMLScalar {
    struct Failure: Error { var message: String }

    private static let nulls: Set<String> = ["", "~", "null", "Null", "NULL"]
    private static let trues: Set<String> = ["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"]
    private static let falses: Set<String> = ["false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"]

    static func resolve(_ s: String) throws(Failure) -> ConfigValue {
        if nulls.contains(s) { return .null }
        if trues.contains(s) { return .bool(true) }
        if falses.contains(s) { return .bool(false) }
        if let v = try int(s) { return .int(v) }
        if let d = float(s) { return .float(d) }
        return .string(s)
    }

    private static func int(_ s: String) throws(Failure) -> Int64? {
        var body = Substring(s)
        var negative = false
        if let f = body.first, f == "-" || f == "+" { negative = f == "-"; body = body.dropFirst() }
        let radix: Int
        var digits: Substring
        if body.hasPrefix("0x") { radix = 16; digits = body.dropFirst(2) }
        else if body.hasPrefix("0o") { radix = 8; digits = body.dropFirst(2) }
        else if body.hasPrefix("0b") { radix = 2; digits = body.dropFirst(2) }
        else if body.count > 1, body.first == "0" { radix = 8; digits = body.dropFirst() }
        else { radix = 10; digits = body }
        guard digits.first != "_" || radix != 10 else { return nil }
        let clean = digits.filter { $0 != "_" }
        guard !clean.isEmpty, clean.allSatisfy({ $0.isASCII && ($0.hexDigitValue ?? 99) < radix }) else { return nil }
        guard let magnitude = UInt64(clean, radix: radix),
              magnitude <= UInt64(Int64.max) + (negative ? 1 : 0) else {
            throw Failure(message: "integer \(s) does not fit in 64 bits")
        }
        if negative { return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude) }
        return Int64(magnitude)
    }

    private static func float(_ s: String) -> Double? {
        var body = Substring(s)
        var sign = 1.0
        if let f = body.first, f == "-" || f == "+" { sign = f == "-" ? -1 : 1; body = body.dropFirst() }
        if [".inf", ".Inf", ".INF"].contains(body) { return sign * .infinity }
        if [".nan", ".NaN", ".NAN"].contains(s) { return .nan }
        // mantissa: [0-9][0-9_]* ('.' [0-9_]*)?  |  '.' [0-9][0-9_]*,  then [eE][-+]?[0-9]+
        var mantissa = "", exponent = ""
        var sawDot = false, sawDigit = false
        var rest = body[...]
        while let c = rest.first, c.isASCII, c.isNumber || c == "_" || (c == "." && !sawDot) {
            if c == "." { sawDot = true } else if c != "_" { sawDigit = true }
            if c == "_" && !sawDigit { return nil }
            if c != "_" { mantissa.append(c) }
            rest = rest.dropFirst()
        }
        if let e = rest.first, e == "e" || e == "E" {
            rest = rest.dropFirst()
            if let sg = rest.first, sg == "+" || sg == "-" { exponent.append(sg); rest = rest.dropFirst() }
            guard !rest.isEmpty, rest.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            exponent += rest
            rest = rest.dropLast(rest.count)
        }
        guard rest.isEmpty, sawDigit, sawDot || !exponent.isEmpty,
              let d = Double(mantissa + (exponent.isEmpty ? "" : "e" + exponent)) else { return nil }
        return sign * d
    }
}
