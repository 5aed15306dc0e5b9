import Foundation
import StepwiseABI

/// Drives a communicator through the collectives of data-parallel training in the one
/// process the validator runs (a world of one rank, as `mpirun -n 1` or MPI's singleton
/// start give): a unit is one round of all_reduce (f32 and f64), a started all-reduce
/// and its wait, all_gather, broadcast and barrier over seeded buffers of varying length.
/// In a world of one, each must hand back exactly what it was given; anything else fails.
final class CommunicatorDriver: Driver {
    let component: Component
    let api: stepwise_communicator_api
    let values: ResolvedValues
    let instance: UnsafeMutableRawPointer
    let seed: UInt64

    var unitCount: Int { 12 }
    var resumePoint: Int { 4 }
    var streamsState: Bool { false }

    init(_ component: Component, _ spec: DriverSpec) throws {
        self.component = component
        api = try required(component.communicatorAPI, "the communicator api").pointee
        var config = spec.config
        config["type"] = .string(component.qualifiedName)
        values = try component.resolve(config)
        instance = try Lifecycle.create(component, values)
        seed = spec.seed
        let (rank, size) = (try required(api.rank, "rank")(instance), try required(api.size, "size")(instance))
        guard rank == 0, size == 1 else {
            api.destroy?(instance)
            throw CheckSkip("the validator runs one process, but the communicator reports rank \(rank) of \(size)")
        }
    }

    deinit { api.destroy?(instance) }

    func run(_ i: Int) throws -> [UInt64] {
        var rng = SeededRandom(seed: seed &+ UInt64(i))
        let count = 1 + (i * 37) % 257
        let floats = (0..<count).map { _ in Float.random(in: -4...4, using: &rng) }
        let doubles = floats.map { Double($0) * 3 }
        var out: [UInt64] = []

        var f = floats
        try call("all_reduce (f32)") { e in f.withUnsafeMutableBytes { api.all_reduce?(instance, $0.baseAddress, Int64(count), STEPWISE_F32, STEPWISE_REDUCE_SUM, e) } }
        try expect(f == floats, "all_reduce (f32) of \(count) elements changed the buffer in a world of one rank")
        var d = doubles
        try call("all_reduce (f64)") { e in d.withUnsafeMutableBytes { api.all_reduce?(instance, $0.baseAddress, Int64(count), STEPWISE_F64, STEPWISE_REDUCE_SUM, e) } }
        try expect(d == doubles, "all_reduce (f64) of \(count) elements changed the buffer in a world of one rank")

        if let start = api.all_reduce_start, let wait = api.wait {
            var s = floats
            try s.withUnsafeMutableBytes { bytes in
                var request: OpaquePointer?
                try call("all_reduce_start") { start(instance, bytes.baseAddress, Int64(count), STEPWISE_F32, STEPWISE_REDUCE_SUM, &request, $0) }
                try call("wait") { wait(instance, request, $0) }
            }
            try expect(s == floats, "a started all-reduce of \(count) elements changed the buffer in a world of one rank")
            out += s.map { UInt64($0.bitPattern) }
        }

        var gathered = [Float](repeating: .nan, count: count + 3)
        var counts: [Int64] = [Int64(count)]
        try call("all_gather") { e in
            floats.withUnsafeBytes { send in
                gathered.withUnsafeMutableBytes { receive in
                    counts.withUnsafeMutableBufferPointer {
                        api.all_gather?(instance, send.baseAddress, Int64(count), receive.baseAddress, $0.baseAddress, STEPWISE_F32, e)
                            ?? STEPWISE_INTERNAL
                    }
                }
            }
        }
        try expect(Array(gathered[..<count]) == floats, "all_gather in a world of one rank did not copy the sent elements")
        try expect(gathered[count...].allSatisfy(\.isNaN), "all_gather wrote past the elements the counts add up to")

        var b = floats
        try call("broadcast") { e in b.withUnsafeMutableBytes { api.broadcast?(instance, $0.baseAddress, Int64(count), STEPWISE_F32, 0, e) } }
        try expect(b == floats, "broadcast from rank 0 in a world of one rank changed the buffer")
        try call("barrier") { e in api.barrier?(instance, e) ?? STEPWISE_INTERNAL }
        out += f.map { UInt64($0.bitPattern) }
        out += d.map(\.bitPattern)
        out += gathered.map { UInt64($0.bitPattern) }
        return out
    }

    private func call(_ what: String, _ body: (UnsafeMutablePointer<OpaquePointer?>) throws -> stepwise_status?) throws {
        var error: OpaquePointer?
        let status = try body(&error) ?? STEPWISE_INTERNAL
        let message = takeMessage(error)
        guard status == STEPWISE_OK else {
            throw UnitRefused(status: status, description: "\(what) failed (status \(status.rawValue)): \(message)")
        }
        if error != nil { throw CheckFailure("\(what) returned OK but also set *error (the error would leak)") }
    }

    private func expect(_ condition: Bool, _ failure: String) throws {
        if !condition { throw CheckFailure(failure) }
    }

    // A communicator keeps no state: a checkpoint holds nothing of it, and a resumed run
    // just creates a new instance.
    func checkpointBytes(writeChunk: Int) throws -> [UInt8] { [] }
    func resume(from other: Driver, at unit: Int, readChunk: Int, writeChunk: Int) throws {}
    func saveStream(writeChunk: Int) throws -> [UInt8] { [] }
    func loadStream(_ bytes: [UInt8], readChunk: Int) -> StreamLoad {
        StreamLoad(status: STEPWISE_UNSUPPORTED, message: "communicators keep no state")
    }
    func loadStream(_ pattern: PatternSource) -> StreamLoad {
        StreamLoad(status: STEPWISE_UNSUPPORTED, message: "communicators keep no state")
    }
}
