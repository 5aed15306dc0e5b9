import Foundation
import Stepwise
import StepwiseModels

/// Options of one GAN run (what `stepwise gan` takes).
public struct GANOptions: Sendable {
    public var config: String
    public var steps: Int?
    public var seed: UInt64 = 0
    public var out: String
    /// A checkpoint path, or "auto" for the newest in `out`.
    public var resume: String?
    /// Write samples.svg, losses.svg, lr.svg and summary.json at the end.
    public var writeOutputs = true
    /// Data parallel over these processes (started by mpirun): gradients are averaged at
    /// every optimizer step; rank 0 alone logs and writes outputs and checkpoints.
    public var communicator: Communicator?

    public init(config: String, steps: Int? = nil, seed: UInt64 = 0, out: String, resume: String? = nil) {
        self.config = config; self.steps = steps; self.seed = seed; self.out = out; self.resume = resume
    }
}

public struct GANResult: Sendable {
    public var steps: Int
    public var iterationsRun: Int
    public var seconds: Double
    public var evaluations: [Quality]
    /// Median fraction within 3 std over the evaluations in the last 20% of the run.
    public var finalMedianFraction: Double
    public var allModesCoveredAtTheEnd: Bool
    /// Iteration timing against the sgemm bound measured in the same run.
    public var throughput: GANThroughput?
    public var stepsPerSecond: Double { seconds > 0 ? Double(iterationsRun) / seconds : 0 }
}

/// Builds the trainer, the runner with its hooks (parameter schedulers, the config's
/// logger and checkpoint hooks), resumes when asked, trains, evaluates every
/// `val_interval` steps on 10,000 samples, and writes the outputs.
public enum GANRun {
    public static func run(_ options: GANOptions, registry: PluginRegistry,
                           output: @escaping (String, Bool) -> Void = { text, _ in print(text) }) throws -> (GANResult, GANTrainer) {
        let document = try ConfigLoader.load(path: options.config)
        let trainCfg = document["train_cfg"]?.dict ?? ConfigDict()
        let steps = options.steps ?? Int(trainCfg["max_iters"]?.int ?? 20_000)
        let interval = Int(trainCfg["val_interval"]?.int ?? 1000)
        guard steps > 0, interval > 0 else { throw StepwiseError.config("steps and train_cfg.val_interval must be positive") }
        try FileManager.default.createDirectory(atPath: options.out, withIntermediateDirectories: true)

        let trainer = try GANTrainer(config: document, registry: registry, seed: options.seed, steps: steps)
        // Under mpirun, the backend `env_cfg.dist_cfg` names (the bundled `mpi` by default).
        let communicator = try options.communicator
            ?? DistributedEnvironment.communicator(registry: registry, envCfg: document["env_cfg"]?.dict)
        let rank = communicator?.rank ?? 0
        let output: (String, Bool) -> Void = rank == 0 ? output : { _, _ in }
        var workDir = options.out
        if let comm = communicator {
            trainer.dataParallel = (comm.rank, comm.size)
            for w in [trainer.gWrapper, trainer.dWrapper] { w.distribute(over: comm) }
            // Hooks on other ranks keep their files (markers, logs) out of rank 0's folder.
            if rank != 0 {
                workDir = NSTemporaryDirectory() + "stepwise-gan-rank\(rank)-\(getpid())"
                try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
            }
        }
        defer { if workDir != options.out { try? FileManager.default.removeItem(atPath: workDir) } }
        let runner = Runner(maxIters: steps, itersPerEpoch: min(interval, steps), workDir: workDir)
        runner.output = output
        runner.params = trainer.gParams + trainer.dParams
        let schedulerHook = ParamSchedulerHook([trainer.gSchedulers, trainer.dSchedulers])
        runner.register(schedulerHook)
        var pluginHooks: [RunnerHook] = []
        for section in ["default_hooks", "custom_hooks"] {
            let value = document[section]
            let entries = value?.dict?.entries.compactMap(\.value.dict) ?? value?.list?.compactMap(\.dict) ?? []
            for entry in entries {
                let hook = try PluginHook(registry: registry, config: entry)
                runner.register(hook)
                pluginHooks.append(hook)
            }
        }
        var evaluations: [Quality] = []
        let clock = IterationClock()
        runner.trainStep = { _ in try clock.measure { try trainer.trainStep() } }
        runner.valStep = { runner in
            let q = trainer.evaluate(step: runner.iter)
            evaluations.append(q)
            return [("fraction_near", q.fractionNear), ("modes_covered", Double(q.modesCovered))]
        }
        runner.saveCheckpoint = { path, runner in
            try RunCheckpoint.save(
                to: path, iter: runner.completedIters, wrappers: trainer.checkpointWrappers, hooks: pluginHooks,
                extra: ["rng": trainer.rng.stateWords.map(String.init).joined(separator: ","),
                        "seed": String(options.seed),
                        "evaluations": String(decoding: try JSONEncoder().encode(evaluations), as: UTF8.self),
                        "history": String(decoding: try JSONEncoder().encode(trainer.history), as: UTF8.self)],
                write: rank == 0)
        }

        if let resume = options.resume {
            let path = resume == "auto" ? try newestCheckpoint(in: options.out) : resume
            let (iter, extra) = try RunCheckpoint.load(from: path, wrappers: trainer.checkpointWrappers, hooks: pluginHooks)
            let words = (extra["rng"] ?? "").split(separator: ",").compactMap { UInt64($0) }
            do { trainer.rng = try Xoshiro256StarStar(stateWords: words) } catch {
                throw StepwiseError.state("\(path): the saved random state is unreadable: \(error)")
            }
            evaluations = (try? JSONDecoder().decode([Quality].self, from: Data((extra["evaluations"] ?? "[]").utf8))) ?? []
            trainer.history = (try? JSONDecoder().decode([GANTrainer.Record].self, from: Data((extra["history"] ?? "[]").utf8))) ?? []
            for (_, w) in trainer.wrappers { try w.initializeCountStatus(initCounts: iter, maxCounts: steps) }
            runner.resume(atIter: iter)
            schedulerHook.resumed = true
            output("Resumed from \(path) at iteration \(iter)", false)
        }

        let ranksNote = communicator.map { c in
            let backend = (c as? PluginCommunicator).map { "'\($0.component.typeName)'" } ?? "the communicator"
            let sharded = trainer.wrappers.compactMap { name, w in
                (w.gradientSync as? ZeroRedundancy).map { z in
                    "\(name) \(z.owner.values.filter { $0 == c.rank }.count) of \(z.owner.count)"
                }
            }
            let zero = sharded.isEmpty ? "" : "; optimizer state sharded (ZeRO-1), rank 0 holds that of: " + sharded.joined(separator: ", ") + " parameters"
            return " per rank on \(c.size) ranks (gradients averaged by all-reduce over \(backend)\(zero))"
        } ?? ""
        output("stepwise gan: \(steps) steps, seed \(options.seed), batch \(trainer.batch)\(ranksNote); discriminator matmuls: "
               + "\(GEMMBackend.resolve(trainer.lowPrecision)); \(OpenBLASTuning.summary)", false)
        let start = DispatchTime.now().uptimeNanoseconds
        let startIter = runner.iter
        try runner.run()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        let window = evaluations.filter { $0.step >= steps * 4 / 5 }
        let fractions = window.map(\.fractionNear).sorted()
        let median = fractions.isEmpty ? 0 : (fractions[(fractions.count - 1) / 2] + fractions[fractions.count / 2]) / 2
        let result = GANResult(steps: steps, iterationsRun: runner.iter - startIter, seconds: seconds,
                               evaluations: evaluations, finalMedianFraction: median,
                               allModesCoveredAtTheEnd: !window.isEmpty && window.allSatisfy { $0.modesCovered == $0.modes },
                               throughput: clock.count > 0 ? clock.throughput(trainer: trainer) : nil)
        if options.writeOutputs && rank == 0 { try writeOutputs(trainer: trainer, result: result, out: options.out, output: output) }
        return (result, trainer)
    }

    static func newestCheckpoint(in out: String) throws -> String {
        let marker = (out as NSString).appendingPathComponent("last_checkpoint")
        guard let path = try? String(contentsOfFile: marker, encoding: .utf8) else {
            throw StepwiseError.usage("--resume auto: no last_checkpoint in \(out)")
        }
        return path.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// samples.svg, losses.svg, lr.svg and summary.json.
    static func writeOutputs(trainer: GANTrainer, result: GANResult, out: String,
                             output: (String, Bool) -> Void) throws {
        func path(_ name: String) -> String { (out as NSString).appendingPathComponent(name) }
        let shown = 2000
        let real = trainer.realPoints(count: shown)
        let fake = trainer.generate(count: shown, stream: 0xFACE)
        func xs(_ p: [Float]) -> [Double] { stride(from: 0, to: p.count, by: 2).map { Double(p[$0]) } }
        func ys(_ p: [Float]) -> [Double] { stride(from: 1, to: p.count, by: 2).map { Double(p[$0]) } }
        let last = result.evaluations.last.map {
            String(format: ": %.1f%% within 3σ, %d/%d modes", 100 * $0.fractionNear, $0.modesCovered, $0.modes)
        } ?? ""
        let r = Double(trainer.ring.radius) * 1.5
        do {
            try ScatterPlot(title: "Real vs generated after \(result.steps) steps\(last)", xLabel: "x", yLabel: "y",
                            series: [ScatterSeries(name: "real", x: xs(real), y: ys(real), color: "#1f77b4", radius: 2, opacity: 0.5),
                                     ScatterSeries(name: "generated", x: xs(fake), y: ys(fake), color: "#ff7f0e", radius: 2, opacity: 0.5)],
                            equalAspect: true, xRange: -r...r, yRange: -r...r).write(to: path("samples.svg"))
            let h = trainer.history
            try LineChart(title: "GAN losses", xLabel: "iteration", yLabel: "BCE loss",
                          series: [ChartSeries(name: "discriminator", y: h.map { Double($0.lossD) }, smoothing: 0.98),
                                   ChartSeries(name: "generator", y: h.map { Double($0.lossG) }, smoothing: 0.98)])
                .write(to: path("losses.svg"))
            try LineChart(title: "Schedules of the two optimizers", xLabel: "iteration", panels: [
                ChartPanel(yLabel: "learning rate", series: [ChartSeries(name: "generator", y: h.map(\.lrG)),
                                                             ChartSeries(name: "discriminator", y: h.map(\.lrD), dashed: true)]),
                ChartPanel(yLabel: "momentum (betas[0])", series: [ChartSeries(name: "generator", y: h.map(\.momentumG)),
                                                                   ChartSeries(name: "discriminator", y: h.map(\.momentumD), dashed: true)]),
            ]).write(to: path("lr.svg"))
        } catch {
            throw StepwiseError(.io, "\(error)")
        }
        var summary: [String: Any] = [
            "steps": result.steps, "seed": Int(trainer.seed), "batch_size": trainer.batch,
            "steps_per_second": result.stepsPerSecond, "seconds": result.seconds,
            "evaluations": result.evaluations.map { ["step": $0.step, "fraction_within_3_std": $0.fractionNear,
                                                     "modes_covered": $0.modesCovered] as [String: Any] },
            "final_window": ["from_step": result.steps * 4 / 5, "median_fraction_within_3_std": result.finalMedianFraction,
                             "all_modes_covered": result.allModesCoveredAtTheEnd],
            "samples_per_evaluation": 10_000,
        ]
        if let t = result.throughput {
            summary["throughput"] = [
                "best_iteration_us": t.bestIterationSeconds * 1e6, "best_steps_per_second": t.bestStepsPerSecond,
                "mean_iteration_us": t.meanIterationSeconds * 1e6, "window": t.window,
                "mflop_per_iteration": t.flopsPerIteration / 1e6, "iteration_gflops": t.iterationGFLOPs,
                "sgemm_gflops": t.sgemmGFLOPs, "gemm_fraction": t.gemmFraction,
                "gemm_bound_steps_per_second": t.gemmBoundStepsPerSecond,
            ] as [String: Any]
        }
        let data = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path("summary.json")), options: .atomic)
        output(String(format: "Done: %.0f steps/s; median fraction within 3σ over the last 20%%: %.3f; every mode covered there: %@",
                      result.stepsPerSecond, result.finalMedianFraction, result.allModesCoveredAtTheEnd ? "yes" : "no"), false)
        if let t = result.throughput { output(t.description, false) }
        output("Wrote \(path("samples.svg")), \(path("losses.svg")), \(path("lr.svg")), \(path("summary.json"))", false)
    }
}
