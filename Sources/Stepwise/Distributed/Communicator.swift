import Foundation
import StepwiseABI

/// The processes of one data-parallel run, as the transport numbers them. Rank 0 logs and
/// writes.
public protocol Communicator: AnyObject, Sendable {
    var rank: Int { get }
    var size: Int { get }
    /// In place: every rank's buffer becomes the element-wise sum over ranks.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// Root's buffer to every rank.
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws
    /// Every rank's `send` (counts[r] floats from rank r), concatenated in rank order into
    /// `receive` on every rank.
    func allGather(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws
    func barrier() throws
    /// Starts `allReduceSum` and returns at once; `wait` the result before reading the
    /// buffer. Every rank must start its reductions in the same order.
    func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction
}

/// A reduction in flight.
public protocol PendingReduction: AnyObject {
    func wait() throws
}

extension Communicator {
    /// For communicators without non-blocking collectives: reduces at once.
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
        try allReduceSum(buffer)
        return CompletedReduction()
    }
}

/// A communicator component's instance (ABI 1.1): the transport a plugin provides, such
/// as the bundled `mpi`. The host decides when to communicate (GradientAllReduce,
/// ZeroRedundancy); the plugin moves the numbers.
public final class PluginCommunicator: Communicator, @unchecked Sendable {
    public let component: Component
    public let rank: Int
    public let size: Int
    // The values must outlive the instance (the header's rule for create).
    private let values: ResolvedValues
    private let instance: UnsafeMutableRawPointer
    private let api: stepwise_communicator_api

    /// Creates `config`'s communicator (its `type` names the component).
    public convenience init(registry: PluginRegistry, config: ConfigDict) throws {
        try self.init(try registry.component(.communicator, for: config), config: config)
    }

    public init(_ component: Component, config: ConfigDict) throws {
        guard let api = component.communicatorAPI?.pointee, let create = api.create else {
            throw StepwiseError(.plugin, "'\(component.typeName)' is \(component.kind.withArticle), not a communicator")
        }
        let values = try component.resolve(config)
        var made: UnsafeMutableRawPointer?
        var error: OpaquePointer?
        let status = create(component.host, values.raw, &made, &error)
        guard status == STEPWISE_OK, let made else {
            throw HostServices.takeError(error, status: status, context: "creating communicator '\(component.typeName)'")
        }
        self.component = component
        self.values = values
        self.instance = made
        self.api = api
        rank = Int(api.rank(made))
        size = Int(api.size(made))
        guard size >= 1, (0..<size).contains(rank) else {
            api.destroy(made)
            throw StepwiseError(.plugin, "communicator '\(component.typeName)' reports rank \(rank) of \(size)")
        }
    }

    deinit { api.destroy(instance) }

    /// Runs one collective call, turning its status into an error that names the rank.
    private func call(_ what: String, _ body: (UnsafeMutablePointer<OpaquePointer?>) -> stepwise_status) throws {
        var error: OpaquePointer?
        let status = body(&error)
        guard status == STEPWISE_OK else {
            throw HostServices.takeError(error, status: status, context: "\(what) on rank \(rank) of \(size)")
        }
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try call("all-reduce of \(buffer.count) floats") {
            api.all_reduce(instance, buffer.baseAddress, Int64(buffer.count), STEPWISE_F32, STEPWISE_REDUCE_SUM, $0)
        }
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try call("all-reduce of \(buffer.count) doubles") {
            api.all_reduce(instance, buffer.baseAddress, Int64(buffer.count), STEPWISE_F64, STEPWISE_REDUCE_SUM, $0)
        }
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try call("broadcast of \(buffer.count) floats") {
            api.broadcast(instance, buffer.baseAddress, Int64(buffer.count), STEPWISE_F32, Int32(root), $0)
        }
    }

    public func allGather(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        guard counts.count == size, counts[rank] == send.count, counts.reduce(0, +) <= receive.count else {
            throw StepwiseError.usage("all-gather on rank \(rank): counts \(counts) do not fit \(send.count) sent, \(receive.count) received")
        }
        let counts64 = counts.map { Int64($0) }
        try call("all-gather of \(counts.reduce(0, +)) floats") { error in
            counts64.withUnsafeBufferPointer {
                api.all_gather(instance, send.baseAddress, Int64(send.count), receive.baseAddress, $0.baseAddress,
                               STEPWISE_F32, error)
            }
        }
    }

    public func barrier() throws { try call("barrier") { api.barrier(instance, $0) } }

    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
        guard let start = api.all_reduce_start else {
            try allReduceSum(buffer)
            return CompletedReduction()
        }
        var request: OpaquePointer?
        try call("start of an all-reduce of \(buffer.count) floats") {
            start(instance, buffer.baseAddress, Int64(buffer.count), STEPWISE_F32, STEPWISE_REDUCE_SUM, &request, $0)
        }
        return StartedReduction(request, owner: self, count: buffer.count)
    }

    fileprivate func wait(_ request: OpaquePointer?, count: Int) throws {
        // Required with all_reduce_start (the loader checks).
        guard let wait = api.wait else { return }
        try call("all-reduce of \(count) floats") { wait(instance, request, $0) }
    }
}

/// For communicators without non-blocking collectives: reduced at the start.
final class CompletedReduction: PendingReduction {
    func wait() throws {}
}

/// A started reduction; waited exactly once (a dropped one is waited for, so the
/// transport never writes into a buffer its owner thinks is free).
private final class StartedReduction: PendingReduction {
    private var request: OpaquePointer?
    private let owner: PluginCommunicator
    private let count: Int

    init(_ request: OpaquePointer?, owner: PluginCommunicator, count: Int) {
        self.request = request; self.owner = owner; self.count = count
    }

    func wait() throws {
        guard let r = request else { return }
        request = nil
        try owner.wait(r, count: count)
    }

    deinit { try? wait() }
}

/// How a process learns that it is one rank of a data-parallel run, and which transport
/// to use: MMEngine's `launcher` and `env_cfg.dist_cfg`.
public enum DistributedEnvironment {
    /// The backend when `env_cfg.dist_cfg` names none.
    public static let defaultBackend = "mpi"

    /// Whether this process was started by mpirun (Open MPI sets OMPI_COMM_WORLD_SIZE,
    /// MPICH and Intel MPI set PMI_SIZE).
    public static var launchedByMPIRun: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMI_SIZE"] != nil
    }

    /// The communicator of this process when it was started as one rank of several, or
    /// nil. `envCfg` is the config's `env_cfg`; its `dist_cfg.backend` names a
    /// communicator component (default `mpi`), and dist_cfg's other keys configure it.
    public static func communicator(registry: PluginRegistry, envCfg: ConfigDict?) throws -> Communicator? {
        guard launchedByMPIRun else { return nil }
        return try PluginCommunicator(registry: registry, config: backendConfig(envCfg))
    }

    /// `dist_cfg` as a communicator config: `backend` becomes `type`.
    public static func backendConfig(_ envCfg: ConfigDict?) -> ConfigDict {
        var config = envCfg?["dist_cfg"]?.dict ?? ConfigDict()
        let backend = config["backend"]
        config["backend"] = nil
        config["type"] = backend ?? .string(defaultBackend)
        return config
    }
}
