/// MMEngine's `OptimWrapperDict`: named wrappers (`generator`, `discriminator`), each with
/// its own optimizer, accumulation, precision and schedulers. It saves and loads all of
/// them and reports their learning rates under prefixed keys (`generator.lr`); the calls
/// whose target would be ambiguous (`updateParams`, `backward`, `step`, `optimContext`)
/// refuse with a message naming the wrappers to call instead.
///
/// Config (mmagic's MultiOptimWrapperConstructor layout): each key of `optim_wrapper` is
/// a wrapper config over the parameters whose names start with `<key>.`:
///
///     optim_wrapper:
///       constructor: MultiOptimWrapperConstructor   # optional
///       generator: {optimizer: {type: Adam, lr: 1.0e-4, betas: [0.5, 0.999]}}
///       discriminator: {type: AmpOptimWrapper, dtype: bfloat16, optimizer: {...}}
public final class OptimWrapperDict: @unchecked Sendable, Sequence {
    public private(set) var items: [(name: String, wrapper: OptimWrapper)]

    public init(_ items: [(name: String, wrapper: OptimWrapper)]) throws {
        var seen = Set<String>()
        for (name, _) in items where !seen.insert(name).inserted {
            throw StepwiseError.config("OptimWrapperDict has two wrappers named '\(name)'")
        }
        self.items = items
    }

    /// True when an `optim_wrapper` config is a dict of named wrapper configs rather than
    /// one wrapper (it has no `type`, `optimizer` or paramwise keys of its own).
    public static func isMultiWrapperConfig(_ config: ConfigDict) -> Bool {
        if let c = config["constructor"]?.string, c != "DefaultOptimWrapperConstructor" { return true }
        return config["type"] == nil && config["optimizer"] == nil && !config.isEmpty
            && config.entries.allSatisfy { $0.key == "constructor" || $0.value.dict != nil }
    }

    /// Builds each named wrapper over the parameters named `<name>.*`. Parameter names
    /// stay whole; paramwise custom keys and regexes see the names relative to the
    /// sub-model, as MMEngine's constructor walks `model.<name>`.
    public convenience init(registry: PluginRegistry, config: ConfigDict, params: [Parameter]) throws {
        let at = config.origin.map { " in \($0)" } ?? ""
        if let c = config["constructor"]?.string, c != "MultiOptimWrapperConstructor" {
            throw StepwiseError.config("optim_wrapper constructor '\(c)' is not supported for named wrappers (use MultiOptimWrapperConstructor)\(at)")
        }
        var built: [(name: String, wrapper: OptimWrapper)] = []
        for e in config.entries where e.key != "constructor" {
            guard var sub = e.value.dict else {
                throw StepwiseError.config("optim_wrapper '\(e.key)' must be a wrapper config dict\(at)")
            }
            if sub.origin == nil { sub.origin = e.origin ?? config.origin }
            let prefix = e.key + "."
            let members = params.filter { $0.name.hasPrefix(prefix) }
            guard !members.isEmpty else {
                let roots = Set(params.compactMap { $0.name.split(separator: ".").first.map(String.init) }).sorted()
                throw StepwiseError.config("optim_wrapper '\(e.key)' matches no parameter named '\(prefix)*' (parameters start with: \(roots.joined(separator: ", ")))\(at)")
            }
            do {
                built.append((e.key, try OptimWrapper.relative(registry: registry, config: sub, params: members, prefix: prefix)))
            } catch let error as StepwiseError {
                throw StepwiseError(error.category, "optim_wrapper '\(e.key)': \(error.message)")
            }
        }
        guard !built.isEmpty else { throw StepwiseError.config("optim_wrapper has no named wrapper\(at)") }
        try self.init(built)
    }

    public var count: Int { items.count }
    public var keys: [String] { items.map(\.name) }
    public var values: [OptimWrapper] { items.map(\.wrapper) }
    public func contains(_ name: String) -> Bool { items.contains { $0.name == name } }
    public subscript(name: String) -> OptimWrapper? { items.first { $0.name == name }?.wrapper }

    /// The wrapper named `name`, or an error listing the names there are.
    public func wrapper(_ name: String) throws -> OptimWrapper {
        guard let w = self[name] else {
            throw StepwiseError.usage("Cannot find '\(name)' in OptimWrapperDict (it holds \(keys.joined(separator: ", "))); please check your optim_wrapper config")
        }
        return w
    }

    public func makeIterator() -> IndexingIterator<[(name: String, wrapper: OptimWrapper)]> { items.makeIterator() }

    // MARK: Refused: which wrapper is meant is ambiguous

    private func ambiguous(_ call: String) -> StepwiseError {
        let example = keys.first ?? "generator"
        return StepwiseError.usage("`\(call)` should be called by each optimizer wrapper separately: an OptimWrapperDict holds \(keys.joined(separator: ", ")) and cannot tell which one is meant; call it on one, e.g. optimWrappers[\"\(example)\"].\(call)")
    }

    public func updateParams(loss: Double, backward: (Double) throws -> Void) throws -> UpdateReport {
        throw ambiguous("updateParams")
    }
    public func backward(_ body: (Double) throws -> Void) throws { throw ambiguous("backward") }
    public func step() throws -> WrapperStepReport { throw ambiguous("step") }
    public func optimContext<R>(_ body: (PrecisionContext) throws -> R) throws -> R { throw ambiguous("optimContext") }

    // MARK: Forwarded to every wrapper

    /// Zeroes the gradients of every wrapper.
    public func zeroGrad(setToNone: Bool = true) {
        for (_, w) in items { w.zeroGrad(setToNone: setToNone) }
    }

    /// Does nothing, as MMEngine's: the dict cannot know each wrapper's iteration count
    /// (a GAN steps its discriminator more often than its generator); call it on each
    /// wrapper.
    public func initializeCountStatus(initCounts: Int = 0, maxCounts: Int) {}

    /// `<name>.lr` (and `<name>.base_lr`) for every wrapper.
    public func getLR() -> [String: [Double]] {
        var out: [String: [Double]] = [:]
        for (name, w) in items {
            let inner = w.getLR()
            if let base = inner["base_lr"] { out["\(name).base_lr"] = base }
            out["\(name).lr"] = inner["lr"] ?? []
        }
        return out
    }

    /// `<name>.momentum` for every wrapper.
    public func getMomentum() -> [String: [Double]] {
        var out: [String: [Double]] = [:]
        for (name, w) in items { out["\(name).momentum"] = w.getMomentum()["momentum"] ?? [] }
        return out
    }

    /// Each wrapper's param groups, by name.
    public var paramGroups: [String: [ParamGroup]] {
        Dictionary(uniqueKeysWithValues: items.map { ($0.name, $0.wrapper.paramGroups) })
    }

    public func stateDict() throws -> [String: OptimWrapperState] {
        var out: [String: OptimWrapperState] = [:]
        for (name, w) in items { out[name] = try w.stateDict() }
        return out
    }

    /// Loads the state of every named wrapper in `state`; a name this dict lacks is
    /// refused before anything is loaded.
    public func loadStateDict(_ state: [String: OptimWrapperState]) throws {
        for name in state.keys.sorted() where !contains(name) {
            throw StepwiseError.state("Mismatched state dict: cannot find '\(name)' in OptimWrapperDict (it holds \(keys.joined(separator: ", ")))")
        }
        for (name, w) in items {
            if let s = state[name] { try w.loadStateDict(s) }
        }
    }
}

extension OptimWrapper {
    /// Builds a wrapper whose paramwise rules see names relative to `prefix` (a sub-model).
    static func relative(registry: PluginRegistry, config: ConfigDict, params: [Parameter], prefix: String) throws -> OptimWrapper {
        let parts = try OptimWrapperConfig(config)
        var plan = try parts.plan(params: params.map { $0.spec.dropping(prefix: prefix) })
        plan.restorePrefix(prefix)
        let optimizer = try Optimizer(registry: registry, config: parts.optimizer, params: params, paramGroups: plan.optimizerGroups)
        let wrapper = try OptimWrapper(optimizer: optimizer, registry: registry, config: parts.wrapper, plan: plan)
        wrapper.shardsOptimizerState = parts.shardsOptimizerState
        return wrapper
    }
}

extension ParamSpec {
    func dropping(prefix: String) -> ParamSpec {
        var s = self
        if s.name.hasPrefix(prefix) { s.name = String(s.name.dropFirst(prefix.count)) }
        return s
    }
}

extension ParamGroupPlan {
    mutating func restorePrefix(_ prefix: String) {
        for i in groups.indices { groups[i].params = groups[i].params.map { prefix + $0 } }
        reasons = Dictionary(uniqueKeysWithValues: reasons.map { (prefix + $0.key, $0.value) })
        skipped = skipped.map { (prefix + $0.name, $0.reason) }
    }
}
