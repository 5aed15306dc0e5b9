/// One check of `stepwise validate`: a stable name (reports, `--check` filters), what it
/// verifies, the lowest strictness that runs it, and the components it applies to.
///
/// The catalog follows what audio plugin validators learned to test (clap-validator's
/// scan-time, trailing-garbage ids, state reproducibility, buffered streams and invalid
/// state; pluginval's strictness levels that scale how many random inputs each test
/// tries), translated to optimizers, schedulers, wrappers and hooks.
public struct ValidationCheck: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let summary: String
    public let minimumStrictness: Int
    /// nil: runs once per plugin file; otherwise once per component of these kinds.
    public let kinds: Set<ComponentKind>?

    public var description: String { name }
    public var isPluginLevel: Bool { kinds == nil }
    public func applies(to kind: ComponentKind) -> Bool { kinds?.contains(kind) ?? false }

    static let every = Set(ComponentKind.allCases)
    static let stepping: Set<ComponentKind> = [.optimizer]
}

extension ValidationCheck {
    public static let scanTime = ValidationCheck(
        name: "scan-time", summary: "the plugin loads and lists its components in under 100 ms",
        minimumStrictness: 1, kinds: nil)
    public static let descriptorConsistency = ValidationCheck(
        name: "descriptor-consistency",
        summary: "descriptors are complete, consistent and within the struct sizes they declare",
        minimumStrictness: 1, kinds: nil)
    public static let typeNames = ValidationCheck(
        name: "type-names", summary: "unknown and garbage-suffixed type names resolve to nothing",
        minimumStrictness: 1, kinds: nil)
    public static let defaultsAccepted = ValidationCheck(
        name: "defaults-accepted", summary: "defaults lie in their ranges and `create` accepts them",
        minimumStrictness: 1, kinds: every)
    public static let badValuesRejected = ValidationCheck(
        name: "bad-values-rejected",
        summary: "every declared bad value (out of range, not a choice, wrong type) is refused, naming the key",
        minimumStrictness: 1, kinds: every)
    public static let optionalFunctions = ValidationCheck(
        name: "optional-functions", summary: "NULL optional functions are never called on any path",
        minimumStrictness: 2, kinds: every)
    public static let deterministic = ValidationCheck(
        name: "deterministic", summary: "two runs of the same workload give bit-identical results",
        minimumStrictness: 2, kinds: every)
    public static let stepContract = ValidationCheck(
        name: "step-contract",
        summary: "step writes only its parameters' data and state, never gradients, lent values or past a buffer",
        minimumStrictness: 3, kinds: stepping)
    public static let converges = ValidationCheck(
        name: "converges", summary: "the optimizer minimizes a quadratic (closure optimizers through the closure)",
        minimumStrictness: 3, kinds: stepping)
    public static let stateRoundTrip = ValidationCheck(
        name: "state-round-trip",
        summary: "save, load, save gives identical bytes, and the loaded instance continues identically",
        minimumStrictness: 3, kinds: every)
    public static let stateChunked = ValidationCheck(
        name: "state-chunked", summary: "state streams work when the host moves one byte per call",
        minimumStrictness: 4, kinds: every)
    public static let stateInvalid = ValidationCheck(
        name: "state-invalid",
        summary: "empty, garbage, truncated and oversized state is refused without a crash or a huge allocation",
        minimumStrictness: 4, kinds: every)
    public static let nonFinite = ValidationCheck(
        name: "non-finite", summary: "NaN and infinite gradients are handled as the component declares",
        minimumStrictness: 4, kinds: [.optimizer, .wrapper])
    public static let validValuesAccepted = ValidationCheck(
        name: "valid-values-accepted",
        summary: "random in-range values are accepted by create, or refused by check with a message",
        minimumStrictness: 5, kinds: every)
    public static let instancesIndependent = ValidationCheck(
        name: "instances-independent", summary: "two interleaved instances do not affect each other (no global state)",
        minimumStrictness: 6, kinds: every)

    /// Every check, in report order.
    public static let all: [ValidationCheck] = [
        scanTime, descriptorConsistency, typeNames, defaultsAccepted, badValuesRejected, optionalFunctions,
        deterministic, stepContract, converges, stateRoundTrip, stateChunked, stateInvalid, nonFinite,
        validValuesAccepted, instancesIndependent,
    ]

    public static func named(_ name: String) -> ValidationCheck? { all.first { $0.name == name } }
}

/// How much work a strictness level buys: every check runs from level 6 on; higher
/// levels try more random inputs and longer workloads (pluginval's scale, 1...10).
public struct ValidationBudget: Sendable {
    public let strictness: Int

    public init(strictness: Int) { self.strictness = max(1, min(10, strictness)) }

    /// Random inputs per fuzzing check (garbage states, random configs, mutations).
    public var randomInputs: Int { 2 + 3 * strictness }
    /// Units (steps, ticks, iterations) of the determinism and state workloads.
    public var workloadUnits: Int { 12 + 2 * strictness }
    /// Byte-level mutations of a valid state.
    public var mutations: Int { 8 * strictness }
}
