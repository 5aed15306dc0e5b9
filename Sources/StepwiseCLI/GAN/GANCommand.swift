import ArgumentParser
import Foundation
import Stepwise
import StepwiseExamples
import StepwiseModels

struct GANCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gan",
        abstract: "Train the 2-D GAN on 8 Gaussians on a ring, with two optimizer wrappers.",
        discussion: """
            The generator (2→128→128→2, ReLU) steps with an OptimWrapper and the discriminator
            (2→128→128→1, LeakyReLU 0.2) with an AmpOptimWrapper in bfloat16, each with its own
            parameter schedulers, all from the config (default: configs/gan.yaml). Evaluates
            every train_cfg.val_interval steps on 10,000 samples and writes samples.svg,
            losses.svg, lr.svg, checkpoints and summary.json to --out.
            """)

    @OptionGroup var plugins: PluginOptions

    @Option(help: "The config file (YAML, JSON or an MMEngine-style .py).")
    var config: String = "configs/gan.yaml"

    @Option(help: "Generator steps (default: the config's train_cfg.max_iters).")
    var steps: Int?

    @Option(help: "Seed of every random stream.")
    var seed: UInt64 = 0

    @Option(help: "Output folder.")
    var out: String = "out/gan"

    @Option(help: ArgumentHelp("Resume from a checkpoint file, or 'auto' for the newest in --out.", valueName: "path"))
    var resume: String?

    @Option(help: "Train data parallel on this many processes (started with mpirun on this machine); under mpirun, its own rank count is used.")
    var ranks: Int = 1

    func run() throws {
        if ranks > 1 && !DistributedEnvironment.launchedByMPIRun {
            throw ExitCode(try DistributedLaunch.relaunchUnderMPIRun(ranks: ranks))
        }
        // Before anything touches OpenBLAS: re-exec with its fastest kernels if it picked slower ones.
        OpenBLASTuning.reexecIfBeneficial()
        let registry = plugins.load()
        let options = GANOptions(config: config, steps: steps, seed: seed, out: out, resume: resume)
        _ = try GANRun.run(options, registry: registry) { text, transient in
            if transient {
                if isatty(STDOUT_FILENO) != 0 { FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + text).utf8)) }
            } else {
                FileHandle.standardOutput.write(Data((text + "\n").utf8))
            }
        }
    }
}
