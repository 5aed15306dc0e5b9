/// A wrapper's whole state: the optimizer's (slots keyed by parameter names), the
/// wrapper plugin's opaque state (an AmpOptimWrapper's GradScaler: scale, factors,
/// interval, growth tracker), the iteration counter and MMEngine's `base_param_settings`.
public struct OptimWrapperState: Sendable, Equatable {
    /// The wrapper type that saved it ("AmpOptimWrapper").
    public var type: String
    public var optimizer: OptimizerState
    /// MMEngine's `_inner_count` (a resumed run also calls `initializeCountStatus`).
    public var innerCount: Int
    /// The loss scale when saved (informational; the scaler's state is `wrapperState`).
    public var lossScale: Double
    /// The plugin's opaque state and its version, or nil for wrappers without state.
    public var wrapperState: [UInt8]?
    public var wrapperStateVersion: UInt32 = 0
    /// The group-like copy of the optimizer defaults schedulers drive (several groups).
    public var baseParamSettings: ConfigDict?
}

extension OptimWrapper {
    public func stateDict() throws -> OptimWrapperState {
        var base: ConfigDict? = nil
        if let b = baseParamSettings {
            var d = ConfigDict()
            for (i, h) in b.component.hyperparams.enumerated() { d[h.name] = b.values[i] }
            base = d
        }
        // ZeRO-1: every rank's shard, gathered (a collective: every rank calls stateDict
        // together), so a checkpoint holds the whole state and resumes on any rank count.
        let local = try optimizer.stateDict()
        let whole = try (gradientSync as? ZeroRedundancy)?.gatherState(local) ?? local
        return OptimWrapperState(type: component.typeName, optimizer: whole, innerCount: innerCount,
                                 lossScale: lossScale, wrapperState: try wrapper.saveState(),
                                 wrapperStateVersion: wrapper.stateVersion, baseParamSettings: base)
    }

    /// Restores a state saved by `stateDict`. As in MMEngine, a state without loss-scaler
    /// state (saved by a plain OptimWrapper) restores the optimizer and keeps the current
    /// scaler; a plain wrapper ignores a saved scaler. Refuses state that does not fit,
    /// changing nothing.
    public func loadStateDict(_ state: OptimWrapperState, chunk: Int = .max) throws {
        let hasState = wrapper.api.pointee.load_state != nil
        if hasState, state.wrapperState != nil, state.type == component.typeName,
           state.wrapperStateVersion != wrapper.stateVersion {
            throw StepwiseError.state("\(component.typeName) state has version \(state.wrapperStateVersion); this plugin reads \(wrapper.stateVersion)")
        }
        // Check the scaler state on a scratch instance first, so a refusal changes nothing.
        let scaler = hasState && state.type == component.typeName ? state.wrapperState : nil
        if let scaler {
            let scratch = try WrapperInstance(component: component, values: values)
            try scratch.loadState(scaler, chunk: chunk)
        }
        try optimizer.loadStateDict((gradientSync as? ZeroRedundancy)?.localState(state.optimizer) ?? state.optimizer)
        if let scaler { try wrapper.loadState(scaler, chunk: chunk) }
        if let saved = state.baseParamSettings, let base = baseParamSettings {
            for e in saved.entries where base.index(of: e.key) != nil { try base.set(e.key, e.value) }
        }
        innerCount = state.innerCount
        precision.invalidate()
    }
}
