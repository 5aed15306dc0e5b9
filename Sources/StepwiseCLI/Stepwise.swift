import ArgumentParser
import Foundation
import Stepwise

@main
struct StepwiseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stepwise",
        abstract: "A plugin host for optimizers, parameter schedulers, optimizer wrappers and training hooks.",
        discussion: """
            Components come from plugins: the bundled ones beside this executable, every folder in
            STEPWISE_PLUGIN_PATH (colon-separated), and any --plugin-dir / --plugin given here.
            """,
        version: StepwiseInfo.version,
        subcommands: [ListCommand.self, DescribeCommand.self, PluginsCommand.self, ConfigCommand.self, ConformCommand.self, BenchCommand.self, ScheduleCommand.self, GroupsCommand.self, GANCommand.self, ValidateCommand.self, DistCheckCommand.self]
    )
}

/// Options every command that loads plugins takes.
struct PluginOptions: ParsableArguments {
    @Option(name: .customLong("plugin-dir"), help: ArgumentHelp("Also load every .so in this folder (repeatable).", valueName: "dir"))
    var pluginDirs: [String] = []

    @Option(name: .customLong("plugin"), help: ArgumentHelp("Also load this plugin file (repeatable).", valueName: "file"))
    var pluginFiles: [String] = []

    /// Loads the registry and reports each plugin that failed, one line each, on stderr.
    func load(quiet: Bool = false) -> PluginRegistry {
        let registry = PluginRegistry.load(.init(directories: pluginDirs, files: pluginFiles))
        if !quiet {
            for d in registry.diagnostics { FileHandle.standardError.write(Data("stepwise: plugin \(d)\n".utf8)) }
        }
        return registry
    }
}

/// Writes a JSON value (arrays and dictionaries of plain values) to stdout, keys sorted.
func printJSON(_ value: Any) {
    if let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys]) {
        print(String(decoding: data, as: UTF8.self))
    }
}

/// Left-aligned columns for terminal tables.
func table(_ rows: [[String]], header: [String]) -> String {
    let all = [header] + rows
    let widths = (0..<header.count).map { c in all.map { $0[c].count }.max() ?? 0 }
    return all.map { row in
        row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            .joined(separator: "  ")
    }.joined(separator: "\n")
}
