import Foundation

/// A whole training run in one `.safetensors` file, readable by the Python library:
///
///     <wrapper>.params.<param>          F32   the parameters
///     <wrapper>.state.<param>.<slot>    F32   optimizer slots (F64 scalars, shape [])
///     <wrapper>.optimizer_extra         U8    opaque optimizer state (LBFGS history)
///     <wrapper>.scaler                  U8    the wrapper plugin's state (loss scaler)
///     hooks.<index>.<hook>              U8    each stateful hook's state
///
/// and in the metadata key "stepwise" a JSON document with everything else: the iteration,
/// per wrapper its type, counters and param-group hyperparameters, every scheduler's
/// counters, and the application's own entries (RNG state, config). Written atomically.
public enum RunCheckpoint {
    public struct Wrapper {
        public var name: String
        public var wrapper: OptimWrapper
        public var schedulers: ParamSchedulers?
        public init(name: String, wrapper: OptimWrapper, schedulers: ParamSchedulers? = nil) {
            self.name = name; self.wrapper = wrapper; self.schedulers = schedulers
        }
    }

    struct Metadata: Codable {
        struct WrapperEntry: Codable {
            var name: String
            var type: String
            var innerCount: Int
            var lossScale: Double
            var scalerVersion: UInt32
            var optimizer: String
            var initialized: [String]
            var extraVersion: UInt32
            var groups: [String]           // JSON of each param group
            var baseParamSettings: String?
            var params: [String]
            var schedule: ScheduleState?
        }
        var format = 1
        var iter: Int
        var wrappers: [WrapperEntry]
        var hooks: [String]
        var extra: [String: String]
    }

    static let metadataKey = "stepwise"

    /// Saves the run after `iter` iterations. In a data-parallel run every rank calls it
    /// (a sharded optimizer state is gathered, a collective) and only the rank with
    /// `write` writes the file.
    public static func save(to path: String, iter: Int, wrappers: [Wrapper], hooks: [RunnerHook],
                            extra: [String: String] = [:], write: Bool = true) throws {
        // The other ranks only take part in the collectives that gather sharded state.
        guard write else {
            for w in wrappers { _ = try w.wrapper.stateDict() }
            return
        }
        var tensors: [String: any SafetensorsSource] = [:]
        var entries: [Metadata.WrapperEntry] = []
        for w in wrappers {
            let state = try w.wrapper.stateDict()
            for p in w.wrapper.optimizer.params {
                tensors["\(w.name).params.\(p.name)"] = SafetensorsTensor(shape: p.shape, float32: Array(p.data))
            }
            for t in state.optimizer.tensors {
                tensors["\(w.name).state.\(t.key)"] = SafetensorsTensor(shape: t.shape, float32: t.values)
            }
            for s in state.optimizer.scalars {
                tensors["\(w.name).state.\(s.key)"] = SafetensorsTensor(shape: [], float64: [s.value])
            }
            if let extra = state.optimizer.extra {
                tensors["\(w.name).optimizer_extra"] = SafetensorsTensor(dtype: .u8, shape: [extra.count], bytes: extra)
            }
            if let scaler = state.wrapperState {
                tensors["\(w.name).scaler"] = SafetensorsTensor(dtype: .u8, shape: [scaler.count], bytes: scaler)
            }
            entries.append(.init(
                name: w.name, type: state.type, innerCount: state.innerCount, lossScale: state.lossScale,
                scalerVersion: state.wrapperStateVersion, optimizer: state.optimizer.type,
                initialized: state.optimizer.initialized, extraVersion: state.optimizer.extraVersion,
                groups: state.optimizer.groups.map { JSONText.render(.dict($0)) },
                baseParamSettings: state.baseParamSettings.map { JSONText.render(.dict($0)) },
                params: w.wrapper.optimizer.params.map(\.name), schedule: try w.schedulers?.stateDict()))
        }
        var hookNames: [String] = []
        for (i, hook) in hooks.enumerated() {
            hookNames.append(hook.name)
            if let bytes = try hook.saveState() {
                tensors["hooks.\(i).\(hook.name)"] = SafetensorsTensor(dtype: .u8, shape: [bytes.count], bytes: bytes)
            }
        }
        let meta = Metadata(iter: iter, wrappers: entries, hooks: hookNames, extra: extra)
        let json = String(decoding: try JSONEncoder().encode(meta), as: UTF8.self)
        do {
            try Safetensors.save(tensors, metadata: [metadataKey: json], to: path)
        } catch {
            throw StepwiseError(.io, "\(error)")
        }
    }

    /// Restores a run saved by `save` into freshly built wrappers, schedulers and hooks
    /// (built from the same config). Returns the iteration to resume at and the
    /// application's entries. Refuses a file that does not fit, naming what differs.
    public static func load(from path: String, wrappers: [Wrapper], hooks: [RunnerHook]) throws
        -> (iter: Int, extra: [String: String])
    {
        let archive: SafetensorsArchive
        do { archive = try Safetensors.load(path) } catch { throw StepwiseError.state("\(error)") }
        guard let json = archive.metadata[metadataKey],
              let meta = try? JSONDecoder().decode(Metadata.self, from: Data(json.utf8)) else {
            throw StepwiseError.state("\(path) is a safetensors file but not a Stepwise checkpoint (no '\(metadataKey)' metadata)")
        }
        guard meta.format == 1 else { throw StepwiseError.state("\(path) has checkpoint format \(meta.format); this Stepwise reads 1") }
        guard meta.wrappers.map(\.name) == wrappers.map(\.name) else {
            throw StepwiseError.state("\(path) holds wrappers \(meta.wrappers.map(\.name)); this run has \(wrappers.map(\.name))")
        }
        func tensor(_ name: String) throws -> SafetensorsTensor {
            guard let t = archive.tensors[name] else { throw StepwiseError.state("\(path) has no tensor '\(name)'") }
            return t
        }
        func bytes(_ name: String) -> [UInt8]? {
            guard case .bytes(let b)? = archive.tensors[name]?.storage else { return nil }
            return b
        }
        // Read and check everything first; then apply.
        var apply: [() throws -> Void] = []
        for (w, entry) in zip(wrappers, meta.wrappers) {
            let params = w.wrapper.optimizer.params
            guard entry.params == params.map(\.name) else {
                throw StepwiseError.state("\(path): wrapper '\(w.name)' has parameters \(entry.params); this model has \(params.map(\.name))")
            }
            var values: [[Float]] = []
            for p in params {
                let t = try tensor("\(w.name).params.\(p.name)")
                guard t.shape == p.shape, let v = t.asFloat32() else {
                    throw StepwiseError.state("\(path): '\(w.name).params.\(p.name)' has shape \(t.shape); expected \(p.shape)")
                }
                values.append(v)
            }
            var optimizer = OptimizerState(type: entry.optimizer)
            optimizer.initialized = entry.initialized
            optimizer.extra = bytes("\(w.name).optimizer_extra")
            optimizer.extraVersion = entry.extraVersion
            let prefix = "\(w.name).state."
            for (name, t) in archive.tensors.sorted(by: { $0.key < $1.key }) where name.hasPrefix(prefix) {
                let key = String(name.dropFirst(prefix.count))
                if t.dtype == .f64, let v = t.asFloat64(), v.count == 1, t.shape.isEmpty {
                    optimizer.scalars.append(.init(key: key, value: v[0]))
                } else if let v = t.asFloat32() {
                    optimizer.tensors.append(.init(key: key, shape: t.shape, values: v))
                }
            }
            optimizer.groups = try entry.groups.map { try parseDict($0, path: path) }
            let state = OptimWrapperState(
                type: entry.type, optimizer: optimizer, innerCount: entry.innerCount, lossScale: entry.lossScale,
                wrapperState: bytes("\(w.name).scaler"), wrapperStateVersion: entry.scalerVersion,
                baseParamSettings: try entry.baseParamSettings.map { try parseDict($0, path: path) })
            if (entry.schedule == nil) != (w.schedulers == nil) {
                throw StepwiseError.state("\(path): wrapper '\(w.name)' \(entry.schedule == nil ? "had no" : "had") schedulers; this run \(w.schedulers == nil ? "has none" : "has some")")
            }
            apply.append {
                for (p, v) in zip(params, values) { _ = p.data.initialize(from: v) }
                try w.wrapper.loadStateDict(state)
                if let s = entry.schedule { try w.schedulers?.loadStateDict(s) }
            }
        }
        guard meta.hooks == hooks.map(\.name) else {
            throw StepwiseError.state("\(path) was saved with hooks \(meta.hooks); this run has \(hooks.map(\.name))")
        }
        for (i, hook) in hooks.enumerated() {
            if let b = bytes("hooks.\(i).\(hook.name)") { apply.append { try hook.loadState(b) } }
        }
        for step in apply { try step() }
        return (meta.iter, meta.extra)
    }

    static func parseDict(_ json: String, path: String) throws -> ConfigDict {
        do { return try ConfigLoader.parse(string: json, format: .json, origin: path) } catch {
            throw StepwiseError.state("\(path): unreadable metadata: \(error)")
        }
    }
}
