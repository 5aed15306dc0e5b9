import Foundation

/// What `stepwise validate` runs, and how.
public struct ValidationOptions: Sendable {
    /// 1...10: which checks run (each has a minimum level) and how many random inputs.
    public var strictness = 5
    /// Checks run at once, each in its own process.
    public var jobs = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Wall-clock seconds a check may take before its process is killed.
    public var timeout = 60.0
    /// Address space a check's process may add to what it has mapped at start.
    public var memoryBytes: UInt64 = 4 << 30
    /// Only these checks (names), or all.
    public var only: Set<String>? = nil
    /// The command that runs one check in a child: an executable and the arguments that
    /// select the hidden child command. nil runs every check in this process, where a
    /// crashing plugin ends the validator (for debugging, like clap-validator's
    /// --in-process).
    public var childCommand: [String]?

    public init(strictness: Int = 5, childCommand: [String]?) {
        self.strictness = max(1, min(10, strictness))
        self.childCommand = childCommand
    }
}

/// Validates plugin files: runs every applicable check per plugin and per component,
/// each in a child process, and collects one result per check.
public final class PluginValidator: @unchecked Sendable {
    public let options: ValidationOptions
    private let scratch: String

    public init(options: ValidationOptions) {
        self.options = options
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("stepwise-validate-\(UUID().uuidString)").path
    }

    struct Job: Sendable {
        /// Which of the paths, and which of its jobs: names the job's scratch files.
        let pluginNumber: Int
        let index: Int
        let plugin: String
        let check: ValidationCheck
        let component: String?
    }

    public func validate(_ paths: [String]) -> ValidationReport {
        try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var results: [CheckResult] = []
        for (n, path) in paths.enumerated() {
            results += validate(path, number: n)
        }
        return ValidationReport(strictness: options.strictness, results: results)
    }

    private func selected(_ check: ValidationCheck) -> Bool {
        check.minimumStrictness <= options.strictness && (options.only?.contains(check.name) ?? true)
    }

    private func validate(_ path: String, number: Int) -> [CheckResult] {
        // The scan runs first and alone: its child lists the components to plan for.
        let scanJob = Job(pluginNumber: number, index: 0, plugin: path, check: .scanTime, component: nil)
        let (scan, outcome) = execute(scanJob)
        var jobs: [Job] = []
        for check in ValidationCheck.all where check.isPluginLevel && check != .scanTime && selected(check) {
            jobs.append(Job(pluginNumber: number, index: jobs.count + 1, plugin: path, check: check, component: nil))
        }
        for spec in outcome?.components ?? [] {
            guard let kind = ComponentKind(rawValue: String(spec.split(separator: ":").first ?? "")) else { continue }
            for check in ValidationCheck.all where check.applies(to: kind) && selected(check) {
                jobs.append(Job(pluginNumber: number, index: jobs.count + 1, plugin: path, check: check, component: spec))
            }
        }
        let collected = Collected(count: jobs.count)
        let queue = JobQueue(jobs)
        let workers = max(1, min(options.jobs, jobs.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let job = queue.next() {
                collected.set(job.index - 1, execute(job).0)
            }
        }
        return (selected(.scanTime) ? [scan] : []) + collected.results
    }

    /// Runs one job in a child (or here) and turns however it ended into a result.
    private func execute(_ job: Job) -> (CheckResult, CheckOutcome?) {
        let start = DispatchTime.now().uptimeNanoseconds
        let outcome = run(job)
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let result = CheckResult(plugin: job.plugin, check: job.check.name, component: job.component,
                                 status: outcome.status, detail: outcome.detail, milliseconds: ms)
        return (result, outcome)
    }

    private func run(_ job: Job) -> CheckOutcome {
        let budget = ValidationBudget(strictness: options.strictness)
        guard let command = options.childCommand, !command.isEmpty else {
            return CheckExecutor.run(job.check, plugin: job.plugin, component: job.component, budget: budget)
        }
        let base = "\(scratch)/\(job.pluginNumber)-\(job.index)"
        let request = ValidationChild.Request(
            plugin: job.plugin, check: job.check.name, component: job.component, strictness: options.strictness,
            resultPath: base + ".json", memoryBytes: options.memoryBytes, cpuSeconds: UInt64(options.timeout.rounded(.up)) + 1)
        var env = ChildLimits.mallocCheckEnvironment(memoryBytes: options.memoryBytes)
        env["STEPWISE_LOG"] = ProcessInfo.processInfo.environment["STEPWISE_LOG"] ?? "warning"
        env["SWIFT_BACKTRACE"] = ChildProcess.backtraceSettings
        let exit = ChildProcess.run(command + request.arguments, environment: env, logPath: base + ".log",
                                    timeout: options.timeout)
        let written = (try? Data(contentsOf: URL(fileURLWithPath: request.resultPath)))
            .flatMap { try? JSONDecoder().decode(CheckOutcome.self, from: $0) }
        let tail = ChildProcess.tail(of: base + ".log")
        let output = tail.isEmpty ? "" : "\n" + tail
        if let written {
            switch exit {
            case .exited(0): return written
            case .signaled(let signal):
                return .fail("the check finished (\(written.status.rawValue)), then its process crashed with \(ChildProcess.describe(signal: signal, log: tail)) while exiting\(output)")
            case .exited(let code):
                return .fail("the check finished (\(written.status.rawValue)), then its process exited with status \(code) (a sanitizer report or a failing destructor?)\(output)")
            default: break
            }
        }
        switch exit {
        case .signaled(let signal):
            var hint = ""
            if signal == SIGABRT && env["MALLOC_CHECK_"] != nil && tail.contains("free()") { hint = " (glibc malloc checking is on: a heap overflow or double free aborts at free)" }
            if signal == SIGKILL { hint += " (out of memory? the check may add \(options.memoryBytes >> 20) MB of address space)" }
            return .fail("crashed with \(ChildProcess.describe(signal: signal, log: tail))\(hint)\(output)")
        case .timedOut(let seconds):
            return .fail("did not finish within \(Int(seconds)) s: an endless loop or a deadlock?\(output)")
        case .exited(let code):
            return .fail("the check's process exited with status \(code) without a result\(output)")
        case .couldNotStart(let why):
            return .fail("could not start the check's process (\(command[0])): \(why)")
        }
    }
}

/// Hands out jobs to the workers, one at a time.
private final class JobQueue: @unchecked Sendable {
    private var jobs: [PluginValidator.Job]
    private let lock = NSLock()
    init(_ jobs: [PluginValidator.Job]) { self.jobs = jobs.reversed() }
    func next() -> PluginValidator.Job? { lock.withLock { jobs.popLast() } }
}

/// Results in job order, filled by the workers.
private final class Collected: @unchecked Sendable {
    private var slots: [CheckResult?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: CheckResult) { lock.withLock { slots[i] = r } }
    var results: [CheckResult] { lock.withLock { slots.compactMap { $0 } } }
}
