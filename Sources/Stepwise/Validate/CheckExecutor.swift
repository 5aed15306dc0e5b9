import Foundation
import StepwiseABI

/// Runs one check in the current process: the body of a check's child, or of every
/// check with `--in-process`.
enum CheckExecutor {
    static func run(_ check: ValidationCheck, plugin path: String, component spec: String?,
                    budget: ValidationBudget) -> CheckOutcome {
        if check == .scanTime { return PluginChecks.scanTime(path) }
        let registry = PluginRegistry.load(.init(includeBundled: false, includeEnvironment: false, files: [path]))
        if check == .descriptorConsistency { return PluginChecks.descriptorConsistency(registry) }
        if check == .typeNames { return PluginChecks.typeNames(registry) }
        guard let plugin = registry.plugins.first else { return .skip("the plugin did not load") }
        guard let spec, let component = find(spec, in: plugin) else {
            return .fail("the plugin has no component '\(spec ?? "")'")
        }
        let workDir = FileManager.default.temporaryDirectory
            .appendingPathComponent("stepwise-validate-\(getpid())-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        let ctx = CheckContext(registry: registry, component: component, budget: budget, workDir: workDir)
        do {
            switch check {
            case .defaultsAccepted: return try SchemaChecks.defaultsAccepted(ctx)
            case .badValuesRejected: return try SchemaChecks.badValuesRejected(ctx)
            case .validValuesAccepted: return try SchemaChecks.validValuesAccepted(ctx)
            case .optionalFunctions: return try SchemaChecks.optionalFunctions(ctx)
            case .deterministic: return try BehaviorChecks.deterministic(ctx)
            case .instancesIndependent: return try BehaviorChecks.instancesIndependent(ctx)
            case .converges: return try BehaviorChecks.converges(ctx)
            case .stepContract: return try BehaviorChecks.stepContract(ctx)
            case .nonFinite: return try BehaviorChecks.nonFinite(ctx)
            case .stateRoundTrip: return try StateChecks.stateRoundTrip(ctx)
            case .stateChunked: return try StateChecks.stateChunked(ctx)
            case .stateInvalid: return try StateChecks.stateInvalid(ctx)
            default: return .fail("internal: \(check.name) is not a component check")
            }
        } catch let e as CheckSkip {
            return .skip(e.description)
        } catch let e as UnitRefused where e.status == STEPWISE_INVALID_ARGUMENT && SampleValues.madeUp(component) {
            return .skip("with the values made up for its required keys, it refuses the validator's loop: \(e)")
        } catch let e as UnitRefused {
            return .fail(e.description)
        } catch let e as CheckFailure {
            return .fail(e.description)
        } catch {
            return .fail("\(error)")
        }
    }

    /// "optimizer:SGD" → the component.
    static func find(_ spec: String, in plugin: LoadedPlugin) -> Component? {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let kind = ComponentKind(rawValue: parts[0]) else { return nil }
        return plugin.components.first { $0.kind == kind && $0.typeName == parts[1] }
    }
}

/// The child side of `stepwise validate`: the hidden command a check's child process
/// runs. It limits itself, runs one check and writes the outcome as JSON.
public enum ValidationChild {
    public struct Request: Sendable {
        public var plugin: String
        public var check: String
        public var component: String?
        public var strictness: Int
        public var resultPath: String
        public var memoryBytes: UInt64
        public var cpuSeconds: UInt64

        public init(plugin: String, check: String, component: String?, strictness: Int, resultPath: String,
                    memoryBytes: UInt64, cpuSeconds: UInt64) {
            self.plugin = plugin; self.check = check; self.component = component; self.strictness = strictness
            self.resultPath = resultPath; self.memoryBytes = memoryBytes; self.cpuSeconds = cpuSeconds
        }

        /// The arguments after the child command that encode this request (the CLI's
        /// hidden child mode of `stepwise validate`).
        var arguments: [String] {
            ["--run-one-check", check, "--strictness", "\(strictness)", "--result", resultPath,
             "--memory", "\(memoryBytes)", "--cpu", "\(cpuSeconds)"] + (component.map { ["--component", $0] } ?? [])
                + ["--", plugin]
        }
    }

    /// Runs the request; returns the process's exit status (0 when the outcome was
    /// written, whatever it says).
    public static func run(_ request: Request) -> Int32 {
        ChildLimits.apply(memoryBytes: request.memoryBytes, cpuSeconds: request.cpuSeconds)
        guard let check = ValidationCheck.named(request.check) else {
            FileHandle.standardError.write(Data("unknown check '\(request.check)'\n".utf8))
            return 2
        }
        let outcome = CheckExecutor.run(check, plugin: request.plugin, component: request.component,
                                        budget: ValidationBudget(strictness: request.strictness))
        do {
            try JSONEncoder().encode(outcome).write(to: URL(fileURLWithPath: request.resultPath))
        } catch {
            FileHandle.standardError.write(Data("cannot write \(request.resultPath): \(error)\n".utf8))
            return 3
        }
        return 0
    }
}
