import Foundation
import StepwiseABI

/// Values the validator feeds a component: a buildable config (defaults plus a made-up
/// value for each required key), random values inside the declared ranges, and the bad
/// values each declaration implies.
enum SampleValues {
    /// The component's defaults plus a plausible value for every required key, completed
    /// when the component's own check refuses that (see `completions`). Throws a skip
    /// when a required key cannot be made up (any-JSON values).
    static func config(_ c: Component) throws -> ConfigDict {
        var config = ConfigDict()
        config["type"] = .string(c.qualifiedName)
        for h in c.hyperparams where h.isRequired {
            guard let v = sample(h) else {
                throw CheckSkip("required key '\(h.name)' (\(h.typeName)) has no default, and the validator cannot make up a value for it")
            }
            config[h.name] = v
        }
        if (try? c.resolve(config)) != nil { return config }
        return completions(of: config, for: c).first { (try? c.resolve($0.config)) != nil }?.config ?? config
    }

    /// Configs to try when a check refuses the defaults by a cross-key rule (MMCV's
    /// "exactly one of min_lr and min_lr_ratio", "periods and restart_weights of equal
    /// length"): each None default given a value, one at a time; then every vector given
    /// a made-up one.
    static func completions(of config: ConfigDict, for c: Component) -> [(config: ConfigDict, change: String)] {
        var out: [(ConfigDict, String)] = []
        for h in c.hyperparams where h.defaultValue == .null && config[h.name] == nil {
            if let v = sample(h) {
                var d = config
                d[h.name] = v
                out.append((d, "\(h.name) = \(ValueCodec.render(v))"))
            }
        }
        let vectors = c.hyperparams.filter { $0.type == STEPWISE_TYPE_FLOAT_VECTOR || $0.type == STEPWISE_TYPE_INT_VECTOR }
        guard !vectors.isEmpty else { return out }
        // Vectors of one length (rules like "as many restart_weights as periods"), alone
        // and with each None default given a value.
        var d = config
        for h in vectors { d[h.name] = sample(h) }
        let change = vectors.map { "\($0.name) = \(ValueCodec.render(d[$0.name] ?? .null))" }.joined(separator: ", ")
        return out + [(d, change)] + out.map { single in
            var both = single.0
            for h in vectors { both[h.name] = d[h.name] }
            return (both, single.1 + ", " + change)
        }
    }

    /// Whether `config` holds values the validator made up (so a refusal is a skip).
    static func madeUp(_ c: Component) -> Bool { c.hyperparams.contains { $0.isRequired } }

    /// Sizes of the loops the drivers run: counts named like totals cover them.
    static let loopIterations = 12, itersPerEpoch = 4

    static func sample(_ h: HyperparamInfo) -> ConfigValue? {
        switch h.type {
        case STEPWISE_TYPE_FLOAT:
            // A "min_" below its "max_" partner, whatever the range.
            let small = h.name.contains("min")
            if let lo = h.min, let hi = h.max { return .float(small ? lo + (hi - lo) / 10 : (lo + hi) / 2) }
            if let lo = h.min { return .float(lo + (small ? 0.01 : 1)) }
            if let hi = h.max { return .float(hi - (small ? 1 : 0.01)) }
            return .float(small ? 0.01 : 1)
        case STEPWISE_TYPE_INT:
            let (lo, hi) = intRange(h)
            // Lengths of a whole run must cover the validator's loop; per-epoch counts match it.
            let wanted: Int64 = h.name.contains("total") || h.name.hasPrefix("max_") ? Int64(2 * loopIterations)
                : h.name.contains("per_epoch") ? Int64(itersPerEpoch) : 2
            return .int(min(max(wanted, lo), hi))
        case STEPWISE_TYPE_BOOL:
            return .bool(false)
        case STEPWISE_TYPE_STRING:
            if let first = h.choices?.first { return .string(first) }
            switch h.name {
            case "monitor": return .string("loss")
            case "param_name": return .string("lr")
            default: return .string("stepwise-validate")
            }
        case STEPWISE_TYPE_FLOAT_VECTOR:
            let n = h.vectorLength > 0 ? h.vectorLength : 2
            let lo = h.min ?? 0, hi = h.max ?? lo + Double(n + 1)
            return .list((1...n).map { .float(lo + (hi - lo) * Double($0) / Double(n + 1)) })
        case STEPWISE_TYPE_INT_VECTOR:
            let n = h.vectorLength > 0 ? h.vectorLength : 2
            let (lo, hi) = intRange(h)
            // Milestones end past the loop, so a list "as long as the last milestone" covers it.
            let step = h.name.hasPrefix("milestone") ? Int64(2 * loopIterations / n) : 2
            return .list((1...n).map { .int(min(hi, max(lo, step * Int64($0)))) })
        case STEPWISE_TYPE_JSON where !h.has(STEPWISE_HP_SCHEDULERS):
            // Any JSON: a number is the commonest form (MMCV's `step`); a component
            // that wants another refuses it, and the checks say so.
            return .int(2)
        default:
            return nil
        }
    }

    /// The inclusive integer range a declaration allows, clipped to a small window when
    /// a side is open (random values stay meaningful: iterations, sizes, counts).
    static func intRange(_ h: HyperparamInfo) -> (Int64, Int64) {
        var lo: Int64 = -3, hi: Int64 = 20
        if let m = h.min { lo = int64(m.rounded(.up)) &+ (h.minExclusive && m == m.rounded() ? 1 : 0); hi = max(hi, lo &+ 20) }
        if let m = h.max {
            hi = int64(m.rounded(.down)) &- (h.maxExclusive && m == m.rounded() ? 1 : 0)
            if h.min == nil { lo = min(lo, hi &- 20) }
        }
        return (lo, max(lo, hi))
    }

    /// A random value the schema accepts. Strings without choices and any-JSON values
    /// keep their default: random text there means nothing.
    static func random(_ h: HyperparamInfo, current: ConfigValue?, using rng: inout SeededRandom) -> ConfigValue? {
        if h.isNullable && Int.random(in: 0..<7, using: &rng) == 0 { return .null }
        switch h.type {
        case STEPWISE_TYPE_FLOAT:
            return .float(randomDouble(h, using: &rng))
        case STEPWISE_TYPE_INT:
            let (lo, hi) = intRange(h)
            return .int(Int64.random(in: lo...hi, using: &rng))
        case STEPWISE_TYPE_BOOL:
            return .bool(Bool.random(using: &rng))
        case STEPWISE_TYPE_STRING:
            guard let choices = h.choices, !choices.isEmpty else { return current }
            return choices.randomElement(using: &rng).map(ConfigValue.string) ?? current
        case STEPWISE_TYPE_FLOAT_VECTOR, STEPWISE_TYPE_INT_VECTOR:
            let n = h.vectorLength > 0 ? h.vectorLength : max(1, current?.list?.count ?? 2)
            if h.type == STEPWISE_TYPE_INT_VECTOR {
                let (lo, hi) = intRange(h)
                return .list((0..<n).map { _ in Int64.random(in: lo...hi, using: &rng) }.sorted().map(ConfigValue.int))
            }
            return .list((0..<n).map { _ in randomDouble(h, using: &rng) }.sorted().map(ConfigValue.float))
        default:
            return current
        }
    }

    static func randomDouble(_ h: HyperparamInfo, using rng: inout SeededRandom) -> Double {
        let edge = Int.random(in: 0..<6, using: &rng) == 0
        switch (h.min, h.max) {
        case let (lo?, hi?):
            if edge && !h.minExclusive { return lo }
            if edge && !h.maxExclusive { return hi }
            return lo + (hi - lo) * Double.random(in: 0.01...0.99, using: &rng)
        case let (lo?, nil):
            if edge && !h.minExclusive { return lo }
            return lo + pow(10, Double.random(in: -3...1, using: &rng))
        case let (nil, hi?):
            if edge && !h.maxExclusive { return hi }
            return hi - pow(10, Double.random(in: -3...1, using: &rng))
        case (nil, nil):
            return Int.random(in: 0..<3, using: &rng) == 0 ? Double.random(in: -2...2, using: &rng)
                : Double.random(in: 0...1, using: &rng)
        }
    }

    /// The values the declaration of `h` rules out, each with why: outside the range, on
    /// an exclusive bound, NaN, not a choice, the wrong type, the wrong vector length,
    /// None when not nullable; plus `extra` random out-of-range values.
    static func bad(_ h: HyperparamInfo, extra: Int, using rng: inout SeededRandom) -> [(ConfigValue, String)] {
        var out: [(ConfigValue, String)] = []
        let isInt = h.type == STEPWISE_TYPE_INT || h.type == STEPWISE_TYPE_INT_VECTOR
        let isVector = h.type == STEPWISE_TYPE_FLOAT_VECTOR || h.type == STEPWISE_TYPE_INT_VECTOR
        let numeric = isInt || isVector || h.type == STEPWISE_TYPE_FLOAT
        func number(_ x: Double) -> ConfigValue {
            let scalar: ConfigValue = isInt ? .int(int64(x.rounded(x < 0 ? .down : .up))) : .float(x)
            guard isVector else { return scalar }
            let n = h.vectorLength > 0 ? h.vectorLength : 2
            var list = (sample(h)?.list ?? []).prefix(n).map { $0 }
            while list.count < n { list.append(list.last ?? scalar) }
            list[n - 1] = scalar
            return .list(list)
        }
        if numeric {
            if let lo = h.min {
                out.append((number(lo - max(1, abs(lo))), "below its minimum \(formatNumber(lo))"))
                if h.minExclusive && !(isInt && lo != lo.rounded()) { out.append((number(lo), "on its exclusive minimum")) }
                for _ in 0..<extra { out.append((number(lo - pow(10, Double.random(in: -2...3, using: &rng)) - (isInt ? 1 : 0)), "below its minimum")) }
            }
            if let hi = h.max {
                out.append((number(hi + max(1, abs(hi))), "above its maximum \(formatNumber(hi))"))
                if h.maxExclusive && !(isInt && hi != hi.rounded()) { out.append((number(hi), "on its exclusive maximum")) }
                for _ in 0..<extra { out.append((number(hi + pow(10, Double.random(in: -2...3, using: &rng)) + (isInt ? 1 : 0)), "above its maximum")) }
            }
            if !isInt && (h.min != nil || h.max != nil) { out.append((number(.nan), "NaN in a bounded range")) }
        }
        switch h.type {
        case STEPWISE_TYPE_FLOAT:
            out += [(.string("0.1"), "a string"), (.bool(true), "a bool"), (.list([.float(1)]), "a list")]
        case STEPWISE_TYPE_INT:
            out += [(.float(2.5), "a fractional float"), (.string("3"), "a string"), (.bool(true), "a bool")]
        case STEPWISE_TYPE_BOOL:
            out += [(.string("true"), "a string"), (.int(1), "an int")]
        case STEPWISE_TYPE_STRING:
            out += [(.int(3), "an int"), (.list([.string("a")]), "a list")]
            if let choices = h.choices, let first = choices.first {
                out.append((.string("not-one-of-the-choices"), "not one of its choices"))
                let shouted = first.uppercased() == first ? first.lowercased() : first.uppercased()
                if !choices.contains(shouted) { out.append((.string(shouted), "a choice in the wrong case")) }
                if !choices.contains(first + " ") { out.append((.string(first + " "), "a choice with a trailing space")) }
            }
        case STEPWISE_TYPE_FLOAT_VECTOR, STEPWISE_TYPE_INT_VECTOR:
            let element: ConfigValue = isInt ? .int(1) : .float(0.5)
            out += [(.string("x"), "a string"), (.list([.string("a")]), "a list holding a string"),
                    (.dict(ConfigDict(["a": element])), "a dict")]
            if isInt { out.append((.list([.float(1.5)]), "a list holding a fractional float")) }
            if h.vectorLength > 0 {
                out.append((.list(Array(repeating: element, count: h.vectorLength + 1)), "\(h.vectorLength + 1) values instead of \(h.vectorLength)"))
            }
            if !h.has(STEPWISE_HP_SCALAR_OK) { out.append((element, "a single number (not SCALAR_OK)")) }
        default:
            break
        }
        if !h.isNullable { out.append((.null, "None, but it is not nullable")) }
        return out
    }
}

/// Double to Int64, saturating (declared bounds may be huge) and 0 for NaN.
func int64(_ x: Double) -> Int64 {
    if x.isNaN { return 0 }
    if x >= 9.2e18 { return .max }
    if x <= -9.2e18 { return .min }
    return Int64(x)
}
