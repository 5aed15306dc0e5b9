import Foundation
import StepwiseABI

/// MMEngine's hook points, in loop order.
public enum HookPoint: UInt32, Sendable, CaseIterable {
    case beforeRun = 0, beforeTrainEpoch, beforeTrainIter, afterTrainIter, afterTrainEpoch
    case beforeValEpoch, afterValEpoch, afterRun, beforeSaveCheckpoint, afterLoadCheckpoint

    var abi: stepwise_hook_point { stepwise_hook_point(rawValue: rawValue) }
}

/// MMEngine's priority names; lower runs first, equal priorities keep registration order.
public enum HookPriority {
    public static let names: [String: Int] = [
        "HIGHEST": 0, "VERY_HIGH": 10, "HIGH": 30, "ABOVE_NORMAL": 40, "NORMAL": 50,
        "BELOW_NORMAL": 60, "LOW": 70, "VERY_LOW": 90, "LOWEST": 100,
    ]

    static func parse(_ v: ConfigValue, origin: ConfigOrigin?) throws -> Int {
        if let i = v.int, (0...100).contains(i) { return Int(i) }
        if let s = v.string, let p = names[s.uppercased()] { return p }
        throw StepwiseError.config("priority \(ValueCodec.render(v))\(origin.map { " in \($0)" } ?? "") must be 0...100 or one of \(names.keys.sorted().joined(separator: ", "))")
    }
}

/// Something the runner calls at hook points: a plugin hook, or host code (the
/// scheduler driver, the application's own hooks).
public protocol RunnerHook: AnyObject {
    var name: String { get }
    var priority: Int { get }
    func handles(_ point: HookPoint) -> Bool
    func call(_ point: HookPoint, _ runner: Runner) throws
    /// Opaque state kept in checkpoints (nil: none).
    func saveState() throws -> [UInt8]?
    func loadState(_ bytes: [UInt8]) throws
}

extension RunnerHook {
    public func saveState() throws -> [UInt8]? { nil }
    public func loadState(_ bytes: [UInt8]) throws {}
}

/// A hook component from a plugin, built from a config such as
/// `{type: CheckpointHook, interval: 1000, max_keep_ckpts: 3, priority: VERY_LOW}`.
public final class PluginHook: RunnerHook {
    public let component: Component
    public let values: ResolvedValues
    public let priority: Int
    let api: UnsafePointer<stepwise_hook_api>
    let instance: UnsafeMutableRawPointer

    public var name: String { component.typeName }

    public init(registry: PluginRegistry, config: ConfigDict) throws {
        component = try registry.component(.hook, for: config)
        guard let api = component.hookAPI else { throw StepwiseError.plugin("\(component.typeName) has no hook api") }
        self.api = api
        values = try component.resolve(config, ignoring: ["type", "priority"])
        priority = try config["priority"].map { try HookPriority.parse($0, origin: config.origin(of: "priority")) }
            ?? Int(api.pointee.default_priority)
        var out: UnsafeMutableRawPointer? = nil
        var error: OpaquePointer? = nil
        let status = api.pointee.create!(component.host, values.raw, &out, &error)
        guard status == STEPWISE_OK, let out else {
            throw HostServices.takeError(error, status: status, context: "creating hook \(component.typeName)")
        }
        instance = out
    }

    deinit { api.pointee.destroy?(instance) }

    public func handles(_ point: HookPoint) -> Bool { api.pointee.points & (1 << UInt64(point.rawValue)) != 0 }

    public func call(_ point: HookPoint, _ runner: Runner) throws {
        var error: OpaquePointer? = nil
        let status = runner.withView(for: point) { view in api.pointee.on_event!(instance, point.abi, view, &error) }
        guard status == STEPWISE_OK || status == STEPWISE_SKIPPED else {
            throw HostServices.takeError(error, status: status, context: "\(name) at \(point)")
        }
    }

    public func saveState() throws -> [UInt8]? {
        guard let save = api.pointee.save_state else { return nil }
        let sink = ByteSink()
        var error: OpaquePointer? = nil
        let status = sink.withStream { save(instance, $0, &error) }
        guard status == STEPWISE_OK else { throw HostServices.takeError(error, status: status, context: "saving \(name) state") }
        return sink.bytes
    }

    public func loadState(_ bytes: [UInt8]) throws {
        guard let load = api.pointee.load_state else { return }
        var error: OpaquePointer? = nil
        let status = ByteSource(bytes).withStream { load(instance, $0, &error) }
        guard status == STEPWISE_OK else { throw HostServices.takeError(error, status: status, context: "loading \(name) state") }
    }
}
