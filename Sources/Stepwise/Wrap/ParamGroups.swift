import Foundation
import StepwiseABI

extension Paramwise {
    /// Explicit param groups, torch's and MindSpore's in one form. Each group is a dict
    /// with `params` plus per-group hyperparameters:
    /// - `params`: a list of parameter names (torch), a regular expression searched in
    ///   each name (MindSpore's `filter(lambda x: 'conv' in x.name, ...)`), or a dict of
    ///   filters `{contains, not_contains, regex, not_regex}` that must all hold;
    /// - `grad_centralization` (MindSpore): centralize this group's gradients;
    /// - a group `{order_params: <params>}` (MindSpore) lists every grouped parameter
    ///   once, in the order the optimizer keeps them.
    /// Parameters in no group are not optimized, as in both references.
    public static func paramGroups(_ groups: [ConfigValue], params: [ParamSpec], origin: ConfigOrigin? = nil) throws -> ParamGroupPlan {
        let at = origin.map { " in \($0)" } ?? ""
        var byName: [String: ParamSpec] = [:]
        var order: [String] = []
        for p in params where byName[p.name] == nil { byName[p.name] = p; order.append(p.name) }

        var plan = ParamGroupPlan(source: .paramGroups, groups: [])
        var owner: [String: Int] = [:]
        var ordered: [String]? = nil
        for (i, value) in groups.enumerated() {
            guard let g = value.dict else { throw StepwiseError.config("param group \(i) must be a dict\(at)") }
            if let o = g["order_params"] {
                guard g.count == 1 else {
                    throw StepwiseError.config("the order params dict in group parameters should only include the 'order_params' key, but group \(i) has \(g.keys.joined(separator: ", "))\(at)")
                }
                ordered = try select(o, from: order, group: i, at: at)
                continue
            }
            guard let selector = g["params"] else {
                throw StepwiseError.config("param group \(i) has no 'params' (a list of names, a regex, or a filter dict)\(at)")
            }
            let members = try select(selector, from: order, group: i, at: at)
            guard !members.isEmpty else {
                throw StepwiseError.config("param group \(i) selects no parameter (params: \(ValueCodec.render(selector)))\(at)")
            }
            for name in members {
                if let other = owner[name] {
                    throw StepwiseError.config("some parameters appear in more than one parameter group: '\(name)' is in groups \(other) and \(i)\(at)")
                }
                owner[name] = i
            }
            var overrides = ConfigDict()
            var gc = false
            for e in g.entries where e.key != "params" {
                if e.key == "grad_centralization" {
                    guard let b = e.value.bool else { throw StepwiseError.config("param group \(i): grad_centralization must be a bool\(at)") }
                    gc = b
                } else {
                    overrides[e.key, origin: e.origin] = e.value
                }
            }
            plan.groups.append(.init(params: members, overrides: overrides, gradCentralization: gc))
        }
        guard !plan.groups.isEmpty else { throw StepwiseError.config("param_groups lists no group with 'params'\(at)") }
        if let ordered {
            let grouped = plan.groups.reduce(0) { $0 + $1.params.count }
            guard ordered.count == grouped, Set(ordered) == Set(owner.keys) else {
                throw StepwiseError.config("the order params must list every grouped parameter exactly once: \(ordered.count) given, \(grouped) grouped\(at)")
            }
            let rank = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1, $0) })
            for k in plan.groups.indices { plan.groups[k].params.sort { (rank[$0] ?? 0) < (rank[$1] ?? 0) } }
        }
        for name in order where owner[name] == nil { plan.skipped.append((name, "in no param group")) }
        return plan
    }

    /// The names a `params` selector picks, in its own order (a list) or model order.
    private static func select(_ selector: ConfigValue, from order: [String], group: Int, at: String) throws -> [String] {
        switch selector {
        case .list(let items):
            let known = Set(order)
            return try items.map { item in
                guard let name = item.string else {
                    throw StepwiseError.config("param group \(group): 'params' lists \(item.typeDescription); expected parameter names\(at)")
                }
                guard known.contains(name) else {
                    let hint = Suggest.nearest(name, in: order).map { "; did you mean '\($0)'?" } ?? ""
                    throw StepwiseError.config("param group \(group) names unknown parameter '\(name)'\(hint)\(at)")
                }
                return name
            }
        case .string(let pattern):
            let regex = try compile(pattern, group: group, at: at)
            return order.filter { matches(regex, $0) }
        case .dict(let filter):
            let keys = ["contains", "not_contains", "regex", "not_regex"]
            for k in filter.keys where !keys.contains(k) {
                throw StepwiseError.config("param group \(group): unknown params filter '\(k)' (use \(keys.joined(separator: ", ")))\(at)")
            }
            func text(_ k: String) throws -> String? {
                guard let v = filter[k] else { return nil }
                guard let s = v.string else { throw StepwiseError.config("param group \(group): params filter '\(k)' must be a string\(at)") }
                return s
            }
            let contains = try text("contains"), notContains = try text("not_contains")
            let regex = try text("regex").map { try compile($0, group: group, at: at) }
            let notRegex = try text("not_regex").map { try compile($0, group: group, at: at) }
            return order.filter { name in
                (contains.map { name.contains($0) } ?? true) && (notContains.map { !name.contains($0) } ?? true)
                    && (regex.map { matches($0, name) } ?? true) && (notRegex.map { !matches($0, name) } ?? true)
            }
        default:
            throw StepwiseError.config("param group \(group): 'params' must be a list of names, a regex string or a filter dict, got \(selector.typeDescription)\(at)")
        }
    }

    private static func compile(_ pattern: String, group: Int, at: String) throws -> NSRegularExpression {
        do { return try NSRegularExpression(pattern: pattern) } catch {
            throw StepwiseError.config("param group \(group): '\(pattern)' is not a valid regular expression\(at)")
        }
    }

    private static func matches(_ regex: NSRegularExpression, _ name: String) -> Bool {
        regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
    }
}
