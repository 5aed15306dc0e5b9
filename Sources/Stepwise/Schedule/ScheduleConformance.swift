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

    /// Runs one parsed case (a JSON object).
    public static func run(_ json: [String: Any], registry: PluginRegistry, origin: String? = nil) throws -> Result {
        let name = json["name"] as? String ?? origin ?? "schedule case"
        guard let expected = json["expected"] as? [String: Any] else {
            throw StepwiseError.config("\(name): a schedule case needs 'expected'")
        }
        let tolerance = json["tolerance"] as? [String: Any]
        let rtol = (tolerance?["rtol"] as? NSNumber)?.doubleValue ?? 1e-5
        let atol = (tolerance?["atol"] as? NSNumber)?.doubleValue ?? 1e-7

        let fileOrigin = origin.map { ConfigOrigin(file: $0) }
        var document = ConfigDict()
        document.origin = fileOrigin
        for key in ["dialect", "optimizer", "param_groups", "param_scheduler", "lr_config", "momentum_config"] {
            if let v = json[key] { document[key, origin: fileOrigin] = ScheduleJSON.value(v) }
        }
        let dialect = document["dialect"]?.string
        let loop: ScheduleLoopShape
        if dialect == ScheduleDialect.mindspore.rawValue {
            let steps = (json["steps"] as? NSNumber)?.intValue
                ?? ((expected["lr"] as? [[Any]])?.first?.count ?? 0)
            loop = ScheduleLoopShape(epochs: 1, itersPerEpoch: steps)
        } else {
            loop = ScheduleLoopShape(epochs: (json["epochs"] as? NSNumber)?.intValue ?? 0,
                                     itersPerEpoch: (json["iters_per_epoch"] as? NSNumber)?.intValue ?? 0)
        }
        var metrics: [String: [Double]] = [:]
        for (k, v) in json["val_metrics"] as? [String: Any] ?? [:] {
            metrics[k] = (v as? [NSNumber] ?? []).map(\.doubleValue)
        }

        let simulation = try ScheduleSimulation(registry: registry, document: document, loop: loop, valMetrics: metrics)
        try simulation.start()
        let trace = try simulation.run()

        var result = Result(name: name, checked: 0, mismatches: [])
        for key in expected.keys.sorted() {
            guard let groups = expected[key] as? [[NSNumber]] else { continue }
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
                for (i, (x, w)) in zip(got[g], want.map(\.doubleValue)).enumerated() {
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
        try run(try ScheduleJSON.object(at: path), registry: registry, origin: path)
    }
}
