import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// Builds C plugins with `cc` against sdk/include, as a third party would.
enum PluginBuilder {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let include = root.appendingPathComponent("sdk/include").path

    static func folder() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stepwise-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Compiles `source` (or the file at `sourcePath`) into `dir/name`; returns its path.
    @discardableResult
    static func build(_ source: String? = nil, sourcePath: String? = nil, into dir: String, name: String,
                      defines: [String] = []) throws -> String {
        var input = sourcePath ?? ""
        if let source {
            input = (dir as NSString).appendingPathComponent(name + ".c")
            try source.write(toFile: input, atomically: true, encoding: .utf8)
        }
        let output = (dir as NSString).appendingPathComponent(name)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        p.arguments = ["-std=c11", "-O1", "-shared", "-fPIC", "-fvisibility=hidden", "-I", include, input, "-o", output]
            + defines.map { "-D" + $0 }
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw StepwiseError.io("cc failed: " + String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        return output
    }
}

extension StepwiseError { static func io(_ m: String) -> StepwiseError { .init(.io, m) } }

final class PluginLoaderTests: XCTestCase {
    /// The SDK example, built and dropped into a folder named by STEPWISE_PLUGIN_PATH, is
    /// listed, described, built from a config and stepped; its numbers are checked
    /// against Signum computed here independently.
    func testExamplePluginFromTheSDKWorksEndToEnd() throws {
        let dir = PluginBuilder.folder()
        try PluginBuilder.build(sourcePath: PluginBuilder.root.appendingPathComponent("sdk/examples/signum.c").path,
                                into: dir, name: "libsignum.so")
        setenv("STEPWISE_PLUGIN_PATH", "/nonexistent-stepwise:" + dir, 1)
        defer { unsetenv("STEPWISE_PLUGIN_PATH") }
        let registry = PluginRegistry.load()

        let signum = try registry.component(.optimizer, type: "Signum")
        XCTAssertEqual(signum.qualifiedName, "example.Signum")
        XCTAssertEqual(signum.hyperparams.map(\.name), ["lr", "momentum", "weight_decay"])
        XCTAssertEqual(signum.hyperparam(named: "momentum")?.rangeDescription, "[0.0, 1.0)")
        XCTAssertTrue(registry.components(kind: .optimizer).contains { $0.typeName == "SGD" }, "bundled still load")
        XCTAssertTrue(registry.diagnostics.contains { $0.path == "/nonexistent-stepwise" })

        let w = Parameter(name: "w", shape: [2, 2], values: [1, -2, 0.5, 3])
        let config = ConfigDict(["type": .string("Signum"), "lr": .float(0.1), "momentum": .float(0.5),
                                 "weight_decay": .float(0.01)])
        let opt = try Optimizer(registry: registry, config: config, params: [w])
        var theta: [Double] = [1, -2, 0.5, 3], m: [Double] = [0, 0, 0, 0]
        let grads: [[Float]] = [[0.5, -1, 0, 2], [-2, 0.25, 1, 1], [1, 1, -3, -4]]
        for g in grads {
            w.setGrad(g)
            try opt.step()
            for i in 0..<4 {
                m[i] = 0.5 * m[i] + 0.5 * Double(g[i])
                theta[i] = theta[i] * (1 - 0.1 * 0.01) - 0.1 * Double((m[i] > 0 ? 1 : 0) - (m[i] < 0 ? 1 : 0))
            }
            for i in 0..<4 { XCTAssertEqual(Double(w.data[i]), theta[i], accuracy: 1e-6) }
        }
        XCTAssertEqual(try opt.stateDict().tensors.map(\.key), ["w.momentum_buffer"])
    }

    /// A small plugin whose descriptor can be broken one rule at a time with -D flags.
    static let configurable = """
        #include <stepwise/stepwise.h>
        #include <stdlib.h>
        #ifndef MAJOR
        #define MAJOR STEPWISE_ABI_MAJOR
        #endif
        #ifndef MINOR
        #define MINOR STEPWISE_ABI_MINOR
        #endif
        #ifndef TYPE_NAME
        #define TYPE_NAME "Toy"
        #endif
        #ifndef LR_DEFAULT
        #define LR_DEFAULT 0.1
        #endif
        #ifndef PLUGIN_SIZE
        #define PLUGIN_SIZE sizeof(stepwise_plugin)
        #endif
        static const stepwise_hyperparam lr = {.struct_size = sizeof(stepwise_hyperparam), .name = "lr",
            .type = STEPWISE_TYPE_FLOAT, .role = STEPWISE_ROLE_LR, .flags = STEPWISE_HP_HAS_MIN,
            .default_value = {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_FLOAT, .f = LR_DEFAULT},
            .min = 0.0, .doc = "learning rate"};
        static const stepwise_hyperparam *const hps[] = {&lr};
        static stepwise_status create(const stepwise_host *h, const stepwise_values *v, void **i, stepwise_error **e) {
            (void)h; (void)v; (void)e; *i = malloc(1); return STEPWISE_OK; }
        static void destroy(void *i) { free(i); }
        static stepwise_status step(void *i, const stepwise_group *g, const stepwise_closure *c,
                                    stepwise_step_info *n, stepwise_error **e) {
            (void)i; (void)g; (void)c; (void)n; (void)e; return STEPWISE_OK; }
        static const stepwise_optimizer_api api = {.struct_size = sizeof(stepwise_optimizer_api),
            .create = create, .destroy = destroy,
        #ifndef NO_STEP
            .step = step,
        #endif
        };
        static const stepwise_component toy = {.struct_size = sizeof(stepwise_component),
            .kind = STEPWISE_KIND_OPTIMIZER, .type_name = TYPE_NAME, .summary = "toy",
            .hyperparam_count = 1, .hyperparams = hps, .api = &api};
        static const stepwise_component *const components[] = {&toy};
        static const stepwise_plugin plugin = {.struct_size = PLUGIN_SIZE, .abi_version = {MAJOR, MINOR},
            .id = "toy", .name = "toy", .version = "1.0", .component_count = 1, .components = components};
        #ifndef NO_ENTRY
        STEPWISE_EXPORT const stepwise_plugin *stepwise_plugin_entry(const stepwise_host *h) { (void)h; return &plugin; }
        #else
        STEPWISE_EXPORT int something_else(void) { return 0; }
        #endif
        """

    /// Each broken plugin gets its one-line diagnostic, and every good plugin still loads.
    func testEachBrokenPluginIsReportedInOneLineAndTheOthersStillLoad() throws {
        let cases: [(name: String, defines: [String], reason: String)] = [
            ("libnoentry.so", ["NO_ENTRY"], "no entry symbol 'stepwise_plugin_entry'"),
            ("libmajor.so", ["MAJOR=2"], "built for Stepwise ABI 2.\(STEPWISE_ABI_MINOR), but this host implements ABI 1.\(STEPWISE_ABI_MINOR)"),
            ("libminor.so", ["MINOR=7"], "built for Stepwise ABI 1.7, newer than this host's ABI 1.\(STEPWISE_ABI_MINOR)"),
            ("libnostep.so", ["NO_STEP"], "optimizer 'Toy' has no 'step' function (required)"),
            ("libbaddefault.so", ["LR_DEFAULT=-1.0"], "'Toy' hyperparameter 'lr': its default is invalid"),
            ("libbadname.so", ["TYPE_NAME=\"9lives\""], "type name '9lives' must be letters"),
            ("libtiny.so", ["PLUGIN_SIZE=16"], "plugin descriptor is 16 bytes; ABI 1.0 needs at least"),
        ]
        let dir = PluginBuilder.folder()
        for c in cases { try PluginBuilder.build(Self.configurable, into: dir, name: c.name, defines: c.defines) }
        try PluginBuilder.build(Self.configurable, into: dir, name: "libgood.so", defines: ["TYPE_NAME=\"Good\""])
        try Data("this is not an ELF file".utf8).write(to: URL(fileURLWithPath: dir + "/libgarbage.so"))
        try Data().write(to: URL(fileURLWithPath: dir + "/libempty.so"))
        try Data("notes".utf8).write(to: URL(fileURLWithPath: dir + "/README.txt"))

        let registry = PluginRegistry.load(.init(includeEnvironment: false, directories: [dir]))
        let lines = registry.diagnostics.map(\.description)
        for c in cases {
            let line = lines.first { $0.hasPrefix("\(dir)/\(c.name): ") }
            XCTAssertNotNil(line, "\(c.name) not reported; got \(lines)")
            XCTAssertTrue(line?.contains(c.reason) == true, "\(c.name): \(line ?? "")")
            XCTAssertFalse(line?.contains("\n") == true)
        }
        XCTAssertTrue(lines.contains { $0.hasPrefix("\(dir)/libgarbage.so: not a loadable shared library") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("\(dir)/libempty.so: not a loadable shared library") }, "\(lines)")
        XCTAssertFalse(lines.contains { $0.contains("README.txt") }, "a non-.so file is ignored, not an error")
        XCTAssertNoThrow(try registry.component(.optimizer, type: "Good"))
        XCTAssertNoThrow(try registry.component(.optimizer, type: "SGD"))
        XCTAssertThrowsError(try registry.component(.optimizer, type: "Toy"), "nothing of a rejected plugin registers")
    }

    /// A plugin whose structs are exactly ABI 1.0's sizes and claims minor 0 loads; a
    /// short name already taken is diagnosed naming both files, and the qualified name
    /// of each resolves.
    func testOlderMinorLoadsAndClashingNamesNeverShadowSilently() throws {
        let dir = PluginBuilder.folder()
        try PluginBuilder.build(Self.configurable, into: dir, name: "libclash.so",
                                defines: ["TYPE_NAME=\"SGD\"", "MINOR=0", "PLUGIN_SIZE=STEPWISE_PLUGIN_SIZE_1_0"])
        let registry = PluginRegistry.load(.init(includeEnvironment: false, directories: [dir]))
        let line = registry.diagnostics.map(\.description).first { $0.hasPrefix(dir + "/libclash.so") }
        XCTAssertTrue(line?.contains("optimizer type 'SGD' is already registered by libStepwisePluginOptimizers.so; use 'toy.SGD'") == true,
                      line ?? "no diagnostic")
        XCTAssertEqual(try registry.component(.optimizer, type: "SGD").plugin.id, "stepwise")
        XCTAssertEqual(try registry.component(.optimizer, type: "toy.SGD").plugin.id, "toy")
        XCTAssertEqual(try registry.component(.optimizer, type: "stepwise.SGD").plugin.id, "stepwise")
    }
}

/// Config errors name the key, the component and the file.
final class ConfigErrorTests: XCTestCase {
    static let registry = PluginRegistry.load(.init(includeEnvironment: false))
    let origin = ConfigOrigin(file: "configs/train.yaml", line: 3)

    func config(_ pairs: [(String, ConfigValue)]) -> ConfigDict {
        ConfigDict(pairs.map { ConfigDict.Entry(key: $0.0, value: $0.1, origin: origin) }, origin: ConfigOrigin(file: "configs/train.yaml"))
    }

    func assertError(_ c: ConfigDict, contains parts: [String], line: UInt = #line) {
        XCTAssertThrowsError(try Optimizer(registry: Self.registry, config: c, params: []), line: line) { error in
            for part in parts { XCTAssertTrue("\(error)".contains(part), "'\(error)' lacks '\(part)'", line: line) }
        }
    }

    func testUnknownTypeSuggestsTheNearestName() {
        assertError(config([("type", .string("SDG"))]),
                    contains: ["unknown optimizer type 'SDG' in configs/train.yaml:3", "Did you mean 'SGD'?", "registered: "])
    }

    func testUnknownKeyNamesItAndSuggests() {
        assertError(config([("type", .string("SGD")), ("momentun", .float(0.9))]),
                    contains: ["unknown key 'momentun' for optimizer SGD in configs/train.yaml:3", "did you mean 'momentum'?"])
    }

    func testWrongTypeNamesTheKey() {
        assertError(config([("type", .string("SGD")), ("nesterov", .string("yes"))]),
                    contains: ["key 'nesterov' of optimizer SGD in configs/train.yaml:3 expects bool, got a string ('yes')"])
    }

    func testOutOfRangeReadsLikeTorch() {
        assertError(config([("type", .string("SGD")), ("lr", .float(-0.1))]),
                    contains: ["Invalid learning rate: -0.1", "key 'lr' of optimizer SGD in configs/train.yaml:3"])
    }

    func testAKindMismatchSaysWhatTheNameIs() throws {
        XCTAssertThrowsError(try Self.registry.component(.scheduler, type: "SGD")) { error in
            XCTAssertTrue("\(error)".contains("'SGD' is an optimizer, not a scheduler"), "\(error)")
        }
    }
}
