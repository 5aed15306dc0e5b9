import StepwiseABI

/// One scheduled hyperparameter as it lives in every param group: a schema index and, for
/// a float vector such as Adam's `betas`, the element (MOMENTUM is `betas[0]`).
public struct ScheduleSlot: Hashable, Sendable, CustomStringConvertible {
    /// The name records and state use: "lr", "momentum" or the hyperparameter's own name.
    public var key: String
    public var index: Int
    public var element: Int

    public var description: String { key }
}

/// Where scheduled values live: the hyperparameters of each param group, MMEngine's extra
/// `base_param_settings` group last when there is one. Reading never changes anything.
public protocol ScheduleValueSource: AnyObject {
    /// Groups a scheduler sees (the extra group included).
    var groupCount: Int { get }
    /// Groups that are real param groups (recorded, shown); the rest are bookkeeping.
    var recordedGroupCount: Int { get }
    /// What a target names, or nil when the optimizer has no such hyperparameter.
    func slot(role: stepwise_role) -> ScheduleSlot?
    func slot(named name: String) throws -> ScheduleSlot?
    func value(_ slot: ScheduleSlot, group: Int) -> Double
    func setValue(_ slot: ScheduleSlot, group: Int, _ x: Double)
}

/// Param groups as `ResolvedValues` of one optimizer component: an `Optimizer`'s groups,
/// or groups resolved from a config without parameters (the schedule simulator).
public final class ResolvedGroupValues: ScheduleValueSource {
    public let groups: [ResolvedValues]
    public let recordedGroupCount: Int

    /// `extra`: MMEngine's `base_param_settings` group (a copy of the optimizer defaults),
    /// updated by schedulers but never recorded.
    public init(groups: [ResolvedValues], extra: ResolvedValues? = nil) {
        self.groups = groups + (extra.map { [$0] } ?? [])
        recordedGroupCount = groups.count
    }

    /// The groups of a built optimizer; with `mmengineWrapper`, plus the extra group an
    /// MMEngine OptimWrapper adds when there are several groups.
    public convenience init(optimizer: Optimizer, mmengineWrapper: Bool = false) {
        let groups = optimizer.paramGroups.map(\.values)
        self.init(groups: groups, extra: mmengineWrapper && groups.count > 1 ? optimizer.defaults.copy() : nil)
    }

    public var groupCount: Int { groups.count }
    var component: Component? { groups.first?.component }

    public func slot(role: stepwise_role) -> ScheduleSlot? {
        guard let h = component?.hyperparam(role: role), let i = component?.hyperparams.firstIndex(where: { $0.name == h.name })
        else { return nil }
        let key = role == STEPWISE_ROLE_LR ? "lr" : role == STEPWISE_ROLE_MOMENTUM ? "momentum" : h.name
        return ScheduleSlot(key: key, index: i, element: 0)
    }

    /// A hyperparameter by name; `name[k]` picks element k of a float vector. `momentum`
    /// on an optimizer without that key means its momentum role (Adam's betas[0]), as
    /// MMEngine's momentum schedulers read it.
    public func slot(named name: String) throws -> ScheduleSlot? {
        guard let component else { return nil }
        var base = name, element = 0
        if let open = name.firstIndex(of: "["), name.hasSuffix("]"),
           let k = Int(name[name.index(after: open)..<name.index(before: name.endIndex)]) {
            base = String(name[..<open]); element = k
        }
        if let i = component.hyperparams.firstIndex(where: { $0.name == base }) {
            let h = component.hyperparams[i]
            switch h.type {
            case STEPWISE_TYPE_FLOAT:
                guard element == 0, base == name else {
                    throw StepwiseError.config("'\(base)' of \(component.typeName) is a number, not a list; use param_name '\(base)'")
                }
            case STEPWISE_TYPE_FLOAT_VECTOR:
                guard base != name else {
                    throw StepwiseError.config("'\(base)' of \(component.typeName) is a list; name one element, e.g. '\(base)[0]'")
                }
            default:
                throw StepwiseError.config("'\(base)' of \(component.typeName) is \(h.typeName), not a float a scheduler can drive")
            }
            if h.role == STEPWISE_ROLE_LR && element == 0 { return slot(role: STEPWISE_ROLE_LR) }
            if h.role == STEPWISE_ROLE_MOMENTUM && element == 0 { return slot(role: STEPWISE_ROLE_MOMENTUM) }
            return ScheduleSlot(key: name, index: i, element: element)
        }
        if name == "momentum" { return slot(role: STEPWISE_ROLE_MOMENTUM) }
        if name == "lr" { return slot(role: STEPWISE_ROLE_LR) }
        return nil
    }

    public func value(_ slot: ScheduleSlot, group: Int) -> Double {
        groups[group].double(at: slot.index, element: slot.element) ?? .nan
    }

    public func setValue(_ slot: ScheduleSlot, group: Int, _ x: Double) {
        groups[group].setDouble(at: slot.index, x, element: slot.element)
    }

    /// Every slot worth recording: lr, momentum (when the optimizer has one), and `extra`.
    public func recordedSlots(extra: [ScheduleSlot] = []) -> [ScheduleSlot] {
        var out = [slot(role: STEPWISE_ROLE_LR), slot(role: STEPWISE_ROLE_MOMENTUM)].compactMap { $0 }
        for s in extra where !out.contains(s) { out.append(s) }
        return out
    }
}

/// Plain named values, for schedules that run without an optimizer (MindSpore's
/// functions of the step).
public final class PlainScheduleValues: ScheduleValueSource {
    public private(set) var names: [String]
    private var columns: [[Double]]

    public init(groups: Int, values: [String: Double]) {
        names = values.keys.sorted()
        columns = names.map { Array(repeating: values[$0] ?? 0, count: groups) }
        recordedGroupCount = groups
    }

    public var groupCount: Int { recordedGroupCount }
    public let recordedGroupCount: Int

    public func slot(role: stepwise_role) -> ScheduleSlot? {
        role == STEPWISE_ROLE_LR ? try? slot(named: "lr") : role == STEPWISE_ROLE_MOMENTUM ? try? slot(named: "momentum") : nil
    }

    public func slot(named name: String) throws -> ScheduleSlot? {
        names.firstIndex(of: name).map { ScheduleSlot(key: name, index: $0, element: 0) }
    }

    public func value(_ slot: ScheduleSlot, group: Int) -> Double { columns[slot.index][group] }
    public func setValue(_ slot: ScheduleSlot, group: Int, _ x: Double) { columns[slot.index][group] = x }
}
