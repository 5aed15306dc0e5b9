import Foundation
import XCTest
@testable import Stepwise

/// A scratch folder of config files, removed when the test ends.
final class TempConfigDir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("stepwise-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `text` to `name` (which may contain folders) and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// `_base_` inheritance, `_delete_`, `{{_base_.x}}` references and their errors, checked
/// against what MMEngine 0.10.7's `Config.fromfile` gives for the same files.
final class ConfigInheritanceTests: XCTestCase {
    private func loadError(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
        do {
            let config = try ConfigLoader.load(path: path)
            XCTFail("expected an error, got \(config)", file: file, line: line)
        } catch let e as ConfigError {
            return e
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
        return nil
    }

    func testThreeDeepChainAcrossFormats() throws {
        let dir = try TempConfigDir()
        try dir.write("_base_/default_runtime.py", """
            default_scope = 'mmengine'
            optimizer = dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)
            param_scheduler = [dict(type='LinearLR', start_factor=0.001), dict(type='MultiStepLR', milestones=[8, 11])]
            model = dict(backbone=dict(depth=50, frozen=[1, 2]), neck=dict(channels=256))
            """)
        try dir.write("_base_/schedule.yaml", """
            _base_: default_runtime.py
            optimizer:
              lr: 0.02
              betas: [0.9, 0.999]
            param_scheduler:
              - type: CosineAnnealingLR
                T_max: 12
            model:
              backbone:
                frozen: [3]
            max_epochs: 12
            """)
        let child = try dir.write("configs/exp.py", """
            _base_ = ['../_base_/schedule.yaml']
            optimizer = dict(lr=0.01)
            model = dict(neck=dict(channels=128))
            work_dir = './work'
            """)
        let config = try ConfigLoader.load(path: child)

        XCTAssertEqual(config.keys, ["default_scope", "optimizer", "param_scheduler", "model", "max_epochs", "work_dir"])
        let optimizer = try XCTUnwrap(config["optimizer"]?.dict)
        XCTAssertEqual(optimizer, ConfigDict([
            "type": .string("SGD"), "lr": .float(0.01), "momentum": .float(0.9),
            "weight_decay": .float(1e-4), "betas": .list([.float(0.9), .float(0.999)]),
        ]))
        // Lists replace, never merge.
        XCTAssertEqual(config["param_scheduler"], .list([.dict(ConfigDict(["type": .string("CosineAnnealingLR"), "T_max": .int(12)]))]))
        XCTAssertEqual(config["model"]?.dict?["backbone"], .dict(ConfigDict(["depth": .int(50), "frozen": .list([.int(3)])])))
        XCTAssertEqual(config["model"]?.dict?["neck"], .dict(ConfigDict(["channels": .int(128)])))

        // Each value remembers the file and line it came from.
        let runtime = dir.path("configs/../_base_/default_runtime.py")
        let schedule = dir.path("configs/../_base_/schedule.yaml")
        XCTAssertEqual(optimizer.origin(of: "type")?.file, InheritanceResolver.normalize(runtime))
        XCTAssertEqual(optimizer.origin(of: "type")?.line, 2)
        XCTAssertEqual(optimizer.origin(of: "betas"), ConfigOrigin(file: InheritanceResolver.normalize(schedule), line: 4, column: 3))
        XCTAssertEqual(optimizer.origin(of: "lr"), ConfigOrigin(file: child, line: 2, column: 18))
        XCTAssertEqual(config.origin(of: "max_epochs")?.file, InheritanceResolver.normalize(schedule))
        XCTAssertEqual(config.origin, ConfigOrigin(file: child))
    }

    func testDeleteReplacesInsteadOfMerging() throws {
        let dir = try TempConfigDir()
        try dir.write("base.py", "optimizer = dict(type='SGD', lr=0.1, momentum=0.9)\nmodel = dict(a=1, b=dict(c=2, d=3))\n")
        let child = try dir.write("child.py", """
            _base_ = 'base.py'
            optimizer = dict(_delete_=True, type='Adam', lr=1e-3)
            model = dict(b=dict(_delete_=True, e=4), new=dict(_delete_=True, x=1))
            """)
        let config = try ConfigLoader.load(path: child)
        XCTAssertEqual(config["optimizer"], .dict(ConfigDict(["type": .string("Adam"), "lr": .float(0.001)])))
        // `_delete_` under a key the base lacks is dropped too (a deviation: MMEngine keeps it).
        XCTAssertEqual(config["model"], .dict(ConfigDict([
            "a": .int(1), "b": .dict(ConfigDict(["e": .int(4)])), "new": .dict(ConfigDict(["x": .int(1)])),
        ])))
    }

    func testDeleteFalseStillMerges() throws {
        let dir = try TempConfigDir()
        try dir.write("base.yaml", "optimizer: {type: SGD, lr: 0.1}\n")
        let child = try dir.write("child.json", #"{"_base_": "base.yaml", "optimizer": {"_delete_": false, "lr": 0.5}}"#)
        XCTAssertEqual(try ConfigLoader.load(path: child)["optimizer"],
                       .dict(ConfigDict(["type": .string("SGD"), "lr": .float(0.5)])))
    }

    func testDictOverNonDictNeedsDelete() throws {
        let dir = try TempConfigDir()
        try dir.write("base.py", "lr_config = 'step'\n")
        let child = try dir.write("child.py", "_base_ = 'base.py'\n\nlr_config = dict(policy='cosine')\n")
        let e = try XCTUnwrap(loadError(child))
        XCTAssertEqual(e.kind, .merge)
        XCTAssertEqual(e.line, 3)
        XCTAssertEqual(e.column, 1)
        XCTAssertTrue(e.message.hasPrefix("'lr_config' is a dict here but a string in the base (set at "), e.message)
        XCTAssertTrue(e.message.hasSuffix("add _delete_=True to replace the base value instead of merging into it"), e.message)
    }

    func testMultipleBasesCombineInOrderAndRefuseSharedKeys() throws {
        let dir = try TempConfigDir()
        try dir.write("a.py", "x = 1\ny = 2\n")
        try dir.write("b.yaml", "z: 3\n")
        let child = try dir.write("child.py", "_base_ = ['a.py', 'b.yaml']\nw = 0\ny = 20\n")
        let config = try ConfigLoader.load(path: child)
        XCTAssertEqual(config.keys, ["x", "y", "z", "w"])
        XCTAssertEqual(config["y"], .int(20))

        try dir.write("c.json", #"{"y": 5}"#)
        let clash = try dir.write("clash.py", "\n_base_ = ['a.py', 'c.json']\n")
        let e = try XCTUnwrap(loadError(clash))
        XCTAssertEqual(e.kind, .inheritance)
        XCTAssertEqual(e.origin, ConfigOrigin(file: clash, line: 2, column: 1))
        XCTAssertEqual(e.message, "key 'y' is defined in two base configs, \(dir.path("a.py")) and \(dir.path("c.json")); "
                       + "MMEngine does not merge bases, so define it in one of them or in \(clash)")
    }

    func testMissingBaseNamesBothFiles() throws {
        let dir = try TempConfigDir()
        let child = try dir.write("child.py", "a = 1\n_base_ = ['nope/missing.py']\n")
        let e = try XCTUnwrap(loadError(child))
        XCTAssertEqual(e.kind, .inheritance)
        XCTAssertEqual(e.origin, ConfigOrigin(file: child, line: 2, column: 1))
        XCTAssertEqual(e.message, "base config 'nope/missing.py' not found (looked for \(dir.path("nope/missing.py")), relative to \(child))")
    }

    func testMissingTopLevelFile() throws {
        let dir = try TempConfigDir()
        let e = try XCTUnwrap(loadError(dir.path("absent.py")))
        XCTAssertEqual(e.kind, .io)
        XCTAssertEqual("\(e)", "\(dir.path("absent.py")): config file not found")
        let txt = try dir.write("notes.txt", "a = 1")
        XCTAssertEqual(loadError(txt)?.message, "unsupported config file type '.txt' (use .py, .yaml, .yml or .json)")
    }

    func testInheritanceCycleListsTheChain() throws {
        let dir = try TempConfigDir()
        let a = try dir.write("a.py", "_base_ = 'b.yaml'\nx = 1\n")
        try dir.write("b.yaml", "_base_: [sub/c.json]\n")
        try dir.write("sub/c.json", "{\n  \"_base_\": \"../a.py\"\n}")
        let e = try XCTUnwrap(loadError(a))
        XCTAssertEqual(e.kind, .inheritance)
        XCTAssertEqual(e.message, "inheritance cycle: \(a) -> \(dir.path("b.yaml")) -> \(dir.path("sub/c.json")) -> \(a)")
        XCTAssertEqual(e.origin, ConfigOrigin(file: dir.path("sub/c.json"), line: 2, column: 3))

        let selfish = try dir.write("self.py", "_base_ = './self.py'\n")
        XCTAssertEqual(loadError(selfish)?.message, "inheritance cycle: \(selfish) -> \(selfish)")
    }

    func testBaseValueMustBePaths() throws {
        let dir = try TempConfigDir()
        let bad = try dir.write("bad.py", "_base_ = 3\n")
        XCTAssertEqual(loadError(bad)?.message, "_base_ must be a path or a list of paths, not an int")
        let scoped = try dir.write("scoped.py", "_base_ = 'mmdet::faster_rcnn.py'\n")
        XCTAssertEqual(loadError(scoped)?.kind, .unsupported)
    }

    func testBaseReferencesAsWholeValues() throws {
        let dir = try TempConfigDir()
        try dir.write("base.py", "lr = 0.02\nmodel = dict(backbone=dict(depth=50, channels=[64, 128]))\nname = 'resnet'\n")
        let py = try dir.write("child.py", """
            _base_ = 'base.py'
            # {{_base_.not_there}} in a comment is ignored
            optimizer = dict(type='SGD', lr={{_base_.lr}})
            depth = {{ _base_.model.backbone.depth }}
            channels = {{_base_.model.backbone.channels}}
            backbone = {{_base_.model.backbone}}
            quoted = '{{_base_.name}}'
            double_quoted = "{{_base_.lr}}"
            after = 1 ; lr = 0.5
            """)
        let config = try ConfigLoader.load(path: py)
        XCTAssertEqual(config["optimizer"]?.dict?["lr"], .float(0.02), "references see the base, not the child's lr")
        XCTAssertEqual(config["lr"], .float(0.5))
        XCTAssertEqual(config["depth"], .int(50))
        XCTAssertEqual(config["channels"], .list([.int(64), .int(128)]))
        XCTAssertEqual(config["backbone"]?.dict?.keys, ["depth", "channels"])
        // A reference quoted as the whole value works too (in MMEngine it would not).
        XCTAssertEqual(config["quoted"], .string("resnet"))
        XCTAssertEqual(config["double_quoted"], .float(0.02))
        // The placeholder keeps lines and columns: `lr` is where it was written.
        XCTAssertEqual(config.origin(of: "lr"), ConfigOrigin(file: py, line: 9, column: 13))

        let yaml = try dir.write("child.yaml", "_base_: base.py\noptimizer: {lr: {{_base_.lr}}}\nlist: [{{_base_.name}}, 2]\n")
        let fromYAML = try ConfigLoader.load(path: yaml)
        XCTAssertEqual(fromYAML["optimizer"]?.dict?["lr"], .float(0.02))
        XCTAssertEqual(fromYAML["list"], .list([.string("resnet"), .int(2)]))

        let json = try dir.write("child.json", "{\"_base_\": \"base.py\", \"d\": {{_base_.model.backbone.depth}}, \"e\": 1}")
        let fromJSON = try ConfigLoader.load(path: json)
        XCTAssertEqual(fromJSON["d"], .int(50))
        XCTAssertEqual(fromJSON.origin(of: "e")?.column, 61)
    }

    func testBaseReferenceErrors() throws {
        let dir = try TempConfigDir()
        try dir.write("base.py", "model = dict(depth=50, layers=[1])\n")
        let cases: [(String, Int, Int, String)] = [
            ("_base_ = 'base.py'\nx = {{_base_.lr}}\n", 2, 5, "{{_base_.lr}}: the base configs define no key 'lr'"),
            ("_base_ = 'base.py'\nx = {{_base_.model.width}}\n", 2, 5, "{{_base_.model.width}}: the base configs define no key 'width' in 'model'"),
            ("_base_ = 'base.py'\nx = {{_base_.model.layers.0}}\n", 2, 5, "{{_base_.model.layers.0}}: 'model.layers' is a list, not a dict, in the base configs"),
            ("x = [1, {{_base_.model}}]\n", 1, 9, "{{_base_.model}} refers to base configs, but this file has no _base_"),
            ("_base_ = 'base.py'\nx = 'net_{{_base_.model.depth}}'\n", 2, 10,
             "{{_base_.model.depth}} inside a longer string is not substituted (MMEngine replaces only a whole value); use it as the whole value"),
        ]
        for (n, (text, line, column, message)) in cases.enumerated() {
            let path = try dir.write("case\(n).py", text)
            let e = try XCTUnwrap(loadError(path), text)
            XCTAssertEqual(e.message, message, text)
            XCTAssertEqual(e.origin, ConfigOrigin(file: path, line: line, column: column), text)
        }
    }

    func testDunderAndDeprecationKeysAreDropped() throws {
        let dir = try TempConfigDir()
        try dir.write("base.py", "__hidden = 1\n_deprecation_ = dict(expected='new.py')\nkept = 2\n")
        let child = try dir.write("child.py", "_base_ = 'base.py'\n__also = 3\n")
        XCTAssertEqual(try ConfigLoader.load(path: child).keys, ["kept"])
    }

    func testParseStringResolvesBasesFromCurrentDirectory() throws {
        let dir = try TempConfigDir()
        try dir.write("base.py", "a = 1\n")
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(dir.url.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        let config = try ConfigLoader.parse(string: "_base_ = 'base.py'\nb = {{_base_.a}}\n", format: .python)
        XCTAssertEqual(config, ConfigDict(["a": .int(1), "b": .int(1)]))
        XCTAssertEqual(config.origin(of: "a")?.file, "base.py")
    }

    func testPathNormalization() {
        XCTAssertEqual(InheritanceResolver.join("configs/x", "../_base_/a.py"), "configs/_base_/a.py")
        XCTAssertEqual(InheritanceResolver.join("", "./a.py"), "a.py")
        XCTAssertEqual(InheritanceResolver.join("a", "../../b.py"), "../b.py")
        XCTAssertEqual(InheritanceResolver.join("/r/c", "/abs/b.py"), "/abs/b.py")
        XCTAssertEqual(InheritanceResolver.join("/r/c", "../../../b.py"), "/b.py")
    }
}
