import Foundation
import StepwiseABI

/// Checks of saved state, written once for every kind through `Driver`.
enum StateChecks {
    /// Runs `a` to a point the host could checkpoint at, about halfway.
    static func runToCheckpoint(_ a: Driver) throws -> Int {
        let k = a.resumePoint
        _ = try a.run(0..<k)
        return k
    }

    static func roundTrip(_ ctx: CheckContext, check: ValidationCheck, readChunk: Int, writeChunk: Int) throws -> CheckOutcome {
        let a = try ctx.driver(check, twoGroups: true, workDir: ctx.workDir + "/run")
        let k = try runToCheckpoint(a)
        let saved = try a.checkpointBytes(writeChunk: writeChunk)
        let b = try ctx.driver(check, twoGroups: true, startUnit: k, workDir: ctx.workDir + "/run")
        try b.resume(from: a, at: k, readChunk: readChunk, writeChunk: writeChunk)
        let resaved = try b.checkpointBytes(writeChunk: writeChunk)
        if saved != resaved {
            let at = zip(saved, resaved).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(saved.count, resaved.count)
            return .fail("save → load → save is not byte-identical: \(saved.count) bytes, then \(resaved.count), first difference at byte \(at)")
        }
        let ta = try a.run(k..<a.unitCount)
        let tb = try b.run(k..<b.unitCount)
        if let i = firstDifference(ta, tb) {
            return .fail("the loaded instance continues differently from the saved one at \(ctx.unitName) \(k + i)\(a.streamsState ? "" : " (it declares no state, so a fresh instance must continue the same)")")
        }
        guard try a.checkpointBytes(writeChunk: .max) == b.checkpointBytes(writeChunk: .max) else {
            return .fail("the loaded instance ends in a different state from the saved one")
        }
        let streamed = a.streamsState ? "\(try a.saveStream(writeChunk: .max).count) bytes of streamed state; " : "no streamed state; "
        return .pass(streamed + "save → load → save identical after \(k) \(ctx.unitName)s, and the loaded instance continues identically")
    }

    static func stateRoundTrip(_ ctx: CheckContext) throws -> CheckOutcome {
        try roundTrip(ctx, check: .stateRoundTrip, readChunk: .max, writeChunk: .max)
    }

    static func stateChunked(_ ctx: CheckContext) throws -> CheckOutcome {
        let probe = try ctx.driver(.stateChunked)
        guard probe.streamsState else { return .skip("no save_state / load_state: nothing is streamed") }
        _ = try runToCheckpoint(probe)
        let whole = try probe.saveStream(writeChunk: .max)
        let bytewise = try probe.saveStream(writeChunk: 1)
        guard whole == bytewise else {
            return .fail("save_state writes different bytes when the stream takes one byte per call (\(whole.count) vs \(bytewise.count) bytes)")
        }
        let outcome = try roundTrip(ctx, check: .stateChunked, readChunk: 1, writeChunk: 1)
        guard outcome.status == .passed else { return .fail(outcome.detail + " (with one byte per read and write)") }
        return .pass("\(whole.count) bytes saved and loaded one byte per call: identical, and it continues identically")
    }

    /// Empty, truncated, trailing-garbage and endless input must be refused with
    /// STEPWISE_BAD_STATE and leave the instance as it was; random garbage and mutations
    /// may be accepted (a format without a header cannot tell) but must not crash. The bad
    /// states derive from another instance's, further on, so that a loader which applies
    /// part of a state before refusing the rest shows.
    static func stateInvalid(_ ctx: CheckContext) throws -> CheckOutcome {
        let donor = try ctx.driver(.stateInvalid, workDir: ctx.workDir + "/donor")
        guard donor.streamsState else { return .skip("no save_state / load_state: nothing is streamed") }
        _ = try runToCheckpoint(donor)
        let valid = try donor.saveStream(writeChunk: .max)
        let a = try ctx.driver(.stateInvalid, workDir: ctx.workDir + "/target")
        _ = try a.run(0..<max(1, a.resumePoint / 2))
        let mine = try a.saveStream(writeChunk: .max)
        var rng = SeededRandom(seed: ctx.seed(.stateInvalid))
        var refusals = 0, tried = 0

        func chunk(_ n: Int) -> Int { [Int.max, 1, 7, 64][n % 4] }
        func unchanged(_ label: String) throws {
            guard try a.saveStream(writeChunk: .max) == mine else {
                throw CheckFailure("refusing \(label) changed the instance's state (a refused load must change nothing: read everything, check it, then apply)")
            }
        }
        func mustRefuse(_ bytes: [UInt8], _ label: String) throws {
            tried += 1
            let r = a.loadStream(bytes, readChunk: chunk(tried))
            if r.accepted { throw CheckFailure("load_state accepted \(label)") }
            guard r.status == STEPWISE_BAD_STATE else {
                throw CheckFailure("load_state refused \(label) with status \(r.status.rawValue); the ABI asks for STEPWISE_BAD_STATE (\(STEPWISE_BAD_STATE.rawValue))")
            }
            guard !r.message.isEmpty else { throw CheckFailure("load_state refused \(label) without a message") }
            try unchanged(label)
            refusals += 1
        }
        func mustSurvive(_ bytes: [UInt8], _ label: String) throws {
            tried += 1
            let r = a.loadStream(bytes, readChunk: chunk(tried))
            if r.accepted {
                _ = try a.saveStream(writeChunk: .max)
                let back = a.loadStream(mine, readChunk: .max)
                guard back.accepted else { throw CheckFailure("after accepting \(label), load_state refuses a valid state: \(back.message)") }
            } else {
                guard r.status == STEPWISE_BAD_STATE else {
                    throw CheckFailure("load_state refused \(label) with status \(r.status.rawValue); the ABI asks for STEPWISE_BAD_STATE (\(STEPWISE_BAD_STATE.rawValue))")
                }
                try unchanged(label)
                refusals += 1
            }
        }

        if !valid.isEmpty {
            try mustRefuse([], "an empty state")
            var cuts = Set([1, valid.count - 1, valid.count / 2].filter { $0 > 0 && $0 < valid.count })
            if valid.count <= 64 { cuts.formUnion(1..<valid.count) }
            while cuts.count < min(valid.count - 1, ctx.budget.randomInputs) { cuts.insert(Int.random(in: 1..<valid.count, using: &rng)) }
            for n in cuts.sorted() { try mustRefuse(Array(valid.prefix(n)), "a state truncated to \(n) of \(valid.count) bytes") }
        }
        try mustRefuse(valid + [0], "a valid state followed by a zero byte")
        try mustRefuse(valid + rng.bytes(16), "a valid state followed by 16 random bytes")
        for (byte, label) in [(UInt8(0xFF), "0xFF"), (0x7F, "0x7F")] {
            tried += 1
            let source = PatternSource(byte: byte, limit: 16 << 20)
            let r = a.loadStream(source)
            guard !r.accepted else { throw CheckFailure("load_state accepted 16 MB of \(label) bytes") }
            guard r.status == STEPWISE_BAD_STATE else {
                throw CheckFailure("load_state refused endless \(label) bytes with status \(r.status.rawValue), not STEPWISE_BAD_STATE")
            }
            try unchanged("endless \(label) bytes")
            refusals += 1
        }
        for _ in 0..<ctx.budget.randomInputs {
            let n = Int.random(in: 1...max(64, 2 * valid.count), using: &rng)
            try mustSurvive(rng.bytes(n), "\(n) random bytes")
        }
        if !valid.isEmpty {
            for _ in 0..<ctx.budget.mutations {
                var bytes = valid
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                case 1: bytes[at] = 0xFF
                default: bytes[at] = 0x7F
                }
                try mustSurvive(bytes, "a valid state with byte \(at) changed")
            }
        }
        return .pass("\(tried) bad states (empty, truncated, trailing bytes, 16 MB endless, random, mutated): \(refusals) refused with STEPWISE_BAD_STATE, none crashed")
    }
}
