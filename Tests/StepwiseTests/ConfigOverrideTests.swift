import XCTest
@testable import Stepwise

/// Command-line strings: `--cfg-options key.path=value` overrides, inline dicts, and
/// how overrides merge into a config (MMEngine's `merge_from_dict`).
final class ConfigOverrideTests: XCTestCase {
    private func value(_ text: String) throws -> ConfigValue? {
        try ConfigLoader.parse(string: "v=\(text)", format: .override, origin: "--cfg-options")["v"]
    }

    func testOverrideValues() throws {
        let table: [(String, ConfigValue)] = [
            ("0.1", .float(0.1)), ("1e-3", .float(0.001)), ("-5", .int(-5)), ("1_000", .int(1000)), ("007", .int(7)),
            ("0x10", .int(16)), ("inf", .float(.infinity)), ("-Infinity", .float(-.infinity)),
            ("true", .bool(true)), ("False", .bool(false)), ("TRUE", .bool(true)),
            ("None", .null), ("null", .null), ("~", .null),
            ("Adam", .string("Adam")), ("'Adam'", .string("Adam")), ("\"a b\"", .string("a b")), ("r'\\d'", .string("\\d")),
            ("", .string("")), ("  spaced out  ", .string("spaced out")), ("path/to/file.pth", .string("path/to/file.pth")),
            ("http://x.org/a?b=c", .string("http://x.org/a?b=c")), ("1.2.3", .string("1.2.3")),
            ("1,2,3", .list([.int(1), .int(2), .int(3)])), ("a,b,", .list([.string("a"), .string("b")])),
            ("[1, 'two', [3]]", .list([.int(1), .string("two"), .list([.int(3)])])),
            ("[(1,2),(3,4)]", .list([.list([.int(1), .int(2)]), .list([.int(3), .int(4)])])),
            ("(0.9, 0.999)", .list([.float(0.9), .float(0.999)])), ("[]", .list([])),
            ("{type: Adam, lr: 1e-3}", .dict(ConfigDict(["type": .string("Adam"), "lr": .float(0.001)]))),
            ("{'type': 'Adam', \"betas\": (0.9, 0.99)}", .dict(ConfigDict(["type": .string("Adam"), "betas": .list([.float(0.9), .float(0.99)])]))),
            ("dict(type='SGD', momentum=0.9)", .dict(ConfigDict(["type": .string("SGD"), "momentum": .float(0.9)]))),
            ("[dict(type='A'), {type: B}]", .list([.dict(ConfigDict(["type": .string("A")])), .dict(ConfigDict(["type": .string("B")]))])),
            ("{url: http://a:8080/x}", .dict(ConfigDict(["url": .string("http://a:8080/x")]))),
        ]
        for (text, expected) in table {
            XCTAssertEqual(try value(text), expected, text)
        }
    }

    func testOverrideNestsTheKeyPath() throws {
        let d = try ConfigLoader.parse(string: "optimizer.paramwise_cfg.bias_lr_mult=2.0", format: .override, origin: "--cfg-options")
        XCTAssertEqual(d, ConfigDict(["optimizer": .dict(ConfigDict(["paramwise_cfg": .dict(ConfigDict(["bias_lr_mult": .float(2)]))]))]))
        XCTAssertEqual(d.origin(of: "optimizer"), ConfigOrigin(file: "--cfg-options", line: 1, column: 1))
    }

    func testOverrideErrors() {
        let cases: [(String, Int, String)] = [
            ("optimizer.lr", 1, "expected key.path=value, e.g. optimizer.lr=0.01"),
            ("optimizer..lr=1", 1, "'optimizer..lr' is not a key path such as optimizer.lr"),
            ("=1", 1, "'' is not a key path such as optimizer.lr"),
            ("a=[1, 2", 8, "expected ',' or ']', found end of input"),
            ("a=[1, 2]]", 9, "unexpected ']'"),
            ("a={x 1}", 7, "expected ':' after the key 'x 1', found '}'"),
            ("a='abc", 3, "unterminated string literal"),
            ("a=99999999999999999999", 3, "integer 99999999999999999999 does not fit in 64 bits"),
        ]
        for (text, column, message) in cases {
            XCTAssertThrowsError(try ConfigLoader.parse(string: text, format: .override, origin: "--cfg-options"), text) { error in
                let e = error as? ConfigError
                XCTAssertEqual(e?.message, message, text)
                XCTAssertEqual(e?.origin, ConfigOrigin(file: "--cfg-options", line: 1, column: column), text)
            }
        }
        XCTAssertThrowsError(try ConfigLoader.parse(string: "[1, 2]", format: .inline, origin: "--optimizer")) {
            XCTAssertEqual(($0 as? ConfigError)?.message, "expected a dict such as {type: Adam, lr: 1e-3}")
        }
    }

    func testInlineDict() throws {
        let d = try ConfigLoader.parse(string: "{type: Adam, lr: 1e-3, betas: [0.9, 0.999], amsgrad: false}", format: .inline, origin: "--optimizer")
        XCTAssertEqual(d.keys, ["type", "lr", "betas", "amsgrad"])
        XCTAssertEqual(d["lr"], .float(0.001))
        XCTAssertEqual(d.origin(of: "betas"), ConfigOrigin(file: "--optimizer", line: 1, column: 24))
        XCTAssertEqual(try ConfigLoader.parse(string: "dict(type='Adam', lr=1e-3)", format: .inline), ConfigDict(["type": .string("Adam"), "lr": .float(0.001)]))
    }

    private let base = ConfigDict([
        "optimizer": .dict(ConfigDict(["type": .string("SGD"), "lr": .float(0.1), "momentum": .float(0.9)])),
        "pipeline": .list([.dict(ConfigDict(["type": .string("Load")])), .dict(ConfigDict(["type": .string("Flip"), "p": .float(0.5)]))]),
        "max_epochs": .int(12),
    ])

    func testApplyingOverrides() throws {
        let out = try ConfigLoader.applying(overrides: [
            "optimizer.lr=0.01", "pipeline.1.p=0.25", "max_epochs=24", "work_dir=./w", "optimizer.betas=0.9,0.99",
        ], to: base)
        XCTAssertEqual(out.keys, ["optimizer", "pipeline", "max_epochs", "work_dir"])
        XCTAssertEqual(out["optimizer"], .dict(ConfigDict([
            "type": .string("SGD"), "lr": .float(0.01), "momentum": .float(0.9), "betas": .list([.float(0.9), .float(0.99)]),
        ])))
        XCTAssertEqual(out["pipeline"]?.list?[1], .dict(ConfigDict(["type": .string("Flip"), "p": .float(0.25)])))
        XCTAssertEqual(out["max_epochs"], .int(24))
        XCTAssertEqual(out["optimizer"]?.dict?.origin(of: "lr")?.file, "--cfg-options")
    }

    func testOverrideDictMergesUnlessDelete() throws {
        let merged = try ConfigLoader.applying(overrides: ["optimizer={lr: 0.5}"], to: base)
        XCTAssertEqual(merged["optimizer"]?.dict?.keys, ["type", "lr", "momentum"])
        let replaced = try ConfigLoader.applying(overrides: ["optimizer={_delete_: true, type: Adam}"], to: base)
        XCTAssertEqual(replaced["optimizer"], .dict(ConfigDict(["type": .string("Adam")])))
        let list = try ConfigLoader.applying(overrides: ["pipeline=[{type: Only}]"], to: base)
        XCTAssertEqual(list["pipeline"], .list([.dict(ConfigDict(["type": .string("Only")]))]))
    }

    func testOverrideMergeErrors() {
        let cases: [(String, String)] = [
            ("pipeline.5.p=1", "index 5 is out of range for 'pipeline', a list of 2 element(s)"),
            ("pipeline.first.p=1", "'pipeline' is a list, so 'pipeline.first' must be an element index such as 'pipeline.0'"),
            ("max_epochs.value=1", "'max_epochs' is a dict here but an int in the base; add _delete_=True to replace the base value instead of merging into it"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try ConfigLoader.applying(overrides: [text], to: base), text) { error in
                XCTAssertEqual((error as? ConfigError)?.message, message, text)
                XCTAssertEqual((error as? ConfigError)?.kind, .merge, text)
            }
        }
    }

    func testMergeWithoutListKeysReplacesLists() throws {
        let child = ConfigDict(["pipeline": .dict(ConfigDict(["0": .dict(ConfigDict(["type": .string("X")]))]))])
        XCTAssertThrowsError(try ConfigLoader.merge(child, into: base)) {
            XCTAssertEqual(($0 as? ConfigError)?.kind, .merge)
        }
        let indexed = try ConfigLoader.merge(child, into: base, allowListKeys: true)
        XCTAssertEqual(indexed["pipeline"]?.list?[0], .dict(ConfigDict(["type": .string("X")])))
    }
}
