import ArgumentParser
import Foundation
import Stepwise

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check plugin files against the Stepwise ABI before shipping them.",
        discussion: """
            Every check of every component runs in its own child process, so a plugin that crashes, \
            hangs or allocates without bound fails that check instead of stopping the validator. \
            Strictness 1-10 selects the checks (all run from 6 on) and how many random inputs the \
            fuzzing checks try.

            Prints one line per check and a closing `N passed, M failed`, and exits non-zero when a \
            check failed. `stepwise validate --list-checks` describes each check.
            """)

    @Argument(help: ArgumentHelp("Plugin files (.so) to validate.", valueName: "plugin"))
    var plugins: [String] = []

    @Option(help: "1 (quick) to 10 (every check, most random inputs).")
    var strictness = 5

    @Option(name: .customLong("check"), help: ArgumentHelp("Run only this check (repeatable).", valueName: "name"))
    var checks: [String] = []

    @Option(help: "Checks to run at once, each in its own process (default: the core count).")
    var jobs: Int?

    @Option(help: "Seconds a check may run before it is killed.")
    var timeout = 60.0

    @Option(name: .customLong("memory-mb"), help: "Address space a check may add, in MB (not under sanitizers).")
    var memoryMB = 4096

    @Flag(help: "Run the checks in this process: for a debugger; a crashing plugin ends the validator.")
    var inProcess = false

    @Flag(help: "Hide the checks that passed.")
    var onlyFailed = false

    @Flag(help: "List the checks and exit.")
    var listChecks = false

    @Flag(help: "Print JSON for machines.")
    var json = false

    // The hidden child mode: the validator re-runs this executable with these to run one
    // check of one plugin in a process of its own.
    @Option(name: .customLong(childFlag), help: .private) var childCheck: String?
    @Option(help: .private) var component: String?
    @Option(help: .private) var result: String?
    @Option(help: .private) var memory: UInt64 = 4 << 30
    @Option(help: .private) var cpu: UInt64 = 61

    static let childFlag = "run-one-check"

    func validate() throws {
        guard (1...10).contains(strictness) else { throw ValidationError("--strictness must be 1...10, got \(strictness)") }
        for c in checks where ValidationCheck.named(c) == nil {
            throw ValidationError("unknown check '\(c)'; see `stepwise validate --list-checks`")
        }
        if !listChecks && plugins.isEmpty { throw ValidationError("name at least one plugin file") }
    }

    func run() throws {
        if let childCheck, let result, let plugin = plugins.first {
            let status = ValidationChild.run(.init(plugin: plugin, check: childCheck, component: component,
                                                   strictness: strictness, resultPath: result, memoryBytes: memory,
                                                   cpuSeconds: cpu))
            if status != 0 { throw ExitCode(status) }
            return
        }
        if listChecks {
            for c in ValidationCheck.all {
                let scope = c.kinds.map { $0.count == ComponentKind.allCases.count ? "every component"
                    : $0.map(\.rawValue).sorted().joined(separator: ", ") } ?? "plugin file"
                print("\(c.name.padding(toLength: 24, withPad: " ", startingAt: 0)) level \(c.minimumStrictness)+  [\(scope)]  \(c.summary)")
            }
            return
        }
        var options = ValidationOptions(strictness: strictness, childCommand: inProcess ? nil : try childCommand())
        if let jobs { options.jobs = max(1, jobs) }
        options.timeout = timeout
        options.memoryBytes = UInt64(max(64, memoryMB)) << 20
        if !checks.isEmpty { options.only = Set(checks) }
        let paths = plugins.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let report = PluginValidator(options: options).validate(paths)
        print(json ? report.json() : report.text(showPassed: !onlyFailed))
        if report.failed > 0 { throw ExitCode(1) }
    }

    /// This executable, re-run with the hidden child command.
    func childCommand() throws -> [String] {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return [exe, "validate"]
    }
}
