import Foundation

/// One problem found while building a config's components, at the file and line to fix.
/// Prints as `file:line:col: error: message`, the form editors turn into links.
public struct ConfigDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public var severity: Severity
    public var origin: ConfigOrigin
    /// The section it belongs to: "optim_wrapper", "param_scheduler[1]", "custom_hooks[0]", ...
    public var section: String
    public var message: String

    public init(_ severity: Severity, _ message: String, section: String, at origin: ConfigOrigin) {
        self.severity = severity
        self.message = message
        self.section = section
        self.origin = origin
    }

    public var description: String { "\(origin): \(severity.rawValue): \(message)" }
}

/// Every error a config's components have, reported together.
public struct ConfigBuildError: Error, Sendable, CustomStringConvertible, LocalizedError {
    public var diagnostics: [ConfigDiagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
    public var errorDescription: String? { description }
}

/// Collects diagnostics while a config is built, giving each error the most precise
/// origin known: a `ConfigError`'s own, a location the message names, or the section's.
struct DiagnosticSink {
    private(set) var items: [ConfigDiagnostic] = []
    /// The files a config was read from (its bases included), to find locations in messages.
    let files: [String]

    init(config: ConfigDict) {
        var found: [String] = []
        func walk(_ d: ConfigDict) {
            for o in [d.origin] + d.entries.map(\.origin) {
                if let f = o?.file, !found.contains(f) { found.append(f) }
            }
            for e in d.entries { walkValue(e.value) }
        }
        func walkValue(_ v: ConfigValue) {
            switch v {
            case .dict(let d): walk(d)
            case .list(let l): l.forEach(walkValue)
            default: break
            }
        }
        walk(config)
        // Longest first, so "a/b.py" is not mistaken for "b.py".
        files = found.sorted { $0.count > $1.count }
    }

    var errors: [ConfigDiagnostic] { items.filter { $0.severity == .error } }
    var hasErrors: Bool { items.contains { $0.severity == .error } }

    mutating func warn(_ message: String, section: String, at origin: ConfigOrigin) {
        append(ConfigDiagnostic(.warning, message, section: section, at: origin))
    }

    mutating func error(_ message: String, section: String, at origin: ConfigOrigin) {
        append(ConfigDiagnostic(.error, message, section: section, at: origin))
    }

    /// Records a thrown error; `fallback` locates it when nothing more precise is known.
    mutating func record(_ error: Error, section: String, fallback: ConfigOrigin) {
        if let e = error as? ConfigBuildError {
            e.diagnostics.forEach { append($0) }
            return
        }
        if let e = error as? ConfigError {
            append(ConfigDiagnostic(.error, e.message, section: section, at: e.origin))
            return
        }
        let message = (error as? StepwiseError)?.message ?? "\(error)"
        let (origin, rest) = locate(message)
        append(ConfigDiagnostic(.error, rest, section: section, at: origin ?? fallback))
    }

    /// Runs `body`, recording what it throws; nil when it threw.
    mutating func attempt<T>(section: String, at fallback: ConfigOrigin, _ body: () throws -> T) -> T? {
        do { return try body() } catch {
            record(error, section: section, fallback: fallback)
            return nil
        }
    }

    private mutating func append(_ d: ConfigDiagnostic) {
        // The same problem found by the whole build and again by a finer pass is one problem.
        if !items.contains(where: { $0.message == d.message && $0.origin.file == d.origin.file && $0.origin.line == d.origin.line }) {
            items.append(d)
        }
    }

    /// The first `file:line[:col]` of a known file in `message`, and the message without
    /// the " in file:line" that named it (the diagnostic prints the location first).
    func locate(_ message: String) -> (ConfigOrigin?, String) {
        var best: (range: Range<String.Index>, origin: ConfigOrigin)? = nil
        for file in files where !file.isEmpty {
            var searchFrom = message.startIndex
            while let r = message.range(of: file + ":", range: searchFrom..<message.endIndex) {
                searchFrom = r.upperBound
                var end = r.upperBound
                let line = Self.digits(message, &end)
                guard let line else { continue }
                var column: Int? = nil
                if end < message.endIndex, message[end] == ":" {
                    var afterColon = message.index(after: end)
                    if let c = Self.digits(message, &afterColon) { column = c; end = afterColon }
                }
                if let b = best, b.range.lowerBound <= r.lowerBound { break }
                best = (r.lowerBound..<end, ConfigOrigin(file: file, line: line, column: column))
                break
            }
        }
        guard let best else { return (nil, message) }
        var rest = message
        let lead = " in "
        if message.distance(from: message.startIndex, to: best.range.lowerBound) >= lead.count,
           message[message.index(best.range.lowerBound, offsetBy: -lead.count)..<best.range.lowerBound] == lead[...] {
            rest.removeSubrange(message.index(best.range.lowerBound, offsetBy: -lead.count)..<best.range.upperBound)
        }
        return (best.origin, rest)
    }

    private static func digits(_ s: String, _ i: inout String.Index) -> Int? {
        var value = 0, any = false
        while i < s.endIndex, let d = s[i].wholeNumberValue, s[i].isASCII {
            value = value * 10 + d
            any = true
            i = s.index(after: i)
        }
        return any ? value : nil
    }
}

extension DiagnosticSink {
    /// Finds every problem of one component dict, not just the first: `attempt` builds
    /// it; after each failure, the key the message names (`key 'x'`) is dropped and the
    /// build retried, so independent bad keys are each reported once.
    mutating func explain(_ dict: ConfigDict, section: String, protected: Set<String> = ["type"],
                          _ attempt: (ConfigDict) throws -> Void) {
        var remaining = dict
        for _ in 0...dict.count {
            do {
                try attempt(remaining)
                return
            } catch {
                let key = Self.namedKey(in: error).flatMap { k in remaining[k] != nil && !protected.contains(k) ? k : nil }
                record(error, section: section, fallback: key.flatMap { dict.origin(of: $0) } ?? dict.origin
                       ?? ConfigOrigin(file: files.last ?? "<config>"))
                guard let key else { return }
                remaining[key] = nil
            }
        }
    }

    /// The key an error message is about: "unknown key 'x'", "key 'x' of ...".
    static func namedKey(in error: Error) -> String? {
        let message = (error as? StepwiseError)?.message ?? (error as? ConfigError)?.message ?? "\(error)"
        for marker in ["unknown key '", "key '"] {
            guard let r = message.range(of: marker) else { continue }
            guard let end = message[r.upperBound...].firstIndex(of: "'") else { continue }
            return String(message[r.upperBound..<end])
        }
        return nil
    }
}
