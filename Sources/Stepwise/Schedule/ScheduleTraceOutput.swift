import Foundation

/// Text renderings of a schedule trace for `stepwise schedule`: a table for people, CSV
/// and JSON for tools. Numbers are written as the shortest decimal that reads back to the
/// same double.
extension ScheduleTrace {
    public struct Column: Sendable, Equatable {
        public var key: String
        public var group: Int
        /// "lr" with one group, "lr[1]" with several.
        public var title: String
    }

    public var columns: [Column] {
        keys.flatMap { key in
            (0..<groups).map { g in Column(key: key, group: g, title: groups == 1 ? key : "\(key)[\(g)]") }
        }
    }

    public var iterationCount: Int { values[keys.first ?? ""]?.first?.count ?? 0 }

    func cell(_ c: Column, _ i: Int) -> Double { values[c.key]?[c.group][i] ?? .nan }

    /// `iter,epoch,lr,momentum,...`, one row per iteration.
    public func csv() -> String {
        let cols = columns
        var out = (["iter", "epoch"] + cols.map(\.title)).joined(separator: ",") + "\n"
        for i in 0..<iterationCount {
            let iter = firstIteration + i
            out += (["\(iter)", "\(iter / loop.itersPerEpoch)"] + cols.map { "\(cell($0, i))" }).joined(separator: ",") + "\n"
        }
        return out
    }

    /// `{"epochs", "iters_per_epoch", "first_iteration", "values": {"lr": [[group 0], ...]}}`,
    /// written here rather than by JSONSerialization, which rounds doubles to 15 digits.
    public func json() -> String {
        func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
        let series = keys.map { key in
            let groups = (values[key] ?? []).map { "[" + $0.map(number).joined(separator: ", ") + "]" }
            return "    \(JSONText.quote(key)): [\n      " + groups.joined(separator: ",\n      ") + "\n    ]"
        }
        return "{\n  \"epochs\": \(loop.epochs),\n  \"iters_per_epoch\": \(loop.itersPerEpoch),\n"
            + "  \"first_iteration\": \(firstIteration),\n  \"values\": {\n" + series.joined(separator: ",\n") + "\n  }\n}"
    }

    /// Aligned columns with `%.6g` values; `every` prints one row in that many, and the
    /// last.
    public func table(every: Int = 1) -> String {
        let cols = columns
        var rows: [[String]] = []
        for i in 0..<iterationCount {
            let iter = firstIteration + i
            guard i % max(every, 1) == 0 || i == iterationCount - 1 else { continue }
            rows.append(["\(iter)", "\(iter / loop.itersPerEpoch)"] + cols.map { String(format: "%.6g", cell($0, i)) })
        }
        let header = ["iter", "epoch"] + cols.map(\.title)
        let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { c, s in String(repeating: " ", count: widths[c] - s.count) + s }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
