import ArgumentParser
import Foundation
import Stepwise

struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Print (or plot) what a config's parameter schedulers set at every iteration.",
        discussion: """
            Runs the config's schedulers in its dialect's training loop without a model, as
            MMEngine's vis_scheduler does, and prints every param group's lr and momentum (and any
            hyperparameter a *ParamScheduler drives) for each iteration.

            CONFIG (.py, .json or .yaml) holds the optimizer (`optimizer`, or
            `optim_wrapper.optimizer`), optional `param_groups` (per-group overrides) and either
            `param_scheduler` (MMEngine, or torch with `dialect: torch`, or MindSpore with
            `dialect: mindspore`) or MMCV's `lr_config` / `momentum_config`.

            Examples:
              stepwise schedule configs/cosine.py --epochs 12 --iters-per-epoch 500 --plot lr.svg
              stepwise schedule mmcv_cfg.py --iters-per-epoch 100 --csv > lr.csv
              stepwise schedule plateau.py --epochs 10 --iters-per-epoch 2 --metric loss=1,0.9,0.95,...
            """)

    @OptionGroup var plugins: PluginOptions

    @Argument(help: ArgumentHelp("The config file.", valueName: "config"))
    var config: String

    @Option(help: "Epochs to simulate (default: train_cfg.max_epochs, runner.max_epochs or `epochs` of the config).")
    var epochs: Int?

    @Option(name: .customLong("iters-per-epoch"), help: "Iterations per epoch (the data loader's length).")
    var itersPerEpoch: Int?

    @Option(help: ArgumentHelp("Override the config's dialect: mmengine, torch, mmcv or mindspore.", valueName: "dialect"))
    var dialect: String?

    @Option(name: .customLong("metric"),
            help: ArgumentHelp("A validation metric, one value per epoch, for ReduceOnPlateau (repeatable).",
                               valueName: "name=v1,v2,..."))
    var metrics: [String] = []

    @Flag(help: "Print CSV: iter, epoch, then one column per value and group.")
    var csv = false

    @Flag(help: "Print JSON.")
    var json = false

    @Option(help: ArgumentHelp("Print one row in N, and the last (the table only).",
                               valueName: "N"))
    var every: Int = 1

    @Option(help: ArgumentHelp("Also draw the values as a line chart into this SVG file.", valueName: "file.svg"))
    var plot: String?

    func validate() throws {
        if csv && json { throw ValidationError("choose one of --csv and --json") }
        if let e = epochs, e <= 0 { throw ValidationError("--epochs must be positive") }
        if let i = itersPerEpoch, i <= 0 { throw ValidationError("--iters-per-epoch must be positive") }
        if every <= 0 { throw ValidationError("--every must be positive") }
    }

    func run() throws {
        let registry = plugins.load()
        var document = try ConfigLoader.load(path: config)
        if let dialect { document["dialect"] = .string(dialect) }
        let loop = ScheduleLoopShape(epochs: try epochs ?? Self.configEpochs(document),
                                     itersPerEpoch: try itersPerEpoch ?? Self.configIters(document))
        let simulation = try ScheduleSimulation(registry: registry, document: document, loop: loop,
                                                valMetrics: try Self.metrics(metrics, document: document))
        try simulation.start()
        let trace = try simulation.run()
        if let plot {
            try SchedulePlot.write(trace, title: URL(fileURLWithPath: config).lastPathComponent, to: plot)
        }
        if csv {
            print(trace.csv(), terminator: "")
        } else if json {
            print(trace.json())
        } else if plot == nil || every > 1 {
            print(trace.table(every: every))
        }
    }

    static func configEpochs(_ d: ConfigDict) throws -> Int {
        let candidates = [d["train_cfg"]?.dict?["max_epochs"], d["runner"]?.dict?["max_epochs"], d["epochs"]]
        guard let n = candidates.compactMap({ $0?.int }).first else {
            throw ValidationError("give --epochs (the config has no train_cfg.max_epochs, runner.max_epochs or epochs)")
        }
        return Int(n)
    }

    static func configIters(_ d: ConfigDict) throws -> Int {
        guard let n = d["iters_per_epoch"]?.int else {
            throw ValidationError("give --iters-per-epoch (the length of an epoch's data loader)")
        }
        return Int(n)
    }

    /// `--metric loss=1,0.9` options, else the config's `val_metrics` dict of lists.
    static func metrics(_ options: [String], document: ConfigDict) throws -> [String: [Double]] {
        var out: [String: [Double]] = [:]
        for entry in document["val_metrics"]?.dict?.entries ?? [] {
            out[entry.key] = entry.value.list?.compactMap(\.double) ?? []
        }
        for option in options {
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            let values = parts.count == 2 ? parts[1].split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) } : []
            guard parts.count == 2, !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
                throw ValidationError("--metric takes name=v1,v2,... (one number per epoch), got '\(option)'")
            }
            out[parts[0]] = values.compactMap { $0 }
        }
        return out
    }
}
