import Foundation

/// The processes of one data-parallel run, as MPI numbers them. Rank 0 logs and writes.
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

/// For communicators without non-blocking collectives: reduces at once.
final class CompletedReduction: PendingReduction {
    func wait() throws {}
}

extension Communicator {
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
        try allReduceSum(buffer)
        return CompletedReduction()
    }
}

/// Open MPI, reached through libStepwiseMPI.so (beside the executable), opened only when a
/// run is data parallel, so a single-process run never loads MPI.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int

    private typealias Status = @convention(c) () -> Int32
    private typealias IntOut = @convention(c) (UnsafeMutablePointer<Int32>?) -> Int32
    private typealias ReduceF = @convention(c) (UnsafeMutablePointer<Float>?, Int64) -> Int32
    private typealias ReduceD = @convention(c) (UnsafeMutablePointer<Double>?, Int64) -> Int32
    private typealias Bcast = @convention(c) (UnsafeMutablePointer<Float>?, Int64, Int32) -> Int32
    private typealias GatherV = @convention(c) (UnsafePointer<Float>?, Int64, UnsafeMutablePointer<Float>?,
                                                UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> Int32
    private typealias StartReduce = @convention(c) (UnsafeMutablePointer<Float>?, Int64,
                                                    UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32
    fileprivate typealias Wait = @convention(c) (UnsafeMutableRawPointer?) -> Int32
    private typealias ErrorText = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int32) -> Void

    private let reduceF: ReduceF
    private let reduceD: ReduceD
    private let bcast: Bcast
    private let gatherV: GatherV
    private let startReduce: StartReduce
    fileprivate let waitFn: Wait
    private let barrierFn: Status
    private let finalizeFn: Status
    private let errorText: ErrorText

    nonisolated(unsafe) private static var shared: MPICommunicator?
    private static let lock = NSLock()

    /// Whether this process was started by mpirun (Open MPI sets OMPI_COMM_WORLD_SIZE).
    public static var launchedByMPIRun: Bool {
        ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil
    }

    /// The process-wide communicator (MPI initializes once per process).
    public static func world() throws -> MPICommunicator {
        lock.lock()
        defer { lock.unlock() }
        if let shared { return shared }
        let made = try MPICommunicator()
        shared = made
        return made
    }

    private init() throws {
        let env = ProcessInfo.processInfo.environment
        let candidates = [env["STEPWISE_MPI_LIBRARY"], PluginLoader.bundledDirectory().map { $0 + "/libStepwiseMPI.so" }]
            .compactMap { $0 }
        var handle: UnsafeMutableRawPointer?
        var reasons: [String] = []
        for path in candidates {
            // RTLD_GLOBAL: Open MPI's own components (dlopened by libmpi) resolve libmpi's symbols.
            handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL)
            if handle != nil { break }
            reasons.append(dlerror().map { String(cString: $0) } ?? path)
        }
        guard let handle else {
            throw StepwiseError(.plugin, "cannot open the MPI library libStepwiseMPI.so (\(reasons.joined(separator: "; "))); build the package with Open MPI installed (bash scripts/setup.sh) or set STEPWISE_MPI_LIBRARY")
        }
        func symbol<T>(_ name: String, _: T.Type) throws -> T {
            guard let p = dlsym(handle, name) else {
                throw StepwiseError(.plugin, "libStepwiseMPI.so has no \(name): rebuild the package")
            }
            return unsafeBitCast(p, to: T.self)
        }
        let initFn = try symbol("swmpi_init", Status.self)
        let rankFn = try symbol("swmpi_rank", IntOut.self)
        let sizeFn = try symbol("swmpi_size", IntOut.self)
        reduceF = try symbol("swmpi_allreduce_sum_f32", ReduceF.self)
        reduceD = try symbol("swmpi_allreduce_sum_f64", ReduceD.self)
        bcast = try symbol("swmpi_bcast_f32", Bcast.self)
        gatherV = try symbol("swmpi_allgatherv_f32", GatherV.self)
        startReduce = try symbol("swmpi_iallreduce_sum_f32", StartReduce.self)
        waitFn = try symbol("swmpi_wait", Wait.self)
        barrierFn = try symbol("swmpi_barrier", Status.self)
        finalizeFn = try symbol("swmpi_finalize", Status.self)
        errorText = try symbol("swmpi_error_text", ErrorText.self)
        var r: Int32 = 0, s: Int32 = 0
        let text = errorText
        func check(_ code: Int32, _ what: String) throws {
            guard code != 0 else { return }
            throw StepwiseError(.io, "MPI \(what) failed: \(Self.describe(code, text))")
        }
        try check(initFn(), "initialization")
        try check(rankFn(&r), "rank query")
        try check(sizeFn(&s), "size query")
        rank = Int(r)
        size = Int(s)
    }

    private static func describe(_ code: Int32, _ text: ErrorText) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        text(code, &buffer, Int32(buffer.count))
        return String(cString: buffer) + " (code \(code))"
    }

    private func check(_ code: Int32, _ what: String) throws {
        guard code != 0 else { return }
        throw StepwiseError(.io, "MPI \(what) on rank \(rank) of \(size) failed: \(Self.describe(code, errorText))")
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try check(reduceF(buffer.baseAddress, Int64(buffer.count)), "all-reduce of \(buffer.count) floats")
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try check(reduceD(buffer.baseAddress, Int64(buffer.count)), "all-reduce of \(buffer.count) doubles")
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try check(bcast(buffer.baseAddress, Int64(buffer.count), Int32(root)), "broadcast of \(buffer.count) floats")
    }

    public func allGather(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        guard counts.count == size, counts[rank] == send.count, counts.reduce(0, +) <= receive.count,
              counts.allSatisfy({ $0 <= Int(Int32.max) }), counts.reduce(0, +) <= Int(Int32.max) else {
            throw StepwiseError.usage("all-gather on rank \(rank): counts \(counts) do not fit \(send.count) sent, \(receive.count) received (each below 2^31)")
        }
        var displs: [Int32] = []
        var at = 0
        for c in counts { displs.append(Int32(at)); at += c }
        let counts32 = counts.map { Int32($0) }
        try check(gatherV(send.baseAddress, Int64(send.count), receive.baseAddress, counts32, displs), "all-gather of \(at) floats")
    }

    public func barrier() throws { try check(barrierFn(), "barrier") }

    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
        var request: UnsafeMutableRawPointer?
        try check(startReduce(buffer.baseAddress, Int64(buffer.count), &request), "start of an all-reduce of \(buffer.count) floats")
        return MPIRequest(request, owner: self, count: buffer.count)
    }

    fileprivate func completed(_ code: Int32, count: Int) throws { try check(code, "all-reduce of \(count) floats") }

    /// Ends MPI for this process; call once, after the last collective.
    public func finalize() throws { try check(finalizeFn(), "finalize") }
}

/// An MPI request; waited exactly once (a dropped request is waited for, so MPI never
/// writes into a buffer its owner thinks is free).
private final class MPIRequest: PendingReduction {
    private var request: UnsafeMutableRawPointer?
    private let owner: MPICommunicator
    private let count: Int

    init(_ request: UnsafeMutableRawPointer?, owner: MPICommunicator, count: Int) {
        self.request = request; self.owner = owner; self.count = count
    }

    func wait() throws {
        guard let r = request else { return }
        request = nil
        try owner.completed(owner.waitFn(r), count: count)
    }

    deinit { try? wait() }
}
