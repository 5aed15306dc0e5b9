import StepwiseABI

/// An optimizer's whole state, keyed by parameter names (never positions): each slot of
/// each stepped parameter, the plugin's opaque extra state, and every group's
/// hyperparameters. Checkpoints store tensors as "<param>.<slot>".
public struct OptimizerState: Sendable, Equatable {
    public struct Tensor: Sendable, Equatable {
        public var key: String      // "<param>.<slot>"
        public var shape: [Int]
        public var values: [Float]
    }
    public struct Scalar: Sendable, Equatable {
        public var key: String
        public var value: Double
    }

    public var type: String
    public var tensors: [Tensor] = []
    public var scalars: [Scalar] = []
    /// Parameters that have state (were stepped at least once).
    public var initialized: [String] = []
    /// The plugin's opaque state (LBFGS history), with its version.
    public var extra: [UInt8]? = nil
    public var extraVersion: UInt32 = 0
    /// Per group: the parameter names and the current hyperparameter values.
    public var groups: [ConfigDict] = []
}

extension Optimizer {
    private var slotNames: [String] {
        (0..<Int(api.pointee.slot_count)).map { String(cString: api.pointee.slots[$0]!.pointee.name) }
    }

    public func stateDict() throws -> OptimizerState {
        var state = OptimizerState(type: component.typeName)
        let names = slotNames
        for p in params {
            guard let s = states[p.name], !s.fresh else { continue }
            state.initialized.append(p.name)
            for (i, slot) in names.enumerated() {
                if let t = s.tensor(i) {
                    state.tensors.append(.init(key: "\(p.name).\(slot)", shape: s.shapes[i] ?? [], values: Array(t)))
                } else if let x = s.scalar(i) {
                    state.scalars.append(.init(key: "\(p.name).\(slot)", value: x.pointee))
                }
            }
        }
        if let save = api.pointee.save_state {
            let sink = ByteSink()
            var error: OpaquePointer? = nil
            let status = sink.withStream { save(instance, $0, &error) }
            guard status == STEPWISE_OK else {
                throw HostServices.takeError(error, status: status, context: "saving \(component.typeName) state")
            }
            state.extra = sink.bytes
            state.extraVersion = api.pointee.state_version
        }
        for g in paramGroups {
            var d = ConfigDict()
            d["params"] = .list(g.params.map { .string($0.name) })
            for (i, h) in component.hyperparams.enumerated() { d[h.name] = g.values.values[i] }
            state.groups.append(d)
        }
        return state
    }

    /// Restores a state dict saved by `stateDict`, possibly by another process. Refuses
    /// (and changes nothing) when it does not fit these parameters.
    public func loadStateDict(_ state: OptimizerState, extraChunk: Int = .max) throws {
        guard state.type == component.typeName else {
            throw StepwiseError.state("state is of optimizer \(state.type), not \(component.typeName)")
        }
        guard state.groups.count == paramGroups.count else {
            throw StepwiseError.state("state has \(state.groups.count) param groups; this optimizer has \(paramGroups.count)")
        }
        let byName = Dictionary(params.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let names = slotNames
        // Build everything first, then swap in: a refused state changes nothing.
        var fresh: [String: SlotStorage] = [:]
        for name in state.initialized {
            guard let p = byName[name], let group = paramGroups.first(where: { $0.params.contains { $0 === p } }),
                  let index = group.params.firstIndex(where: { $0 === p }) else {
                throw StepwiseError.state("state names parameter '\(name)', which this optimizer does not have")
            }
            let storage = try SlotStorage(api: api, instance: instance, param: group.cParams + index, count: p.count,
                                          scalars: scalarArena, tensors: tensorArena)
            for (i, slot) in names.enumerated() {
                let key = "\(name).\(slot)"
                if let t = storage.tensor(i) {
                    guard let saved = state.tensors.first(where: { $0.key == key }) else {
                        throw StepwiseError.state("state has no '\(key)'")
                    }
                    guard saved.values.count == t.count, saved.shape == storage.shapes[i] else {
                        throw StepwiseError.state("'\(key)' has shape \(saved.shape); expected \(storage.shapes[i] ?? [])")
                    }
                    _ = t.initialize(from: saved.values)
                } else if let x = storage.scalar(i) {
                    guard let saved = state.scalars.first(where: { $0.key == key }) else {
                        throw StepwiseError.state("state has no '\(key)'")
                    }
                    x.pointee = saved.value
                }
            }
            storage.fresh = false
            fresh[name] = storage
        }
        // Hyperparameters are tried on copies first and applied last, after the plugin's
        // own state loaded: a refused state changes nothing.
        for (g, saved) in zip(paramGroups, state.groups) {
            let trial = g.values.copy()
            for entry in saved.entries where entry.key != "params" {
                try trial.set(entry.key, entry.value)
            }
            // The plugin's cross-key rules, as for a config's groups.
            try component.runCheck(trial, context: "\(component.typeName) state, param group \(g.index)")
        }
        if let load = api.pointee.load_state {
            guard let extra = state.extra else {
                throw StepwiseError.state("\(component.typeName) state has no extra state, which this optimizer needs")
            }
            guard state.extraVersion == api.pointee.state_version else {
                throw StepwiseError.state("\(component.typeName) extra state has version \(state.extraVersion); this plugin reads \(api.pointee.state_version)")
            }
            let source = ByteSource(extra, chunk: extraChunk)
            var error: OpaquePointer? = nil
            let status = source.withStream { load(instance, $0, &error) }
            guard status == STEPWISE_OK else {
                throw HostServices.takeError(error, status: status, context: "loading \(component.typeName) state")
            }
        }
        for (g, saved) in zip(paramGroups, state.groups) {
            for entry in saved.entries where entry.key != "params" {
                try g.values.set(entry.key, entry.value)
            }
        }
        states = fresh
        for g in paramGroups {
            g.slotCache = Array(repeating: nil, count: g.params.count)
            g.settled = false
        }
    }
}
