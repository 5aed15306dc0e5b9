import Foundation
import StepwiseABI

/// Checks of what instances do: determinism, independence, and for optimizers the step
/// contract, convergence and non-finite gradients.
enum BehaviorChecks {
    static func deterministic(_ ctx: CheckContext) throws -> CheckOutcome {
        let a = try ctx.driver(.deterministic, twoGroups: true, workDir: ctx.workDir + "/a")
        let first = try a.run(0..<a.unitCount)
        let b = try ctx.driver(.deterministic, twoGroups: true, workDir: ctx.workDir + "/a")
        let second = try b.run(0..<b.unitCount)
        if let i = firstDifference(first, second) {
            return .fail("the second run differs from the first at \(ctx.unitName) \(i) of \(a.unitCount)")
        }
        guard try a.checkpointBytes(writeChunk: .max) == b.checkpointBytes(writeChunk: .max) else {
            return .fail("two identical runs end in different states")
        }
        return .pass("two runs of \(a.unitCount) \(ctx.unitName)s are bit-identical, state included")
    }

    static func instancesIndependent(_ ctx: CheckContext) throws -> CheckOutcome {
        let alone = try ctx.driver(.instancesIndependent, workDir: ctx.workDir + "/alone")
        let reference = try alone.run(0..<alone.unitCount)
        let b = try ctx.driver(.instancesIndependent, workDir: ctx.workDir + "/b")
        let c = try ctx.driver(.instancesIndependent, workDir: ctx.workDir + "/c")
        var tb: [[UInt64]] = [], tc: [[UInt64]] = []
        for i in 0..<alone.unitCount {
            tb.append(try b.run(i))
            tc.append(try c.run(i))
        }
        if let i = firstDifference(reference, tb) ?? firstDifference(reference, tc) {
            return .fail("two interleaved instances differ from one run alone at \(ctx.unitName) \(i): they share state (a global or static variable?)")
        }
        return .pass("two interleaved instances match a lone one over \(alone.unitCount) \(ctx.unitName)s")
    }

    /// Candidate learning rates: the default first, then the usual decades, within range.
    static func learningRates(_ c: Component) -> [Double?] {
        guard let lr = c.hyperparam(role: STEPWISE_ROLE_LR) else { return [nil] }
        var out: [Double?] = [nil]
        for x in [0.1, 0.01, 1.0, 0.001, 10.0] where ValueCodec.rangeViolation(.float(x), lr) == nil {
            if lr.defaultValue?.double != x { out.append(x) }
        }
        return out
    }

    static func converges(_ ctx: CheckContext) throws -> CheckOutcome {
        let c = ctx.component
        let base = try SampleValues.config(c)
        var tried: [String] = []
        for lr in learningRates(c) {
            var config = base
            if let lr, let h = c.hyperparam(role: STEPWISE_ROLE_LR) { config[h.name] = .float(lr) }
            let d = try required(try ctx.driver(.converges, config: config) as? OptimizerDriver, "an optimizer driver")
            let steps = d.needsClosure ? 40 : 400
            let initial = d.loss
            var best = initial
            for i in 0..<steps {
                _ = try d.run(i)
                guard d.loss.isFinite else { break }
                best = min(best, d.loss)
            }
            let final = d.loss
            let label = lr.map { "lr \(formatNumber($0))" } ?? "defaults"
            if final.isFinite && final <= 0.01 * initial {
                return .pass("\(label): the toy quadratic's loss fell from \(short(initial)) to \(short(final)) in \(steps) steps")
            }
            tried.append("\(label): \(short(initial)) → \(short(final))")
            _ = best
        }
        return .fail("no learning rate took the toy quadratic's loss below 1% of its start (\(tried.joined(separator: "; ")))")
    }

    static func short(_ x: Double) -> String { x.isFinite ? String(format: "%.3g", x) : "\(x)" }

    /// Canaries after every buffer, gradients and gradient-less parameters compared
    /// around each step, lent values fingerprinted.
    static func stepContract(_ ctx: CheckContext) throws -> CheckOutcome {
        let d = try required(try ctx.driver(.stepContract, twoGroups: true) as? OptimizerDriver, "an optimizer driver")
        let api = try required(ctx.component.optimizerAPI, "the optimizer api").pointee
        let slotNames = (0..<Int(api.slot_count)).map { api.slots[$0].map { String(cString: $0.pointee.name) } ?? "?" }
        for i in 0..<d.unitCount {
            if !d.needsClosure { d.problem.setGrads(d.params, step: i) }
            for p in d.params {
                Padding.arm(p.data)
                Padding.arm(p.grad)
                if let s = d.optimizer.states[p.name] {
                    for k in 0..<s.shapes.count { if let t = s.tensor(k) { Padding.arm(t) } }
                }
            }
            // Slots allocated by this step were never armed; only those that existed are checked.
            let armed = Set(d.optimizer.states.keys)
            let grads = d.params.map { p in p.hasGrad ? p.grad.map(\.bitPattern) : [] }
            let idle = d.params.filter { !$0.hasGrad && !d.needsClosure }
            let idleBefore = idle.map { snapshot($0, d) }
            let values = d.optimizer.paramGroups.map { fingerprint($0.values.raw) }
            do {
                if d.needsClosure {
                    try d.optimizer.step { [problem = d.problem, params = d.params] in problem.evaluate(params) }
                } else {
                    try d.optimizer.step()
                }
            } catch {
                return .fail("step \(i) failed: \(error)")
            }
            for p in d.params {
                if !Padding.intact(p.data) { return .fail("step \(i) wrote past the end of the data of '\(p.name)' (\(p.count) floats)") }
                if !Padding.intact(p.grad) { return .fail("step \(i) wrote past the end of the gradient of '\(p.name)'") }
                if armed.contains(p.name), let s = d.optimizer.states[p.name] {
                    for k in 0..<s.shapes.count {
                        if let t = s.tensor(k), !Padding.intact(t) {
                            return .fail("step \(i) wrote past the end of slot '\(slotNames[k])' of '\(p.name)' (\(t.count) floats)")
                        }
                    }
                }
            }
            if !d.needsClosure {
                for (p, before) in zip(d.params, grads) where p.hasGrad && p.grad.map(\.bitPattern) != before {
                    return .fail("step \(i) changed the gradient of '\(p.name)'; optimizers only read gradients")
                }
            }
            for (p, before) in zip(idle, idleBefore) where snapshot(p, d) != before {
                return .fail("step \(i) changed '\(p.name)' or its state, which had no gradient (grad == NULL) on that step")
            }
            if d.optimizer.paramGroups.map({ fingerprint($0.values.raw) }) != values {
                return .fail("step \(i) wrote into the hyperparameter values it was lent")
            }
        }
        return .pass("\(d.unitCount) steps over 2 groups wrote only parameter data and state, within bounds")
    }

    private static func snapshot(_ p: Parameter, _ d: OptimizerDriver) -> [UInt32] {
        var out = p.data.map(\.bitPattern)
        if let s = d.optimizer.states[p.name] {
            for k in 0..<s.shapes.count {
                if let t = s.tensor(k) { out += t.map(\.bitPattern) }
                if let x = s.scalar(k) { out += [UInt32(truncatingIfNeeded: x.pointee.bitPattern), UInt32(truncatingIfNeeded: x.pointee.bitPattern >> 32)] }
            }
        }
        return out
    }

    static func nonFinite(_ ctx: CheckContext) throws -> CheckOutcome {
        ctx.kind == .wrapper ? try wrapperNonFinite(ctx) : try optimizerNonFinite(ctx)
    }

    static func optimizerNonFinite(_ ctx: CheckContext) throws -> CheckOutcome {
        let rejects = try required(ctx.component.optimizerAPI, "the optimizer api").pointee.flags & UInt32(STEPWISE_OPT_REJECTS_NON_FINITE) != 0
        var notes: [String] = []
        let cases: [(String, Int, Int, Float)] = [("NaN", 0, 0, .nan), ("+inf", 1, 1, .infinity), ("-inf", 2, 0, -.infinity)]
        for (label, param, index, bad) in cases {
            let d = try required(try ctx.driver(.nonFinite) as? OptimizerDriver, "an optimizer driver")
            for i in 0..<3 { _ = try d.run(i) }
            d.problem.setGrads(d.params, step: 0)
            d.params[param].grad[index] = bad
            let before = d.snapshot()
            let inject: (([Parameter]) -> Double)? = d.needsClosure
                ? { ps in let loss = d.problem.evaluate(ps); ps[param].grad[index] = bad; return loss } : nil
            let (status, message) = try d.rawStep(closureGrads: inject)
            let name = d.params[param].name
            if rejects {
                guard status == STEPWISE_NON_FINITE else {
                    return .fail("declares STEPWISE_OPT_REJECTS_NON_FINITE, but a \(label) gradient in '\(name)' got status \(status.rawValue), not STEPWISE_NON_FINITE (\(STEPWISE_NON_FINITE.rawValue))")
                }
                guard d.snapshot() == before else {
                    return .fail("refused the \(label) gradient in '\(name)' but changed parameters or state anyway")
                }
                guard !message.isEmpty else { return .fail("refused the \(label) gradient without a message") }
                // The refusal must not poison the instance.
                d.problem.setGrads(d.params, step: 4)
                let (after, why) = try d.rawStep(closureGrads: d.needsClosure ? { d.problem.evaluate($0) } : nil)
                guard after == STEPWISE_OK || after == STEPWISE_SKIPPED else {
                    return .fail("after refusing a \(label) gradient, a finite step fails (status \(after.rawValue)): \(why)")
                }
            } else {
                notes.append("\(label): status \(status.rawValue)")
            }
        }
        return .pass(rejects ? "NaN, +inf and -inf gradients refused with STEPWISE_NON_FINITE, nothing changed"
                             : "not REJECTS_NON_FINITE; NaN/inf gradients stepped without a crash (\(notes.joined(separator: ", ")))")
    }

    static func wrapperNonFinite(_ ctx: CheckContext) throws -> CheckOutcome {
        let probe = try required(try ctx.driver(.nonFinite) as? WrapperDriver, "a wrapper driver")
        _ = try probe.run(0..<probe.unitCount)
        let updates = Set(probe.updatedAfter)
        let d = try required(try ctx.driver(.nonFinite, nonFiniteAt: updates) as? WrapperDriver, "a wrapper driver")
        _ = try d.run(0..<d.unitCount)
        return .pass("NaN and infinite gradients in \(updates.count) updates: pre_step neither crashed nor reported a non-finite norm")
    }
}
