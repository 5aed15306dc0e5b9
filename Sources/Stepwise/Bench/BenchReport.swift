import Foundation

/// The text and JSON forms of a `stepwise bench optimizers` run.
public struct OptimizerBenchReport: Sendable {
    public var bandwidth: BandwidthProbe.Result
    public var measurements: [OptimizerBench.Measurement]
    /// Per optimizer label: step time of 1000 tensors of 1000 over one tensor of 1M,
    /// measured in alternation.
    public var ratios: [String: Double]

    public init(bandwidth: BandwidthProbe.Result, measurements: [OptimizerBench.Measurement],
                ratios: [String: Double] = [:]) {
        self.bandwidth = bandwidth
        self.measurements = measurements
        self.ratios = ratios
    }

    public func fraction(_ m: OptimizerBench.Measurement) -> Double { m.fraction }

    static func gb(_ bytesPerSecond: Double) -> String { String(format: "%.1f GB/s", bytesPerSecond / 1e9) }

    public var bandwidthLines: [String] {
        [
            "memory bandwidth, in-place a += s*b (12 bytes/element over 2 x 128 MiB):",
            "  1 thread: \(Self.gb(bandwidth.singleThread))   pool (\(bandwidth.threads) threads): \(Self.gb(bandwidth.pool))   (best of 7)",
        ]
    }

    /// One row per optimizer: ns/param and fraction of the bound for every layout, then
    /// the per-tensor overhead ratio (1000 tensors of 1000 over one tensor of 1M).
    public var table: String {
        let layouts = measurements.reduce(into: [String]()) { if !$0.contains($1.layout) { $0.append($1.layout) } }
        let labels = measurements.reduce(into: [String]()) { if !$0.contains($1.label) { $0.append($1.label) } }
        var rows: [[String]] = []
        for label in labels {
            let ms = measurements.filter { $0.label == label }
            guard let first = ms.first else { continue }
            var row = [label + (first.elementwise ? "" : " *"), "\(first.bytesPerParam)"]
            for layout in layouts {
                guard let m = ms.first(where: { $0.layout == layout }) else { row.append("-"); continue }
                row.append(String(format: "%.3f (%3.0f%%)", m.nsPerParam, 100 * fraction(m)))
            }
            row.append(ratios[label].map { String(format: "%.2fx", $0) } ?? "-")
            rows.append(row)
        }
        let header = ["optimizer", "B/param"] + layouts.map { "\($0) ns/param (bound)" } + ["1000x1000/1M (paired)"]
        let widths = (0..<header.count).map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { i, cell in cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    /// The table and its notes (the bandwidth lines are printed before the measurements).
    public var text: String {
        ([table, "",
                           "bound: bytes the step must move per parameter (B/param) at the pool's triad bandwidth, probed",
                           "       between the steps of each measurement (the machine's load moves between measurements);",
                           "times are the best of repeated steps; 1M fits in the last-level cache, so it can beat the bound;",
                           "1000x1000/1M: step time of 1000 tensors of 1000 over one of 1M, the two stepped in alternation;",
                           "* not elementwise (per-tensor norms and factored statistics): no bandwidth target"])
            .joined(separator: "\n")
    }

    public var json: JSONValue {
        .object([
            ("bandwidth", .object([("single_thread_bytes_per_second", .double(bandwidth.singleThread)),
                                   ("pool_bytes_per_second", .double(bandwidth.pool)),
                                   ("threads", .number("\(bandwidth.threads)"))])),
            ("measurements", .array(measurements.map { m in
                .object([("optimizer", .string(m.label)), ("layout", .string(m.layout)),
                         ("params", .number("\(m.params)")), ("tensors", .number("\(m.tensors)")),
                         ("bytes_per_param", .number("\(m.bytesPerParam)")), ("elementwise", .bool(m.elementwise)),
                         ("seconds_per_step", .double(m.seconds)), ("ns_per_param", .double(m.nsPerParam)),
                         ("bandwidth_bytes_per_second", .double(m.bandwidth)),
                         ("fraction_of_bandwidth", .double(fraction(m)))])
            })),
            ("ratio_1000x1000_over_1M", .object(ratios.sorted { $0.key < $1.key }.map { ($0.key, .double($0.value)) })),
        ])
    }
}
