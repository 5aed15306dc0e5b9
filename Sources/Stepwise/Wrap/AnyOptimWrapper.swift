/// What an `optim_wrapper` config builds: one wrapper, or named wrappers. The runner and
/// checkpoints use this to treat both alike (MMEngine's Runner.build_optim_wrapper).
public enum AnyOptimWrapper: Sendable {
    case single(OptimWrapper)
    case dict(OptimWrapperDict)

    /// Builds an `optim_wrapper` dict over the model's parameters (model order): named
    /// wrappers when the config is a dict of wrapper configs, one wrapper otherwise.
    public static func build(registry: PluginRegistry, config: ConfigDict, params: [Parameter]) throws -> AnyOptimWrapper {
        if OptimWrapperDict.isMultiWrapperConfig(config) {
            return .dict(try OptimWrapperDict(registry: registry, config: config, params: params))
        }
        return .single(try OptimWrapper(registry: registry, config: config, params: params))
    }

    /// Every wrapper with its name (nil for a single wrapper), in config order.
    public var wrappers: [(name: String?, wrapper: OptimWrapper)] {
        switch self {
        case .single(let w): [(nil, w)]
        case .dict(let d): d.items.map { ($0.name, $0.wrapper) }
        }
    }

    /// MMEngine's `get_lr`: `lr` (and `base_lr`), prefixed with the wrapper's name in a dict.
    public func getLR() -> [String: [Double]] {
        switch self {
        case .single(let w): w.getLR()
        case .dict(let d): d.getLR()
        }
    }

    public func getMomentum() -> [String: [Double]] {
        switch self {
        case .single(let w): w.getMomentum()
        case .dict(let d): d.getMomentum()
        }
    }

    public func zeroGrad(setToNone: Bool = true) {
        for (_, w) in wrappers { w.zeroGrad(setToNone: setToNone) }
    }

    /// Sets the iteration counts the way MMEngine's Runner does: on a single wrapper; a
    /// dict ignores it (each of its wrappers is counted by the code that steps it).
    public func initializeCountStatus(initCounts: Int = 0, maxCounts: Int) throws {
        if case .single(let w) = self { try w.initializeCountStatus(initCounts: initCounts, maxCounts: maxCounts) }
    }

    /// Every wrapper's state by name ("" for a single wrapper).
    public func stateDict() throws -> [String: OptimWrapperState] {
        var out: [String: OptimWrapperState] = [:]
        for (name, w) in wrappers { out[name ?? ""] = try w.stateDict() }
        return out
    }

    public func loadStateDict(_ state: [String: OptimWrapperState]) throws {
        switch self {
        case .single(let w):
            guard let s = state[""], state.count == 1 else {
                throw StepwiseError.state("the saved state holds wrappers \(state.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")); this run has one unnamed wrapper")
            }
            try w.loadStateDict(s)
        case .dict(let d):
            try d.loadStateDict(state)
        }
    }
}
