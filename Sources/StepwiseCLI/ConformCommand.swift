import ArgumentParser
import Foundation
import Stepwise

/// `stepwise conform PATH...`: runs conformance cases against the loaded plugins.
struct ConformCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conform",
        abstract: "Run conformance cases (golden values from torch, MMEngine, MMCV, MindSpore).",
        discussion: """
            Each PATH is a case file or a folder searched for *.json cases (format: \
            shared/conformance/FORMAT.md). Prints one line per case (name, pass or FAIL, largest \
            absolute and relative error) and closes with "N passed, M failed". Exits with status 1 \
            when any case fails.
            """)

    @OptionGroup var plugins: PluginOptions

    @Argument(help: "Case files or folders of cases.")
    var paths: [String]

    @Flag(help: "Print one JSON document (every case, then the counts) instead of lines.")
    var json = false

    @Option(help: ArgumentHelp("Also write what Stepwise computed for each case to DIR/<case file name>, in the shape of the case's expected.", valueName: "DIR"))
    var results: String?

    func run() throws {
        let registry = plugins.load()
        let runner = ConformanceRunner(registry: registry)
        var outcomes: [ConformanceResult] = []
        for file in try ConformanceRunner.caseFiles(paths) {
            let r = runner.run(file: file)
            if !json { print(r.line) }
            outcomes.append(r)
        }
        if let results { try ConformanceRunner.writeResults(outcomes, to: results) }
        print(json ? outcomes.json.render(indent: 2) : outcomes.summaryLine)
        if outcomes.failedCount > 0 { throw ExitCode(1) }
    }
}
