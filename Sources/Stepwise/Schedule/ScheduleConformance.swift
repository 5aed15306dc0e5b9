import Foundation

/// The "schedule" kind of conformance case (conformance/FORMAT.md): a schedule config run
/// in its dialect's loop, every recorded value compared with the reference's.
public enum ScheduleConformance {
    public static let kind = "schedule"

    public struct Result: Sendable {
        public var name: String
        /// Values compared.
        public var checked: Int
        /// One line per mismatch (the first few of each series).
        public var mismatches: [String]
        public var passed: Bool { mismatches.isEmpty }
    }

    /// Runs one parsed case.
    public static func run(_ json: ConfigDict, registry: PluginRegistry) throws -> Result {
        let name = json["name"]?.string ?? json.origin?.file ?? "schedule case"
        guard let expected = json["expected"]?.dict else {
            throw StepwiseError.config("\(name): a schedule case needs 'expected'")
        }
        let tolerance = json["tolerance"]?.dict
        let rtol = tolerance?["rtol"]?.double ?? 1e-5
        let atol = tolerance?["atol"]?.double ?? 1e-7

        var document = ConfigDict()
        document.origin = json.origin
        for key in ["dialect", "optimizer", "param_groups", "param_scheduler", "lr_config", "momentum_config"] {
            if let v = json[key] { document[key, origin: json.origin(of: key)] = v }
        }
        let loop: ScheduleLoopShape
        if document["dialect"]?.string == ScheduleDialect.mindspore.rawValue {
            let steps = json["steps"]?.int.map(Int.init) ?? expected["lr"]?.list?.first?.list?.count ?? 0
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
        let trace = try simulation.run()

        var result = Result(name: name, checked: 0, mismatches: [])
        for entry in expected.entries {
            let key = entry.key
            let groups = (entry.value.list ?? []).map { ($0.list ?? []).map { $0.double ?? .nan } }
            guard let got = trace.values[key] else {
                result.mismatches.append("\(key): not recorded (the schedule records \(trace.keys.joined(separator: ", ")))")
                continue
            }
            guard got.count == groups.count else {
                result.mismatches.append("\(key): \(got.count) param groups recorded, \(groups.count) expected")
                continue
            }
            for (g, want) in groups.enumerated() {
                guard got[g].count == want.count else {
                    result.mismatches.append("\(key)[group \(g)]: \(got[g].count) iterations recorded, \(want.count) expected")
                    continue
                }
                var shown = 0
                for (i, (x, w)) in zip(got[g], want).enumerated() {
                    result.checked += 1
                    guard !(abs(x - w) <= atol + rtol * abs(w)) else { continue }
                    if shown < 3 {
                        result.mismatches.append("\(key)[group \(g)] at iteration \(i): got \(x), expected \(w)")
                    }
                    shown += 1
                }
                if shown > 3 { result.mismatches.append("\(key)[group \(g)]: \(shown - 3) more mismatches") }
            }
        }
        return result
    }

    /// Runs a case file.
    public static func run(path: String, registry: PluginRegistry) throws -> Result {
        try run(try ConfigLoader.load(path: path), registry: registry)
    }
}
