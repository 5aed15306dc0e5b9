import Foundation
import StepwiseABI

/// The checks of a plugin file as a whole: scanning, descriptors, name lookup.
enum PluginChecks {
    static let scanLimitMilliseconds = 100.0

    /// Loads the file into a registry of its own and lists what it declares, timed the
    /// way a host scans plugins at startup (clap-validator's scan-time: 100 ms).
    static func scanTime(_ path: String) -> CheckOutcome {
        let start = DispatchTime.now().uptimeNanoseconds
        let registry = PluginRegistry.load(.init(includeBundled: false, includeEnvironment: false, files: [path]))
        let listed = registry.components().map { "\($0.kind.rawValue):\($0.typeName)" }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        guard let record = registry.records.first, case .loaded = record.status, let plugin = record.plugin else {
            var why = "not found"
            if case .rejected(let reason)? = registry.records.first?.status { why = reason }
            if case .ignored(let reason)? = registry.records.first?.status { why = reason }
            return .fail("the plugin did not load: \(why)")
        }
        // Descriptor order, which is report order.
        var outcome: CheckOutcome
        let count = "\(listed.count) component\(listed.count == 1 ? "" : "s")"
        if ms > scanLimitMilliseconds {
            outcome = .fail(String(format: "loading and listing %@ took %.1f ms (limit %.0f ms): do expensive setup lazily, in create", count, ms, scanLimitMilliseconds))
        } else {
            outcome = .pass(String(format: "loaded and listed %@ in %.1f ms", count, ms))
        }
        outcome.components = plugin.components.map { "\($0.kind.rawValue):\($0.typeName)" }
        return outcome
    }

    /// Every rule of the headers the loader does not enforce, plus the loader's own.
    static func descriptorConsistency(_ registry: PluginRegistry) -> CheckOutcome {
        guard let record = registry.records.first else { return .fail("nothing was loaded") }
        if case .rejected(let why) = record.status { return .fail("the loader refuses it: \(why)") }
        guard let plugin = record.plugin else { return .fail("the plugin did not load") }
        let problems = DescriptorRules.problems(plugin)
        guard problems.isEmpty else {
            let shown = problems.prefix(8).joined(separator: "\n")
            return .fail(shown + (problems.count > 8 ? "\n... and \(problems.count - 8) more" : ""))
        }
        let hyperparams = plugin.components.reduce(0) { $0 + $1.hyperparams.count }
        return .pass("\(plugin.components.count) components, \(hyperparams) hyperparameters: sizes, flags, ranges, roles and docs consistent")
    }

    /// Lookups of near-miss names must fail, as clap-validator's
    /// create-id-with-trailing-garbage test asks of plugin factories; the exact short and
    /// qualified names must find the component, and only as its own kind.
    static func typeNames(_ registry: PluginRegistry) -> CheckOutcome {
        guard let plugin = registry.plugins.first else { return .skip("the plugin did not load") }
        guard !plugin.components.isEmpty else { return .skip("the plugin declares no components") }
        let all = Set(plugin.components.map(\.typeName))
        var tried = 0
        for c in plugin.components {
            for name in [c.typeName, c.qualifiedName] {
                guard let found = try? registry.component(c.kind, type: name), found === c else {
                    return .fail("'\(name)' does not find \(c.kind.withArticle) \(c.typeName)")
                }
            }
            var garbage = [c.typeName + "x1", c.typeName + " ", " " + c.typeName, c.typeName + ".", c.typeName + "\u{0}junk",
                           c.qualifiedName + "x1", plugin.id + "x." + c.typeName, plugin.id + ".", "", "."]
            for variant in [c.typeName.lowercased(), c.typeName.uppercased()] where !all.contains(variant) { garbage.append(variant) }
            for name in garbage {
                tried += 1
                if let found = try? registry.component(c.kind, type: name) {
                    return .fail("the garbage name '\(name.debugDescription.dropFirst().dropLast())' resolves to \(found.qualifiedName)")
                }
            }
            for other in ComponentKind.allCases where other != c.kind {
                tried += 1
                if (try? registry.component(other, type: c.typeName))?.kind == other,
                   !plugin.components.contains(where: { $0.kind == other && $0.typeName == c.typeName }) {
                    return .fail("'\(c.typeName)' resolves as \(other.withArticle)")
                }
            }
        }
        return .pass("\(plugin.components.count) names resolve exactly; \(tried) unknown, garbage-suffixed and wrong-kind lookups find nothing")
    }
}
