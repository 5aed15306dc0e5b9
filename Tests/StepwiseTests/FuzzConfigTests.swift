import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// Seeded, bounded fuzzing of the path from a config file to built components: files on
/// disk (with `_base_` chains) through ConfigLoader, the registry, schema validation and
/// the plugins' own checks, to instances that step. A bad config gives a ConfigError or
/// a StepwiseError, never a crash or another error. (ConfigFuzzTests covers the parsers.)
final class FuzzConfigTests: XCTestCase {
    static let registry = PluginRegistry.load(.init(includeEnvironment: false))
    var folder = ""

    override func setUpWithError() throws { folder = try makeScratchFolder("\(type(of: self))") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    static let seeds: [(ext: String, text: String)] = [
        ("yaml", """
            optimizer: {type: SGD, lr: 0.01, momentum: 0.9, nesterov: true, weight_decay: 1.0e-4}
            param_groups:
              - {params: [layer.weight, layer.bias], lr: 0.1}
              - {params: [norm.scale, sometimes, frozen]}
            custom_hooks:
              - {type: EMAHook, momentum: 0.001, priority: HIGHEST}
              - {type: CheckpointHook, interval: 1, by_epoch: false, max_keep_ckpts: 2}
              - {type: EarlyStoppingHook, monitor: loss, patience: 2}
            """),
        ("json", """
            {"optimizer": {"type": "SGD", "lr": 0.5, "dampening": 0.1, "maximize": true},
             "custom_hooks": [{"type": "LoggerHook", "interval": 1}, {"type": "EMAHook", "begin_iter": 1}]}
            """),
        ("py", """
            optimizer = dict(type='SGD', lr=1e-3, momentum=0.5, foreach=None)
            param_groups = [dict(params=['layer.weight'], weight_decay=0.1), dict(params=['layer.bias'])]
            custom_hooks = [dict(type='EarlyStoppingHook', monitor='acc', rule='greater', delta=0.01)]
            """),
    ]

    /// Value-level damage: the numbers and words that break schemas.
    static let replacements = [
        "-1", "0", "1e400", "-1e-400", "nan", ".nan", "NaN", "inf", "-.inf", "9223372036854775808", "-9223372036854775809",
        "true", "null", "None", "''", "[]", "{}", "[1, 2, 3]", "'SGD'", "SDG", "sgd", "stepwise.SGD", "x.SGD", "Adam",
        "LoggerHook", "'loss'", "[[[]]]", "{type: SGD}", "dict(type='SGD')", "1.5", "-0.0", "\"\"", "'\\u0000'", "é",
    ]

    static func mutate(_ text: String, _ rng: inout SeededRandom) -> String {
        var s = text
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let scalars = Array(s.unicodeScalars)
            guard !scalars.isEmpty else { break }
            // Replace a token (a run of word characters) with a value that breaks schemas,
            // or damage a character, or cut the text.
            let at = Int.random(in: 0..<scalars.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0...2:
                var lo = at, hi = at
                let word: (Unicode.Scalar) -> Bool = { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-+".unicodeScalars.contains($0) }
                while lo > 0 && word(scalars[lo - 1]) { lo -= 1 }
                while hi < scalars.count && word(scalars[hi]) { hi += 1 }
                var view = String.UnicodeScalarView(scalars[..<lo])
                view.append(contentsOf: replacements.randomElement(using: &rng)!.unicodeScalars)
                view.append(contentsOf: scalars[hi...])
                s = String(view)
            case 3:
                var view = String.UnicodeScalarView(scalars)
                view.remove(at: view.index(view.startIndex, offsetBy: at))
                s = String(view)
            case 4:
                var view = String.UnicodeScalarView(scalars)
                view.insert(["{", "[", ",", ":", "'", "\n", " ", "#", "=", ")"].randomElement(using: &rng)!,
                            at: view.index(view.startIndex, offsetBy: at))
                s = String(view)
            default:
                s = String(String.UnicodeScalarView(scalars[..<at]))
            }
        }
        return s
    }

    /// Errors a bad config may end in; anything else is a bug in error handling.
    func expected(_ error: Error) -> Bool { error is ConfigError || error is StepwiseError }

    func testConfigFilesBuildComponentsOrFailCleanly() throws {
        var rng = SeededRandom(seed: FuzzBudget.seed &+ 10)
        var built = 0, refused = 0
        for round in 0..<FuzzBudget.rounds(400) {
            let seed = Self.seeds[round % Self.seeds.count]
            let path = "\(folder)/config\(round % 7).\(seed.ext)"
            try Self.mutate(seed.text, &rng).write(toFile: path, atomically: false, encoding: .utf8)
            do {
                let config = try ConfigLoader.load(path: path)
                try build(config, round: round)
                built += 1
            } catch {
                XCTAssertTrue(expected(error), "\(type(of: error)): \(error)")
                refused += 1
            }
        }
        XCTAssertGreaterThan(built, 20, "some mutated configs still build")
        XCTAssertGreaterThan(refused, 100, "and most are refused")
    }

    /// Builds what a config describes and runs it briefly: the optimizer (with param
    /// groups) for three steps, each hook in a two-iteration loop.
    private func build(_ config: ConfigDict, round: Int) throws {
        if let optimizer = config["optimizer"]?.dict {
            let problem = ToyProblem(seed: UInt64(round))
            let params = problem.makeParams()
            let groups = config["param_groups"]?.list?.compactMap(\.dict)
            let opt = try Optimizer(registry: Self.registry, config: optimizer, params: params, paramGroups: groups)
            for step in 0..<3 {
                problem.setGrads(params, step: step)
                try opt.step()
            }
        }
        for hook in config["custom_hooks"]?.list ?? [] {
            guard let dict = hook.dict else { throw StepwiseError.config("a hook config is not a dict") }
            let runner = Runner(maxEpochs: 1, itersPerEpoch: 2, workDir: folder + "/run")
            runner.output = { _, _ in }
            runner.params = ToyProblem(seed: 1).makeParams()
            runner.valStep = { _ in [("loss", 0.5), ("acc", 0.7)] }
            runner.saveCheckpoint = { path, _ in try "x".write(toFile: path, atomically: false, encoding: .utf8) }
            runner.register(try PluginHook(registry: Self.registry, config: dict))
            try runner.run()
        }
    }

    /// Every hyperparameter of every bundled component gets values of every type,
    /// extremes included (NaN, ±inf, Int64.min, huge lists, deep dicts, odd strings):
    /// refused with a StepwiseError or built and run for a few steps, ticks or events.
    func testExtremeValuesForEveryHyperparameterNeverCrash() throws {
        var rng = SeededRandom(seed: FuzzBudget.seed &+ 11)
        let extremes: [ConfigValue] = [
            .null, .bool(true), .int(.min), .int(.max), .int(0), .int(-1), .float(.nan), .float(.infinity), .float(-.infinity),
            .float(-0.0), .float(1e308), .float(.leastNonzeroMagnitude), .string(""), .string("\u{0}"), .string("😀"), .string(String(repeating: "a", count: 5000)),
            .list([]), .list(Array(repeating: .float(1), count: 1000)), .list([.int(.max), .int(.min)]), .list([.null]),
            .dict(ConfigDict(["type": .string("SGD")])), .list([.list([.list([.float(1)])])]),
        ]
        let folder = self.folder
        var tried = 0, ran = 0
        for component in Self.registry.components() {
            for _ in 0..<FuzzBudget.rounds(60) {
                var config = (try? SampleValues.config(component)) ?? ConfigDict(["type": .string(component.qualifiedName)])
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let key = (component.hyperparams.map(\.name) + ["zz_unknown"]).randomElement(using: &rng)!
                    config[key] = extremes.randomElement(using: &rng)!
                }
                tried += 1
                do {
                    let d = try Drivers.make(component, registry: Self.registry,
                                             DriverSpec(config: config, seed: 5, workDir: folder + "/extreme"))
                    for i in 0..<3 { _ = try d.run(i) }
                    ran += 1
                } catch is StepwiseError, is CheckFailure, is CreateRefused, is UnitRefused {
                    continue
                }
            }
        }
        XCTAssertGreaterThan(tried, 0)
        XCTAssertGreaterThan(ran, 0, "some extreme values are valid and ran")
    }

    /// `_base_` chains on disk: missing files, cycles, folders, binary files, unknown
    /// extensions and a deep chain end in a ConfigError or a config, never a hang.
    func testBaseChainsOnDiskFailCleanly() throws {
        func write(_ name: String, _ text: String) throws { try text.write(toFile: "\(folder)/\(name)", atomically: false, encoding: .utf8) }
        try FileManager.default.createDirectory(atPath: folder + "/dir.py", withIntermediateDirectories: true)
        try Data([0xFF, 0xFE, 0x00, 0x7B, 0x80]).write(to: URL(fileURLWithPath: folder + "/binary.yaml"))
        try write("a.py", "_base_ = ['b.py']\nx = 1\n")
        try write("b.py", "_base_ = ['a.py']\ny = 2\n")
        try write("self.yaml", "_base_: self.yaml\nx: 1\n")
        try write("missing.json", "{\"_base_\": \"nowhere.json\"}")
        try write("folder.py", "_base_ = 'dir.py'\n")
        try write("binary.py", "_base_ = ['binary.yaml']\n")
        try write("ext.yaml", "_base_: [notes.txt]\n")
        try write("notes.txt", "hello\n")
        try write("twice.yaml", "_base_: [leaf.yaml, leaf.yaml]\n")
        try write("leaf.yaml", "optimizer: {type: SGD}\n")
        try write("ref.py", "_base_ = 'leaf.yaml'\nlr = {{_base_.optimizer.nothing}}\n")
        for i in 0..<40 { try write("deep\(i).yaml", i == 39 ? "z: 1\n" : "_base_: deep\(i + 1).yaml\nk\(i): \(i)\n") }
        let refused = ["a.py", "self.yaml", "missing.json", "folder.py", "binary.py", "ext.yaml", "ref.py", "nowhere.py"]
        for name in refused {
            XCTAssertThrowsError(try ConfigLoader.load(path: "\(folder)/\(name)"), name) { error in
                XCTAssertTrue(error is ConfigError, "\(name): \(type(of: error)) \(error)")
            }
        }
        for name in ["deep0.yaml", "twice.yaml"] {
            do { _ = try ConfigLoader.load(path: "\(folder)/\(name)") } catch { XCTAssertTrue(error is ConfigError, "\(name): \(error)") }
        }
        var rng = SeededRandom(seed: FuzzBudget.seed &+ 12)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".py") || $0.hasSuffix(".yaml") || $0.hasSuffix(".json") }
        for _ in 0..<FuzzBudget.rounds(100) {
            // A random small graph of bases, cycles likely.
            let picks = (0..<Int.random(in: 1...3, using: &rng)).map { _ in names.randomElement(using: &rng)! }
            try write("graph.yaml", "_base_: [\(picks.joined(separator: ", "))]\nw: 1\n")
            do { _ = try ConfigLoader.load(path: "\(folder)/graph.yaml") } catch { XCTAssertTrue(error is ConfigError, "\(error)") }
        }
    }
}
