import Foundation

/// How one check ended.
public enum CheckStatus: String, Sendable, Codable {
    case passed = "pass"
    case failed = "fail"
    case skipped = "skip"
}

/// The outcome of one check on one plugin file or component.
public struct CheckResult: Sendable, Codable, Equatable {
    public var plugin: String
    public var check: String
    /// "optimizer:SGD", or nil for plugin-level checks.
    public var component: String?
    public var status: CheckStatus
    /// Why it failed or was skipped, or a note on a pass ("scanned in 3.1 ms").
    public var detail: String
    public var milliseconds: Double

    public init(plugin: String, check: String, component: String?, status: CheckStatus, detail: String,
                milliseconds: Double = 0) {
        self.plugin = plugin; self.check = check; self.component = component
        self.status = status; self.detail = detail; self.milliseconds = milliseconds
    }
}

/// Everything `stepwise validate` found, in report order.
public struct ValidationReport: Sendable, Codable {
    public var strictness: Int
    public var results: [CheckResult]

    public init(strictness: Int, results: [CheckResult]) {
        self.strictness = strictness
        self.results = results
    }

    public var passed: Int { results.filter { $0.status == .passed }.count }
    public var failed: Int { results.filter { $0.status == .failed }.count }
    public var skipped: Int { results.filter { $0.status == .skipped }.count }

    public func result(_ check: ValidationCheck, component: String? = nil) -> CheckResult? {
        results.first { $0.check == check.name && $0.component == component }
    }

    /// One line per check, grouped by plugin file, then the skipped count and the closing
    /// `N passed, M failed` line.
    public func text(showPassed: Bool = true) -> String {
        var lines: [String] = []
        var plugin: String? = nil
        let nameWidth = min(40, (results.map { ($0.component ?? "").count }.max() ?? 0))
        for r in results {
            if r.plugin != plugin {
                plugin = r.plugin
                if !lines.isEmpty { lines.append("") }
                lines.append(r.plugin)
            }
            guard showPassed || r.status != .passed else { continue }
            let tag = r.status == .passed ? "pass" : r.status == .failed ? "FAIL" : "skipped"
            let who = (r.component ?? "").padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            let what = r.check.padding(toLength: 22, withPad: " ", startingAt: 0)
            let detail = r.detail.isEmpty ? "" : "  " + r.detail.replacingOccurrences(of: "\n", with: "\n" + String(repeating: " ", count: 14))
            lines.append("  " + tag.padding(toLength: 8, withPad: " ", startingAt: 0) + who + "  " + what + detail)
        }
        lines.append("")
        if skipped > 0 { lines.append("\(skipped) skipped") }
        lines.append("\(passed) passed, \(failed) failed")
        return lines.joined(separator: "\n")
    }

    /// The report as JSON: strictness, counts and every result.
    public func json() -> String {
        struct Document: Encodable {
            var strictness: Int
            var passed: Int
            var failed: Int
            var skipped: Int
            var results: [CheckResult]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let doc = Document(strictness: strictness, passed: passed, failed: failed, skipped: skipped, results: results)
        return (try? encoder.encode(doc)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// What a check reports from inside its child process.
struct CheckOutcome: Sendable, Codable {
    var status: CheckStatus
    var detail: String
    /// scan-time only: the components the validator plans the other checks for.
    var components: [String]?

    static func pass(_ detail: String = "") -> CheckOutcome { .init(status: .passed, detail: detail) }
    static func fail(_ detail: String) -> CheckOutcome { .init(status: .failed, detail: detail) }
    static func skip(_ detail: String) -> CheckOutcome { .init(status: .skipped, detail: detail) }
}

/// A failed expectation inside a check; its message becomes the FAIL line.
struct CheckFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// A reason to skip the rest of a check (a required key without a default, ...).
struct CheckSkip: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
