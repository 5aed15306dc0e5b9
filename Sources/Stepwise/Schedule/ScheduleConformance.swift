/// The "schedule" kind of conformance case (conformance/FORMAT.md): a schedule config run
/// in its dialect's loop; what it computes has the shape of the case's `expected`
/// (`{"lr": [[group 0 per iteration], ...], "momentum": ..., "<param_name>": ...}`).
public struct ScheduleConformance: ConformanceKind {
    public let kind = "schedule"

    public init() {}

    /// Schedule values are doubles. MindSpore's LearningRateSchedule cases write float32
    /// values, but their tolerance admits a float32 or a float64 implementation, so one
    /// double comparison serves every case.
    public func expectedIsFloat32(path: [String]) -> Bool { false }

    public func run(_ c: ConformanceCase, registry: PluginRegistry) throws -> JSONValue {
        guard var json = c.json.configValue.dict else { throw StepwiseError.config("\(c.fileName): a case is a JSON object") }
        json.origin = ConfigOrigin(file: c.fileName)
        let trace = try Self.trace(json, registry: registry)
        let keys = c.json["expected"]?.object?.map(\.0) ?? trace.keys
        return .object(keys.compactMap { key in
            trace.values[key].map { groups in (key, .array(groups.map { .array($0.map(JSONValue.double)) })) }
        })
    }

    /// Runs a case's schedule and records every value.
    public static func trace(_ json: ConfigDict, registry: PluginRegistry) throws -> ScheduleTrace {
        var document = ConfigDict()
        document.origin = json.origin
        for key in ["dialect", "optimizer", "param_groups", "param_scheduler", "lr_config", "momentum_config"] {
            if let v = json[key] { document[key, origin: json.origin(of: key) ?? json.origin] = v }
        }
        let loop: ScheduleLoopShape
        if document["dialect"]?.string == ScheduleDialect.mindspore.rawValue {
            // Functions have no `steps`: their expected list is as long as what they return.
            let steps = json["steps"]?.int.map(Int.init) ?? json["expected"]?.dict?["lr"]?.list?.first?.list?.count ?? 0
            loop = ScheduleLoopShape(epochs: 1, itersPerEpoch: steps)
        } else {
            loop = ScheduleLoopShape(epochs: Int(json["epochs"]?.int ?? 0), itersPerEpoch: Int(json["iters_per_epoch"]?.int ?? 0))
        }
        var metrics: [String: [Double]] = [:]
        for entry in json["val_metrics"]?.dict?.entries ?? [] {
            metrics[entry.key] = entry.value.list?.compactMap(\.double) ?? []
        }
        let simulation = try ScheduleSimulation(registry: registry, document: document, loop: loop, valMetrics: metrics)
        try simulation.start()
        return try simulation.run()
    }
}
