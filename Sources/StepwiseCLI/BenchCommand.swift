import ArgumentParser
import Foundation
import Stepwise

/// `stepwise bench ...`: benchmarks that report against this machine's measured bandwidth.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks measured against this machine's memory bandwidth.",
        subcommands: [BenchOptimizersCommand.self])
}

struct BenchOptimizersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimizers",
        abstract: "Step time of every bundled optimizer, as a fraction of the memory bandwidth.",
        discussion: """
            Measures the bandwidth of an in-place a += s*b loop (one thread, then the pool; \
            STEPWISE_NUM_THREADS sizes the pool), then times each optimizer's step on one tensor of \
            1M, 10M and 100M parameters, ResNet-50's 161 tensors (25.6M) and 1000 tensors of 1000. \
            Prints ns/parameter and the achieved fraction of the bandwidth: the bytes the step must \
            move / time / bandwidth. Build with `swift build -c release` for meaningful numbers; \
            100M parameters need a few GB of memory.
            """)

    @OptionGroup var plugins: PluginOptions

    @Option(help: ArgumentHelp("Only these optimizer types (comma-separated), e.g. Adam,SGD.", valueName: "types"))
    var only: String?

    @Option(help: ArgumentHelp("These layouts instead of the standard ones (comma-separated): 1M, 10M, 100M, resnet50, 1000x1000, or any <N>M, <N>K (one tensor) or <T>x<N> (T tensors of N).", valueName: "names"))
    var layouts: String?

    @Option(help: "Time each measurement for at least this many seconds.")
    var minTime: Double = 0.25

    @Flag(inversion: .prefixedNo, help: "Also time 1000 tensors of 1000 against one tensor of 1M in alternation (the per-tensor overhead check).")
    var paired = true

    @Flag(help: "Print one JSON document instead of the table.")
    var json = false

    func run() throws {
        let registry = plugins.load()
        var bench = OptimizerBench()
        bench.minSeconds = minTime
        if let only {
            let types = Set(only.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
            bench.subjects = bench.subjects.filter { types.contains($0.type) }
            guard !bench.subjects.isEmpty else { throw ValidationError("--only names no benchmarked optimizer") }
        }
        if let layouts {
            bench.layouts = try layouts.split(separator: ",").map { name in
                let name = name.trimmingCharacters(in: .whitespaces)
                guard let layout = OptimizerBench.Layout.named(name) else { throw ValidationError("unknown layout '\(name)'") }
                return layout
            }
        }
        let bandwidth = BandwidthProbe().measure()
        if !json {
            print(OptimizerBenchReport(bandwidth: bandwidth, measurements: []).bandwidthLines.joined(separator: "\n"))
            FileHandle.standardError.write(Data("measuring \(bench.subjects.count) optimizers on \(bench.layouts.count) layouts...\n".utf8))
        }
        let measurements = try bench.run(registry: registry) { m in
            if !json {
                FileHandle.standardError.write(Data("  \(m.label) \(m.layout): \(String(format: "%.3f", m.nsPerParam)) ns/param\n".utf8))
            }
        }
        var ratios: [String: Double] = [:]
        if paired {
            for subject in bench.subjects {
                ratios[OptimizerBench.label(subject)] = try bench.pairedRatio(
                    subject, one: .single("1M", 1_000_000), many: .thousandByThousand, registry: registry)
            }
        }
        let report = OptimizerBenchReport(bandwidth: bandwidth, measurements: measurements, ratios: ratios)
        print(json ? report.json.render(indent: 2) : "\n" + report.text)
    }
}
