import ArgumentParser
import Foundation
import Stepwise

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show or check a whole config (.py, .yaml, .json; MMEngine or MMCV 1.x).",
        subcommands: [ConfigShowCommand.self, ConfigCheckCommand.self])
}

struct ConfigShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the fully merged config, with where each value came from.",
        discussion: """
            Follows _base_ inheritance, _delete_ and {{_base_.x}} references as MMEngine's \
            Config.fromfile does, and prints the result as YAML (readable back by Stepwise and \
            PyYAML) or JSON. With --origins, each YAML key ends in `# from FILE:LINE`; JSON \
            becomes {"config": ..., "origins": {"key.path": "FILE:LINE:COL"}}.

            Examples:
              stepwise config show configs/examples/mmdet_faster_rcnn_sgd_multistep.py --origins
              stepwise config show train.yaml --json
            """)

    @Argument(help: ArgumentHelp("The config file.", valueName: "file"))
    var file: String

    @Flag(help: "Print JSON instead of YAML.")
    var json = false

    @Flag(help: "Say where each value was written (file and line).")
    var origins = false

    func run() throws {
        let config: ConfigDict
        do { config = try ConfigLoader.load(path: file) } catch let e as ConfigError {
            FileHandle.standardError.write(Data("\(e.origin): error: \(e.message)\n".utf8))
            throw ExitCode(1)
        }
        guard json else {
            print(ConfigRenderer.yaml(config, origins: origins), terminator: "")
            return
        }
        let body = ConfigRenderer.json(config).trimmingCharacters(in: .newlines)
        guard origins else {
            print(body)
            return
        }
        // Paths keep the config's order; the index is written by hand so it keeps it too.
        let index = ConfigOrigins.flatten(config).compactMap { entry in
            entry.origin.map { "    \(JSONValue.quote(entry.path)): \(JSONValue.quote($0.description))" }
        }
        let indented = body.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .map { $0.offset == 0 ? String($0.element) : "  " + $0.element }.joined(separator: "\n")
        print("{\n  \"config\": \(indented),\n  \"origins\": {\n\(index.joined(separator: ",\n"))\n  }\n}")
    }
}

struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Build every component a config names and report every error at once.",
        discussion: """
            Builds the optimizer wrapper(s) (optim_wrapper, or MMCV's optimizer + optimizer_config \
            + fp16), their param groups (paramwise_cfg, paramwise_options), each wrapper's \
            schedulers (param_scheduler, or MMCV's lr_config / momentum_config), custom_hooks and \
            the loop (train_cfg, or MMCV's runner) through the plugins, over a model's parameters. \
            Every problem is reported as FILE:LINE:COL: error: MESSAGE; the exit status is 1 when \
            there is one. Other sections (model, data, ...) are kept and ignored.

            SPEC is the `stepwise groups` format: a config file mapping each parameter name to \
            {shape: [...], tag: ...}, or name:SHAPE[:tag] items such as
              backbone.conv1.weight:64x3x7x7,backbone.bn1.weight:64:norm,head.fc.bias:1000
            Without --params, the config's own `params` dict is used, else a stand-in model of \
            one weight and one bias (per named wrapper), which cannot exercise name-based rules.
            """)

    @OptionGroup var plugins: PluginOptions

    @Argument(help: ArgumentHelp("The config file.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("The model's parameters: a file, or name:SHAPE[:tag] items.", valueName: "spec"))
    var params: String?

    @Option(name: .customLong("iters-per-epoch"),
            help: "Iterations per epoch (the data loader's length; default: the config's iters_per_epoch, else 1).")
    var itersPerEpoch: Int?

    func validate() throws {
        if let n = itersPerEpoch, n <= 0 { throw ValidationError("--iters-per-epoch must be positive") }
    }

    func run() throws {
        let registry = plugins.load()
        let config: ConfigDict
        do { config = try ConfigLoader.load(path: file) } catch let e as ConfigError {
            print("\(e.origin): error: \(e.message)")
            print("1 error")
            throw ExitCode(1)
        }
        var notes: [String] = []
        let specs = try parameterSpecs(config, notes: &notes)
        let result = ConfigBuild.check(config: config, registry: registry,
                                       params: specs.map { Parameter(name: $0.name, shape: $0.shape, tag: $0.tag) },
                                       options: .init(itersPerEpoch: itersPerEpoch))
        if let built = result.build {
            print("\(file): every component builds")
            built.summary.forEach { print("  " + $0) }
        }
        notes.forEach { print("note: " + $0) }
        result.warnings.forEach { print($0) }
        result.errors.forEach { print($0) }
        let n = result.errors.count
        if n > 0 {
            print("\(n) error\(n == 1 ? "" : "s")")
            throw ExitCode(1)
        }
    }

    private func parameterSpecs(_ config: ConfigDict, notes: inout [String]) throws -> [ParamSpec] {
        if let params {
            if FileManager.default.fileExists(atPath: params) {
                return try ParamSpec.parseDict(try ConfigLoader.load(path: params))
            }
            return try ParamSpec.parseList(params)
        }
        if config["params"]?.dict != nil { return try ParamSpec.parseDict(config) }
        let names: [String]
        if let ow = config["optim_wrapper"]?.dict, OptimWrapperDict.isMultiWrapperConfig(ow) {
            names = ow.keys.filter { $0 != "constructor" }.flatMap { ["\($0).weight", "\($0).bias"] }
        } else {
            names = ["weight", "bias"]
        }
        notes.append("no --params given: checked over a stand-in model (\(names.joined(separator: ", "))); "
                     + "give the model's parameters to check name-based paramwise rules")
        // Without a tag, a name ending in 'bias' is a bias and anything else a weight.
        return try ParamSpec.parseList(names.map { "\($0):4" }.joined(separator: ","))
    }
}
