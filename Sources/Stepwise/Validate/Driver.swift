import Foundation
import StepwiseABI

/// A component instance put through a fixed, seeded workload one unit at a time: an
/// optimizer step, a scheduler tick, a wrapper iteration, a hook event. The state and
/// determinism checks are written once against this.
protocol Driver: AnyObject {
    var unitCount: Int { get }
    /// A unit after which the host could checkpoint (a resumed run continues from it).
    var resumePoint: Int { get }
    /// Runs unit `i`; returns what is observable afterwards, as bit patterns.
    func run(_ i: Int) throws -> [UInt64]
    /// The plugin streams state (save_state and load_state are provided).
    var streamsState: Bool { get }
    /// Everything a checkpoint of this instance holds, canonically encoded.
    func checkpointBytes(writeChunk: Int) throws -> [UInt8]
    /// Makes this fresh instance continue `other`, which has run `unit` units, by loading
    /// the state `other` saves, as a resumed run does.
    func resume(from other: Driver, at unit: Int, readChunk: Int, writeChunk: Int) throws
    func saveStream(writeChunk: Int) throws -> [UInt8]
    func loadStream(_ bytes: [UInt8], readChunk: Int) -> StreamLoad
    func loadStream(_ pattern: PatternSource) -> StreamLoad
}

extension Driver {
    func run(_ units: Range<Int>) throws -> [[UInt64]] { try units.map { try run($0) } }
}

/// How a driver is built: which config, which seed, which variant of the workload.
struct DriverSpec {
    var config: ConfigDict
    var seed: UInt64
    /// Optimizers: two param groups (the second with half the learning rate) when the
    /// optimizer allows groups.
    var twoGroups = false
    /// Wrappers: the iterations whose gradients get a NaN and an infinity.
    var nonFiniteAt: Set<Int> = []
    /// Hooks: the run's work folder.
    var workDir: String = NSTemporaryDirectory()
}

enum Drivers {
    static func make(_ component: Component, registry: PluginRegistry, _ spec: DriverSpec,
                     startUnit: Int = 0) throws -> Driver {
        switch component.kind {
        case .optimizer: try OptimizerDriver(component, registry: registry, spec)
        case .scheduler: try SchedulerDriver(component, spec)
        case .wrapper: try WrapperDriver(component, spec, startIter: startUnit)
        case .hook: try HookDriver(component, spec)
        case .communicator: try CommunicatorDriver(component, spec)
        }
    }
}

/// The state functions of any kind's api table.
struct StateFunctions {
    var save: SaveStateFn?
    var load: LoadStateFn?
    var version: UInt32

    init(_ c: Component) {
        (save, load, version) = (nil, nil, 0)
        if let a = c.optimizerAPI?.pointee { (save, load, version) = (a.save_state, a.load_state, a.state_version) }
        if let a = c.schedulerAPI?.pointee { (save, load, version) = (a.save_state, a.load_state, a.state_version) }
        if let a = c.wrapperAPI?.pointee { (save, load, version) = (a.save_state, a.load_state, a.state_version) }
        if let a = c.hookAPI?.pointee { (save, load, version) = (a.save_state, a.load_state, a.state_version) }
    }

    var streams: Bool { save != nil && load != nil }

    func save(_ instance: UnsafeMutableRawPointer, writeChunk: Int) throws -> [UInt8] {
        guard let save else { return [] }
        return try StateIO.save(save, instance, writeChunk: writeChunk)
    }
    func load(_ instance: UnsafeMutableRawPointer, _ bytes: [UInt8], readChunk: Int) -> StreamLoad {
        guard let load else { return StreamLoad(status: STEPWISE_UNSUPPORTED, message: "no load_state") }
        return StateIO.load(load, instance, bytes, readChunk: readChunk)
    }
    func load(_ instance: UnsafeMutableRawPointer, _ pattern: PatternSource) -> StreamLoad {
        guard let load else { return StreamLoad(status: STEPWISE_UNSUPPORTED, message: "no load_state") }
        return StateIO.load(load, instance, pattern: pattern)
    }
}

/// Creates an instance of any kind with guarded out-parameters and proves the plugin
/// left its lent values alone; the caller destroys it.
enum Lifecycle {
    static func create(_ c: Component, _ values: ResolvedValues,
                       schedulerSetup: UnsafePointer<stepwise_schedule_setup>? = nil,
                       wrapperSetup: UnsafePointer<stepwise_wrapper_setup>? = nil) throws -> UnsafeMutableRawPointer {
        let instance = GuardedOut(), error = GuardedOut()
        let before = fingerprint(values.raw)
        let status: stepwise_status
        if let create = c.optimizerAPI?.pointee.create {
            status = create(c.host, values.raw, instance.pointer, error.errorPointer)
        } else if let create = c.schedulerAPI?.pointee.create {
            var setup = SchedulerDriver.defaultSetup
            status = withUnsafePointer(to: &setup) { fallback in
                create(c.host, values.raw, schedulerSetup ?? fallback, instance.pointer, error.errorPointer)
            }
        } else if let create = c.wrapperAPI?.pointee.create {
            var setup = stepwise_wrapper_setup(struct_size: MemoryLayout<stepwise_wrapper_setup>.size, start_iter: 0, max_iters: 12)
            status = withUnsafePointer(to: &setup) { fallback in
                create(c.host, values.raw, wrapperSetup ?? fallback, instance.pointer, error.errorPointer)
            }
        } else if let create = c.communicatorAPI?.pointee.create {
            status = create(c.host, values.raw, instance.pointer, error.errorPointer)
        } else {
            status = try required(c.hookAPI?.pointee.create, "create")(c.host, values.raw, instance.pointer, error.errorPointer)
        }
        if instance.damagedBytes > 0 || error.damagedBytes > 0 {
            throw CheckFailure("create wrote outside the out-parameters it was lent (\(instance.damagedBytes + error.damagedBytes) bytes around `instance` / `error` changed)")
        }
        if fingerprint(values.raw) != before {
            throw CheckFailure("create wrote into the hyperparameter values it was lent (they are const)")
        }
        guard status == STEPWISE_OK else {
            let message = takeMessage(error.errorPointer.pointee)
            throw CreateRefused(status: status, message: message.isEmpty ? "no message" : message)
        }
        if error.errorPointer.pointee != nil {
            _ = takeMessage(error.errorPointer.pointee)
            throw CheckFailure("create returned OK but also set *error (the error would leak)")
        }
        guard let made = instance.pointer.pointee else { throw CheckFailure("create returned OK but left *instance NULL") }
        return made
    }

    static func destroy(_ c: Component, _ instance: UnsafeMutableRawPointer) {
        // Required, so never NULL in a loaded plugin.
        c.optimizerAPI?.pointee.destroy?(instance)
        c.schedulerAPI?.pointee.destroy?(instance)
        c.wrapperAPI?.pointee.destroy?(instance)
        c.hookAPI?.pointee.destroy?(instance)
        c.communicatorAPI?.pointee.destroy?(instance)
    }
}

/// A unit of a workload (tick, pre_step, post_step, hook event) returned an error.
/// INVALID_ARGUMENT is the component refusing the loop with the values it was given,
/// which is a skip when the validator made those values up.
struct UnitRefused: Error, CustomStringConvertible {
    let status: stepwise_status
    let description: String
}

/// create refused values: a failure or, for values only the validator made up, a skip.
struct CreateRefused: Error, CustomStringConvertible {
    let status: stepwise_status
    let message: String
    var description: String { "create refused them (status \(status.rawValue)): \(message)" }
}
