import ArgumentParser
import Foundation
import Stepwise

/// Hidden: the data-parallel self-check the tests start under `mpirun -n R`. Each rank
/// writes its final parameters and all-reduce counts to `<out>.rank<r>.json`.
struct DistCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dist-check", abstract: "Data-parallel self-check (run under mpirun).",
        shouldDisplay: false)

    @OptionGroup var plugins: PluginOptions
    @Option var iterations: Int = 12
    @Option var accumulation: Int = 1
    @Option var ranks: Int = 2
    @Option(help: "Bucket size in bytes (small values force several all-reduce calls per step).")
    var bucketBytes: Int = 25 << 20
    @Option(help: "The optim_wrapper dict, as YAML.")
    var wrapper: String = DataParallelCheck.defaultWrapper
    @Option var out: String
    @Flag(help: "Shard the optimizer state (ZeRO-1).") var zero = false
    @Flag(help: "Start each bucket's all-reduce during backward, as its gradients become final.") var overlap = false
    @Option(help: "Resume from this dist-check result's parameters and every '<prefix>.rank<r>.json' shard of it.")
    var resumeFrom: String?
    @Option(help: "Make one gradient infinite: 'ITER:RANK'.") var nonFiniteAt: String?

    func run() throws {
        let registry = plugins.load(quiet: true)
        let communicator = try DistributedEnvironment.communicator(registry: registry, envCfg: nil)
        var resume: DataParallelCheck.Resume?
        if let prefix = resumeFrom {
            var shards: [DataParallelCheck.Result] = []
            while let data = FileManager.default.contents(atPath: "\(prefix).rank\(shards.count).json") {
                shards.append(try JSONDecoder().decode(DataParallelCheck.Result.self, from: data))
            }
            guard let first = shards.first else { throw ValidationError("no \(prefix).rank0.json to resume from") }
            resume = .init(iteration: first.iterations, params: first.params, shards: shards.map(\.state))
        }
        let result = try DataParallelCheck.run(registry: registry, wrapperYAML: wrapper, iterations: iterations,
                                               accumulation: accumulation, ranks: ranks, bucketBytes: bucketBytes,
                                               zero: zero, overlap: overlap, resume: resume, nonFiniteAt: try badGradient(),
                                               communicator: communicator)
        let data = try JSONEncoder().encode(result)
        try data.write(to: URL(fileURLWithPath: "\(out).rank\(result.rank).json"), options: .atomic)
    }

    private func badGradient() throws -> (iteration: Int, rank: Int)? {
        guard let text = nonFiniteAt else { return nil }
        let parts = text.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2 else { throw ValidationError("--non-finite-at takes ITER:RANK, got '\(text)'") }
        return (parts[0], parts[1])
    }
}
