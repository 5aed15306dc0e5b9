import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// How long the fuzz tests run: a fixed seed and bounded rounds in the suite;
/// STEPWISE_FUZZ_SCALE=100 (and STEPWISE_FUZZ_SEED=n) for longer runs outside it.
enum FuzzBudget {
    static let scale = max(1, Int(ProcessInfo.processInfo.environment["STEPWISE_FUZZ_SCALE"] ?? "") ?? 1)
    static let seed = UInt64(ProcessInfo.processInfo.environment["STEPWISE_FUZZ_SEED"] ?? "") ?? 0x5EED_57A7
    static func rounds(_ n: Int) -> Int { n * scale }
}

/// Byte-level mutations shared by the state fuzzers.
enum ByteMutator {
    static func mutate(_ bytes: [UInt8], _ rng: inout SeededRandom, interesting: [UInt8] = [0, 0xFF, 0x7F, 0x80, 1]) -> [UInt8] {
        var b = bytes
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let at = b.isEmpty ? 0 : Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0 where !b.isEmpty: b[at] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
            case 1 where !b.isEmpty: b[at] = interesting.randomElement(using: &rng)!
            case 2: b = Array(b.prefix(at))
            case 3: b.insert(contentsOf: rng.bytes(Int.random(in: 1...9, using: &rng)), at: min(at, b.count))
            case 4 where !b.isEmpty: b.removeSubrange(at..<min(b.count, at + Int.random(in: 1...8, using: &rng)))
            case 5 where b.count >= 8:
                // A plausible length field gone wrong: 8 bytes of a huge or off-by-one count.
                let start = min(at, b.count - 8)
                let value: UInt64 = [UInt64.max, 1 << 62, 1 << 31, UInt64(b.count + 1), 0].randomElement(using: &rng)!
                for k in 0..<8 { b[start + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
            default: b += rng.bytes(Int.random(in: 1...16, using: &rng))
            }
        }
        return b
    }
}

/// Seeded, bounded fuzzing of every state reader the host has: the optimizer's
/// loadStateDict, plugins' load_state through the host's streams, and the safetensors
/// reader. Bad input gives an error value, never a crash, and a refused load changes
/// nothing.
final class FuzzStateTests: XCTestCase {
    static let registry = PluginRegistry.load(.init(includeEnvironment: false))

    /// Mutated optimizer states: missing and renamed keys, wrong shapes and counts, NaN
    /// values, wrong hyperparameter types, garbage extra state. Each is loaded into a
    /// stepped optimizer: it is accepted (and stepping goes on) or refused with a
    /// StepwiseError that leaves the optimizer exactly as it was.
    func testOptimizerLoadStateDictSurvivesMutatedStates() throws {
        var rng = SeededRandom(seed: FuzzBudget.seed)
        let optimizers = Self.registry.components(kind: .optimizer)
        XCTAssertFalse(optimizers.isEmpty)
        var refused = 0, accepted = 0
        for component in optimizers {
            guard let config = try? SampleValues.config(component) else { continue }
            let donor = try OptimizerDriver(component, registry: Self.registry, DriverSpec(config: config, seed: 1, twoGroups: true))
            for i in 0..<3 { _ = try donor.run(i) }
            // Hyperparameters unlike the target's, so a half-applied refusal shows.
            if let lr = donor.optimizer.paramGroups[0].get(role: STEPWISE_ROLE_LR) {
                donor.optimizer.paramGroups[0].set(role: STEPWISE_ROLE_LR, lr / 2)
            }
            let valid = try donor.optimizer.stateDict()
            func makeTarget() throws -> OptimizerDriver {
                let d = try OptimizerDriver(component, registry: Self.registry, DriverSpec(config: config, seed: 2, twoGroups: true))
                for i in 0..<2 { _ = try d.run(i) }
                return d
            }
            var target = try makeTarget()
            for _ in 0..<FuzzBudget.rounds(150) {
                let before = try CanonicalState.encode(target.optimizer.stateDict())
                let mutated = mutate(valid, &rng)
                do {
                    try target.optimizer.loadStateDict(mutated, extraChunk: Int.random(in: 1...64, using: &rng))
                    accepted += 1
                    // What was accepted must step: anything the optimizer would refuse later
                    // belongs refused at load.
                    do { _ = try target.run(4) } catch {
                        XCTFail("\(component.typeName): accepted a state, then the next step failed: \(error)")
                    }
                    target = try makeTarget()
                } catch let e as StepwiseError {
                    refused += 1
                    XCTAssertFalse(e.message.isEmpty)
                    let after = try CanonicalState.encode(target.optimizer.stateDict())
                    XCTAssertTrue(before == after, "\(component.typeName): refusing a state (\(e)) changed the optimizer")
                    if before != after { return }
                }
            }
        }
        XCTAssertGreaterThan(refused, 50, "the mutations must reach the refusals")
        XCTAssertGreaterThan(accepted, 5, "and some must be harmless")
    }

    private func mutate(_ s: OptimizerState, _ rng: inout SeededRandom) -> OptimizerState {
        var m = s
        func junk() -> ConfigValue {
            [.null, .bool(true), .int(Int64.min), .float(.nan), .float(-1e300), .string("0.1"), .list([.float(1), .string("x")]),
             .list([]), .dict(ConfigDict(["a": .int(1)]))].randomElement(using: &rng)!
        }
        for _ in 0..<Int.random(in: 1...2, using: &rng) {
            switch Int.random(in: 0..<13, using: &rng) {
            case 0 where !m.tensors.isEmpty: m.tensors.remove(at: Int.random(in: 0..<m.tensors.count, using: &rng))
            case 1 where !m.tensors.isEmpty:
                let i = Int.random(in: 0..<m.tensors.count, using: &rng)
                m.tensors[i].shape = m.tensors[i].shape.isEmpty ? [2] : m.tensors[i].shape.dropLast() + [m.tensors[i].shape.last! + 1]
            case 2 where !m.tensors.isEmpty:
                let i = Int.random(in: 0..<m.tensors.count, using: &rng)
                if Bool.random(using: &rng) { m.tensors[i].values.append(1) } else if !m.tensors[i].values.isEmpty { m.tensors[i].values.removeLast() }
            case 3 where !m.tensors.isEmpty:
                let i = Int.random(in: 0..<m.tensors.count, using: &rng)
                m.tensors[i].values = m.tensors[i].values.map { _ in [Float.nan, .infinity, -0.0, 1e38].randomElement(using: &rng)! }
            case 4 where !m.initialized.isEmpty: m.initialized[Int.random(in: 0..<m.initialized.count, using: &rng)] = "no.such.param"
            case 5 where !m.initialized.isEmpty: m.initialized.append(m.initialized[0])
            case 6: m.type = ["", "Adam", m.type + "x", m.type.lowercased()].randomElement(using: &rng)!
            case 7 where !m.groups.isEmpty: m.groups.removeLast()
            case 8: m.groups.append(m.groups.first ?? ConfigDict())
            case 9 where !m.groups.isEmpty:
                let g = Int.random(in: 0..<m.groups.count, using: &rng)
                let keys = m.groups[g].keys + ["not_a_key"]
                m.groups[g][keys.randomElement(using: &rng)!] = junk()
            case 10: m.extra = Bool.random(using: &rng) ? nil : rng.bytes(Int.random(in: 0...64, using: &rng))
            case 11: m.extraVersion = UInt32.random(in: 0...3, using: &rng)
            case 12 where !m.scalars.isEmpty:
                let i = Int.random(in: 0..<m.scalars.count, using: &rng)
                if Bool.random(using: &rng) { m.scalars.remove(at: i) } else { m.scalars[i].value = .nan }
            default:
                if let extra = m.extra { m.extra = ByteMutator.mutate(extra, &rng) }
            }
        }
        return m
    }

    /// Every bundled component that streams state gets truncated, mutated and random
    /// bytes in chunks of 1 to 64 bytes: OK or STEPWISE_BAD_STATE, never anything else.
    func testPluginLoadStateSurvivesGarbageThroughStreams() throws {
        var rng = SeededRandom(seed: FuzzBudget.seed &+ 1)
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var fuzzed = 0
        for component in Self.registry.components() where StateFunctions(component).streams {
            guard let config = try? SampleValues.config(component),
                  let d = try? Drivers.make(component, registry: Self.registry, DriverSpec(config: config, seed: 3, workDir: folder)),
                  (try? d.run(0..<d.resumePoint)) != nil else { continue }
            let valid = try d.saveStream(writeChunk: .max)
            for round in 0..<FuzzBudget.rounds(300) {
                let bytes = round % 4 == 3 ? rng.bytes(Int.random(in: 0...96, using: &rng)) : ByteMutator.mutate(valid, &rng)
                let r = d.loadStream(bytes, readChunk: [1, 3, 64, .max].randomElement(using: &rng)!)
                XCTAssertTrue(r.status == STEPWISE_OK || r.status == STEPWISE_BAD_STATE,
                              "\(component.qualifiedName): status \(r.status.rawValue) (\(r.message)) for \(bytes.count) bytes")
                XCTAssertTrue(r.accepted || !r.message.isEmpty, "\(component.qualifiedName): refused without a message")
                XCTAssertTrue(d.loadStream(valid, readChunk: .max).accepted, "\(component.qualifiedName) no longer loads its own state")
            }
            fuzzed += 1
        }
        XCTAssertGreaterThan(fuzzed, 0, "some bundled component streams state")
    }

    /// Mutated safetensors files (header bytes, the length field, truncations, insertions)
    /// load or fail with a SafetensorsError; what loads is self-consistent.
    func testSafetensorsReaderSurvivesMutatedFiles() throws {
        var rng = SeededRandom(seed: FuzzBudget.seed &+ 2)
        // Memory-backed when possible: hundreds of small writes, nothing to keep.
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = base + "/stepwise-fuzz-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var loaded = 0, refused = 0
        for round in 0..<FuzzBudget.rounds(150) {
            var tensors: [String: SafetensorsTensor] = [:]
            for k in 0..<Int.random(in: 0...4, using: &rng) {
                let shape = (0..<Int.random(in: 0...3, using: &rng)).map { _ in Int.random(in: 0...3, using: &rng) }
                let n = shape.reduce(1, *)
                tensors["t\(k).\(["w", "exp_avg", "é", "a b"].randomElement(using: &rng)!)"] = switch k % 3 {
                case 0: SafetensorsTensor(shape: shape, float32: (0..<n).map { _ in Float.random(in: -1...1, using: &rng) })
                case 1: SafetensorsTensor(shape: shape, int64: (0..<n).map { _ in Int64.random(in: -9...9, using: &rng) })
                default: SafetensorsTensor(shape: shape, float64: (0..<n).map { _ in Double.random(in: -1...1, using: &rng) })
                }
            }
            let valid = Self.file(tensors, metadata: round % 2 == 0 ? ["epoch": "\(round)"] : [:])
            let headerEnd = 8 + Int(valid.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            for _ in 0..<40 {
                var bytes = ByteMutator.mutate(valid, &rng, interesting: Array("{}[],:\"0123456789-e.".utf8))
                if Bool.random(using: &rng), headerEnd <= valid.count {
                    // Aim at the header: JSON-significant bytes where the structure lives.
                    var header = Array(valid[8..<headerEnd])
                    header = ByteMutator.mutate(header, &rng, interesting: Array("{}[],:\"0123456789-e.".utf8))
                    bytes = Array(valid.prefix(8)) + header + valid[headerEnd...]
                }
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                do {
                    _ = try Safetensors.load(path)
                    loaded += 1
                    let reader = try SafetensorsReader(path: path)
                    for e in reader.entries {
                        XCTAssertEqual(e.byteCount, e.shape.reduce(1, *) * e.dtype.bitWidth / 8, "\(e.name)")
                    }
                } catch {
                    refused += 1
                }
            }
        }
        XCTAssertGreaterThan(refused, 100)
        XCTAssertGreaterThan(loaded, 5)
    }

    /// The bytes `Safetensors.save` writes, built in memory (saving fsyncs, which is slow
    /// in a loop).
    static func file(_ tensors: [String: SafetensorsTensor], metadata: [String: String]) -> [UInt8] {
        let (header, entries) = SafetensorsHeader.encode(
            tensors: tensors.map { ($0.key, $0.value.dtype, $0.value.shape, $0.value.storedByteCount) }, metadata: metadata)
        var out = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * UInt64($0))) } + header
        for e in entries { tensors[e.name]?.writeBytes { out += $0 } }
        return out
    }
}
