import Foundation
import StepwiseABI

/// What a component check works with.
struct CheckContext {
    let registry: PluginRegistry
    let component: Component
    let budget: ValidationBudget
    /// A fresh folder for hooks that write files.
    let workDir: String

    var kind: ComponentKind { component.kind }
    var unitName: String {
        switch kind {
        case .optimizer: "step"
        case .scheduler: "tick"
        case .wrapper: "iteration"
        case .hook: "hook event"
        case .communicator: "collective round"
        }
    }

    func seed(_ check: ValidationCheck) -> UInt64 { stableSeed(component.qualifiedName, check.name) }

    /// A driver over the sample config. Refusals of values the validator chose are skips:
    /// defaults-accepted and valid-values-accepted report those.
    func driver(_ check: ValidationCheck, config: ConfigDict? = nil, twoGroups: Bool = false,
                nonFiniteAt: Set<Int> = [], startUnit: Int = 0, workDir: String? = nil) throws -> Driver {
        let spec = DriverSpec(config: try config ?? SampleValues.config(component), seed: seed(check),
                              twoGroups: twoGroups, nonFiniteAt: nonFiniteAt, workDir: workDir ?? self.workDir)
        do {
            return try Drivers.make(component, registry: registry, spec, startUnit: startUnit)
        } catch let e as StepwiseError {
            throw CheckSkip(refusal(e.message))
        } catch let e as CreateRefused {
            throw CheckSkip(refusal(e.description))
        }
    }

    private func refusal(_ why: String) -> String {
        SampleValues.madeUp(component)
            ? "the values made up for its required keys were refused (\(why))"
            : "its defaults were refused (see defaults-accepted): \(why)"
    }
}

/// The checks every component gets: its schema and its instances' life cycle.
enum SchemaChecks {
    static func defaultsAccepted(_ ctx: CheckContext) throws -> CheckOutcome {
        let c = ctx.component
        if let h = c.hyperparams.first(where: { $0.isRequired }) {
            return .skip("required key '\(h.name)' has no default, so there are no defaults to create with")
        }
        for h in c.hyperparams {
            if let d = h.defaultValue, let why = ValueCodec.rangeViolation(d, h) {
                return .fail("the default of '\(h.name)' is outside its range: \(why)")
            }
        }
        let defaults = ConfigDict(["type": .string(c.qualifiedName)])
        var values: ResolvedValues
        var completed: String? = nil
        do {
            values = try c.resolve(defaults)
        } catch {
            // A cross-key rule no set of defaults can meet (MMCV's "exactly one of two
            // keys") is the component's right; that some completion passes is checked.
            guard let (config, change) = SampleValues.completions(of: defaults, for: c).first(where: { (try? c.resolve($0.config)) != nil }),
                  let resolved = try? c.resolve(config) else {
                return .fail("the defaults are refused: \(error)")
            }
            values = resolved
            completed = "its check refuses the defaults alone (\(error)); with \(change) they pass"
        }
        // Three times: a heap overflow in create shows at destroy's free under malloc
        // checking, and a second instance must not depend on the first.
        for _ in 0..<3 {
            do {
                let instance = try Lifecycle.create(c, values)
                Lifecycle.destroy(c, instance)
            } catch let e as CreateRefused {
                return .fail("\(e) (the defaults passed the schema\(hasCheck(c) ? " and check" : ""))")
            }
        }
        if let completed { return .skip(completed + ", and create accepts them") }
        return .pass("\(c.hyperparams.count) defaults in range; created and destroyed 3 instances")
    }

    static func hasCheck(_ c: Component) -> Bool {
        switch c.kind {
        case .optimizer: c.optimizerAPI?.pointee.check != nil
        case .scheduler: c.schedulerAPI?.pointee.check != nil
        case .wrapper: c.wrapperAPI?.pointee.check != nil
        case .hook: c.hookAPI?.pointee.check != nil
        case .communicator: c.communicatorAPI?.pointee.check != nil
        }
    }

    static func badValuesRejected(_ ctx: CheckContext) throws -> CheckOutcome {
        let c = ctx.component
        let base = try SampleValues.config(c)
        do { _ = try c.resolve(base) } catch { throw CheckSkip("the base config is refused, so refusals prove nothing: \(error)") }
        var rng = SeededRandom(seed: ctx.seed(.badValuesRejected))
        var tried = 0
        var unknown = base
        unknown["not_a_hyperparameter"] = .float(1)
        try expectRefused(c, unknown, key: "not_a_hyperparameter", why: "an unknown key")
        tried += 1
        for h in c.hyperparams {
            for (value, why) in SampleValues.bad(h, extra: ctx.budget.strictness / 3, using: &rng) {
                var config = base
                config[h.name] = value
                try expectRefused(c, config, key: h.name, why: "\(ValueCodec.render(value)): \(why)")
                tried += 1
            }
        }
        return .pass("\(tried) bad values refused, each naming its key")
    }

    private static func expectRefused(_ c: Component, _ config: ConfigDict, key: String, why: String) throws {
        do {
            _ = try c.resolve(config)
        } catch {
            guard "\(error)".contains("'\(key)'") else {
                throw CheckFailure("'\(key)' = \(why) was refused, but the message does not name the key: \(error)")
            }
            return
        }
        throw CheckFailure("'\(key)' = \(why) was accepted")
    }

    static func validValuesAccepted(_ ctx: CheckContext) throws -> CheckOutcome {
        let c = ctx.component
        let base = try SampleValues.config(c)
        var rng = SeededRandom(seed: ctx.seed(.validValuesAccepted))
        var built = 0, refused = 0
        for n in 0..<ctx.budget.randomInputs {
            var config = base
            for h in c.hyperparams where Bool.random(using: &rng) {
                config[h.name] = SampleValues.random(h, current: config[h.name] ?? h.defaultValue, using: &rng)
            }
            let shown = "{" + config.entries.filter { $0.key != "type" }.map { "\($0.key): \(ValueCodec.render($0.value))" }.joined(separator: ", ") + "}"
            let values: ResolvedValues
            do {
                values = try c.resolve(config)
            } catch {
                // Cross-key rules may refuse a combination; they must say why.
                guard !"\(error)".trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw CheckFailure("\(shown) was refused without a message")
                }
                refused += 1
                continue
            }
            // Schedulers and wrappers see the loop only in create and their units (group
            // count, run length), and communicators their transport only in create, so
            // they may refuse a config there, with a message.
            let seesLoop = c.kind == .scheduler || c.kind == .wrapper || c.kind == .communicator
            do {
                let instance = try Lifecycle.create(c, values)
                Lifecycle.destroy(c, instance)
            } catch let e as CreateRefused where seesLoop && e.status == STEPWISE_INVALID_ARGUMENT && e.message != "no message" {
                refused += 1
                continue
            } catch let e as CreateRefused {
                throw CheckFailure("\(shown) passed the schema\(hasCheck(c) ? " and check" : ""), but \(e)")
            }
            let dir = ctx.workDir + "/random-\(n)"
            do {
                let d = try Drivers.make(c, registry: ctx.registry, DriverSpec(config: config, seed: ctx.seed(.validValuesAccepted), workDir: dir))
                for i in 0..<3 { _ = try d.run(i) }
            } catch let e as UnitRefused where seesLoop && e.status == STEPWISE_INVALID_ARGUMENT {
                refused += 1
                continue
            } catch let e as UnitRefused {
                throw CheckFailure("with \(shown): \(e)")
            } catch let e as CheckFailure {
                throw CheckFailure("with \(shown): \(e)")
            } catch {
                throw CheckFailure("with \(shown), the first \(ctx.unitName)s failed: \(error)")
            }
            built += 1
        }
        return .pass("\(built) random in-range configurations created and ran 3 \(ctx.unitName)s; \(refused) refused with a message")
    }

    /// The optional functions this component leaves NULL.
    static func nullOptionals(_ c: Component) -> [String] {
        let state = ("save_state/load_state", !StateFunctions(c).streams)
        var nulls: [(String, Bool)] = [("check", !hasCheck(c)), state]
        if let a = c.optimizerAPI?.pointee { nulls.append(("slot_shape", a.slot_shape == nil)) }
        if let a = c.communicatorAPI?.pointee { nulls.append(("all_reduce_start/wait", a.all_reduce_start == nil)) }
        if let a = c.wrapperAPI?.pointee {
            nulls += [("should_sync", a.should_sync == nil), ("post_step", a.post_step == nil), ("loss_scale", a.loss_scale == nil)]
        }
        return nulls.filter(\.1).map(\.0)
    }

    /// Runs every host path that would call an optional function: building (check),
    /// stepping with groups (slot_shape), the whole workload, saving and resuming
    /// (save_state / load_state). Calling a NULL one would crash this check.
    static func optionalFunctions(_ ctx: CheckContext) throws -> CheckOutcome {
        let nulls = nullOptionals(ctx.component)
        guard !nulls.isEmpty else { return .skip("every optional function is provided") }
        let a = try ctx.driver(.optionalFunctions, twoGroups: true)
        _ = try a.run(0..<a.resumePoint)
        let b = try ctx.driver(.optionalFunctions, twoGroups: true, startUnit: a.resumePoint)
        try b.resume(from: a, at: a.resumePoint, readChunk: .max, writeChunk: .max)
        _ = try a.checkpointBytes(writeChunk: .max)
        _ = try b.run(a.resumePoint..<b.unitCount)
        return .pass("NULL: \(nulls.joined(separator: ", ")); building, the whole workload, saving and resuming never called them")
    }
}
