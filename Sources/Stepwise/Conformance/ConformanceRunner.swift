import Foundation

/// One conformance case file (format in shared/conformance/FORMAT.md).
public struct ConformanceCase: Sendable {
    public let path: String
    public let json: JSONValue

    public var fileName: String { URL(fileURLWithPath: path).lastPathComponent }
    public var name: String { json["name"]?.string ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent }
    public var kind: String { json["kind"]?.string ?? "" }
    public var source: String { json["source"]?.string ?? "" }

    /// `{"rtol": r, "atol": a}` of the case, or the format's defaults (1e-5, 1e-7).
    public var tolerance: (rtol: Double, atol: Double) {
        (json["tolerance"]?["rtol"]?.double ?? 1e-5, json["tolerance"]?["atol"]?.double ?? 1e-7)
    }

    /// The case's `params`, `{name: {shape, data}}` in file order, as parameters.
    func parameters() throws -> [Parameter] {
        guard let specs = json["params"]?.object else {
            throw StepwiseError.config("\(fileName): 'params' must be a dict of {shape, data}")
        }
        return try specs.map { name, spec -> Parameter in
            guard let shape = spec["shape"]?.array?.compactMap(\.int), let data = spec["data"]?.array else {
                throw StepwiseError.config("\(fileName): parameter '\(name)' needs 'shape' and 'data'")
            }
            let values = try floats(data, "\(name).data")
            guard values.count == shape.reduce(1, *) else {
                throw StepwiseError.config("\(fileName): parameter '\(name)' has \(values.count) values for shape \(shape)")
            }
            return Parameter(name: name, shape: shape, values: values)
        }
    }

    /// The case's optional `param_groups`.
    func paramGroups() throws -> [ConfigDict]? {
        try json["param_groups"].map { value -> [ConfigDict] in
            guard let list = value.array?.compactMap({ $0.configValue.dict }) else {
                throw StepwiseError.config("\(fileName): 'param_groups' must be a list of dicts")
            }
            return list
        }
    }

    /// Numbers read as float32, straight from their text.
    func floats(_ values: [JSONValue], _ what: String) throws -> [Float] {
        try values.map { v in
            guard let x = v.float else { throw StepwiseError.config("\(fileName): \(what) holds a non-number \(v.render())") }
            return x
        }
    }

    public init(path: String, json: JSONValue) {
        self.path = path
        self.json = json
    }

    public static func load(_ path: String) throws -> ConformanceCase {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw StepwiseError(.io, "cannot read conformance case \(path): \(error.localizedDescription)")
        }
        do {
            return ConformanceCase(path: path, json: try JSONValue.parse(String(decoding: data, as: UTF8.self)))
        } catch {
            throw StepwiseError.config("\(path) is not valid JSON: \(error)")
        }
    }
}

/// Runs the cases of one `kind`. A kind computes what Stepwise produces for a case, in
/// exactly the shape of the case's `expected`; the runner compares and reports.
///
/// New kinds (schedules, optimizer wrappers) conform to this protocol and are listed in
/// `ConformanceRunner.standardKinds`.
public protocol ConformanceKind: Sendable {
    /// The `kind` field this runs, e.g. "optimizer".
    var kind: String { get }
    /// Whether the numbers of `expected` are float32 (FORMAT.md: tensors, losses) rather
    /// than doubles (schedule values).
    func expectedIsFloat32(path: [String]) -> Bool
    /// What Stepwise computes for `c`, shaped like `c.json["expected"]`.
    func run(_ c: ConformanceCase, registry: PluginRegistry) throws -> JSONValue
}

/// The outcome of one case.
public struct ConformanceResult: Sendable {
    public var name: String
    public var file: String
    public var kind: String
    public var passed: Bool
    /// Largest |got − want| and |got − want| / |want| (over nonzero wants).
    public var maxAbsError: Double
    public var maxRelError: Double
    /// Why the case failed (first mismatch, or the error that stopped it).
    public var message: String?
    /// What Stepwise computed, shaped like `expected` (nil when the case could not run).
    public var computed: JSONValue?
}

/// Runs conformance cases from files and folders.
public struct ConformanceRunner: Sendable {
    public static let standardKinds: [any ConformanceKind] = [OptimizerConformance(), ScheduleConformance(), WrapperConformance()]

    public let registry: PluginRegistry
    public let kinds: [String: any ConformanceKind]

    public init(registry: PluginRegistry, kinds: [any ConformanceKind] = ConformanceRunner.standardKinds) {
        self.registry = registry
        self.kinds = Dictionary(kinds.map { ($0.kind, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The case files under `paths`: files as given, folders searched recursively for
    /// `*.json`, each folder's files in name order.
    public static func caseFiles(_ paths: [String]) throws -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
                throw StepwiseError(.io, "no such file or folder: \(path)")
            }
            guard isDir.boolValue else { out.append(path); continue }
            let files = (fm.enumerator(atPath: path)?.compactMap { $0 as? String } ?? [])
                .filter { $0.hasSuffix(".json") }.sorted()
            out += files.map { (path as NSString).appendingPathComponent($0) }
        }
        return out
    }

    public func run(paths: [String]) throws -> [ConformanceResult] {
        try Self.caseFiles(paths).map(run(file:))
    }

    public func run(file: String) -> ConformanceResult {
        let fallback = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let c: ConformanceCase
        do { c = try ConformanceCase.load(file) } catch {
            return failure(fallback, file, "", "\(error)")
        }
        return run(c)
    }

    public func run(_ c: ConformanceCase) -> ConformanceResult {
        let fail = { (message: String) in failure(c.name, c.path, c.kind, message) }
        guard c.json["format"]?.string == "stepwise-conformance/1" else {
            return fail("unsupported format \(c.json["format"]?.render() ?? "(none)"); expected \"stepwise-conformance/1\"")
        }
        guard let kind = kinds[c.kind] else { return fail("unsupported kind '\(c.kind)'") }
        guard let expected = c.json["expected"] else { return fail("case has no 'expected'") }
        let computed: JSONValue
        do { computed = try kind.run(c, registry: registry) } catch { return fail("\(error)") }
        var comparison = Comparison(tolerance: c.tolerance, float32: kind.expectedIsFloat32)
        comparison.compare(computed, expected, path: [])
        return ConformanceResult(name: c.name, file: c.path, kind: c.kind, passed: comparison.mismatch == nil,
                                 maxAbsError: comparison.maxAbs, maxRelError: comparison.maxRel,
                                 message: comparison.mismatch, computed: computed)
    }

    private func failure(_ name: String, _ file: String, _ kind: String, _ message: String) -> ConformanceResult {
        ConformanceResult(name: name, file: file, kind: kind, passed: false, maxAbsError: .nan, maxRelError: .nan,
                          message: message, computed: nil)
    }

    /// Writes each result's computed values to `directory/<case file name>`.
    public static func writeResults(_ results: [ConformanceResult], to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for r in results {
            guard let computed = r.computed else { continue }
            let url = URL(fileURLWithPath: directory).appendingPathComponent(URL(fileURLWithPath: r.file).lastPathComponent)
            do { try Data((computed.render(indent: 1) + "\n").utf8).write(to: url) } catch {
                throw StepwiseError(.io, "cannot write \(url.path): \(error.localizedDescription)")
            }
        }
    }
}

/// Elementwise comparison of a computed tree with `expected`: numbers within
/// |got − want| ≤ atol + rtol·|want|, everything else exactly.
struct Comparison {
    let tolerance: (rtol: Double, atol: Double)
    let float32: ([String]) -> Bool
    var maxAbs = 0.0
    var maxRel = 0.0
    var mismatch: String? = nil

    init(tolerance: (rtol: Double, atol: Double), float32: @escaping ([String]) -> Bool) {
        self.tolerance = tolerance
        self.float32 = float32
    }

    private mutating func fail(_ path: [String], _ message: String) {
        if mismatch == nil { mismatch = "\(path.isEmpty ? "expected" : path.joined(separator: "")): \(message)" }
    }

    mutating func compare(_ got: JSONValue, _ want: JSONValue, path: [String]) {
        switch (got, want) {
        case (.number, .number):
            let f32 = float32(path)
            guard let g = f32 ? got.float.map(Double.init) : got.double,
                  let w = f32 ? want.float.map(Double.init) : want.double else { return fail(path, "unreadable number") }
            let diff = abs(g - w)
            maxAbs = max(maxAbs, diff)
            if w != 0 { maxRel = max(maxRel, diff / abs(w)) }
            if !(diff <= tolerance.atol + tolerance.rtol * abs(w)) {
                fail(path, "got \(got.render()), want \(want.render()) (|diff| \(diff) > \(tolerance.atol) + \(tolerance.rtol)·|want|)")
            }
        case (.array(let gs), .array(let ws)):
            guard gs.count == ws.count else { return fail(path, "got \(gs.count) values, want \(ws.count)") }
            for (i, (g, w)) in zip(gs, ws).enumerated() { compare(g, w, path: path + ["[\(i)]"]) }
        case (.object, .object(let ws)):
            for (key, w) in ws {
                guard let g = got[key] else { fail(path + [".\(key)"], "not computed"); continue }
                compare(g, w, path: path + [path.isEmpty ? key : ".\(key)"])
            }
        case (.null, .number):
            maxAbs = .infinity
            fail(path, "got a non-finite value, want \(want.render())")
        default:
            if got != want { fail(path, "got \(got.render()), want \(want.render())") }
        }
    }
}

extension ConformanceResult {
    /// One line: name, pass/FAIL, max abs and rel error, and why it failed.
    public var line: String {
        let status = passed ? "pass" : "FAIL"
        let errors = maxAbsError.isNaN ? "" : String(format: "  max abs %.3g  max rel %.3g", maxAbsError, maxRelError)
        let why = passed ? "" : "  (\(message ?? "mismatch"))"
        return "\(name)  \(status)\(errors)\(why)"
    }

    public var json: JSONValue {
        var entries: [(String, JSONValue)] = [
            ("name", .string(name)), ("file", .string(file)), ("kind", .string(kind)), ("passed", .bool(passed)),
            ("max_abs_error", .double(maxAbsError)), ("max_rel_error", .double(maxRelError)),
        ]
        if let message { entries.append(("message", .string(message))) }
        return .object(entries)
    }
}

extension Array where Element == ConformanceResult {
    public var passedCount: Int { filter(\.passed).count }
    public var failedCount: Int { count - passedCount }
    /// The closing line, alone: "N passed, M failed".
    public var summaryLine: String { "\(passedCount) passed, \(failedCount) failed" }

    public var json: JSONValue {
        .object([("cases", .array(map(\.json))), ("passed", .number("\(passedCount)")),
                 ("failed", .number("\(failedCount)"))])
    }
}
