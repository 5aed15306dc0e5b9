import XCTest
@testable import Stepwise

/// The YAML and JSON readers: typing of scalars, key order, origins and errors.
final class ConfigYAMLJSONTests: XCTestCase {
    private func yaml(_ text: String) throws -> ConfigDict {
        try ConfigLoader.parse(string: text, format: .yaml, origin: "c.yaml")
    }

    private func json(_ text: String) throws -> ConfigDict {
        try ConfigLoader.parse(string: text, format: .json, origin: "c.json")
    }

    private func error(_ body: () throws -> ConfigDict) -> ConfigError? {
        do { _ = try body() } catch { return error as? ConfigError }
        return nil
    }

    func testYAMLScalarTyping() throws {
        let table: [(String, ConfigValue)] = [
            ("1e-3", .float(0.001)), ("1E3", .float(1000)), ("-2.5e+2", .float(-250)), ("1.", .float(1)), (".5", .float(0.5)),
            ("1_000.5", .float(1000.5)), (".inf", .float(.infinity)), ("-.Inf", .float(-.infinity)), ("0.1", .float(0.1)),
            ("1", .int(1)), ("-7", .int(-7)), ("+7", .int(7)), ("1_000", .int(1000)), ("0x1f", .int(31)), ("0o17", .int(15)),
            ("0b11", .int(3)), ("0755", .int(493)), ("0", .int(0)),
            ("~", .null), ("null", .null), ("NULL", .null), ("", .null),
            ("true", .bool(true)), ("True", .bool(true)), ("yes", .bool(true)), ("ON", .bool(true)),
            ("false", .bool(false)), ("No", .bool(false)), ("off", .bool(false)),
            ("'1'", .string("1")), ("\"yes\"", .string("yes")), ("!!str 1", .string("1")), ("!!float 1", .float(1)),
            ("!!int '12'", .int(12)), ("09", .string("09")), ("1:30", .string("1:30")), ("2024-01-01", .string("2024-01-01")),
            ("1e", .string("1e")), ("1.2.3", .string("1.2.3")), ("Adam", .string("Adam")), ("None", .string("None")),
            (".nan", .float(.nan)),
        ]
        for (text, expected) in table {
            let got = try yaml("v: \(text)\n")["v"]
            if case .float(let e) = expected, e.isNaN {
                XCTAssertTrue(got?.double?.isNaN == true, text)
            } else {
                XCTAssertEqual(got, expected, text)
            }
        }
    }

    func testYAMLOrderNestingAndOrigins() throws {
        let config = try yaml("""
            # comment
            zeta: 1
            optimizer:
              type: AdamW
              betas: [0.9, 0.999]
              paramwise_cfg: {norm_decay_mult: 0.0}
            param_scheduler:
              - type: LinearLR
                by_epoch: false
              - {type: CosineAnnealingLR, T_max: 10}
            alpha: 'x'
            """)
        XCTAssertEqual(config.keys, ["zeta", "optimizer", "param_scheduler", "alpha"])
        XCTAssertEqual(config.origin(of: "zeta"), ConfigOrigin(file: "c.yaml", line: 2, column: 1))
        let optimizer = try XCTUnwrap(config["optimizer"]?.dict)
        XCTAssertEqual(optimizer.keys, ["type", "betas", "paramwise_cfg"])
        XCTAssertEqual(optimizer.origin(of: "betas"), ConfigOrigin(file: "c.yaml", line: 5, column: 3))
        XCTAssertEqual(optimizer["paramwise_cfg"]?.dict?.origin(of: "norm_decay_mult"), ConfigOrigin(file: "c.yaml", line: 6, column: 19))
        let schedulers = try XCTUnwrap(config["param_scheduler"]?.list)
        XCTAssertEqual(schedulers[0].dict?.origin(of: "by_epoch"), ConfigOrigin(file: "c.yaml", line: 9, column: 5))
        XCTAssertEqual(schedulers[1].dict?["T_max"], .int(10))
    }

    func testYAMLMergeKeysAndAliases() throws {
        let config = try yaml("""
            defaults: &d {lr: 0.1, momentum: 0.9}
            extra: &e {nesterov: true, lr: 0.5}
            sgd:
              <<: [*d, *e]
              lr: 0.01
            copy: *d
            """)
        let sgd = try XCTUnwrap(config["sgd"]?.dict)
        // PyYAML: merged keys first, the earlier merged mapping wins, own keys win over all.
        XCTAssertEqual(sgd.keys, ["nesterov", "lr", "momentum"])
        XCTAssertEqual(sgd["lr"], .float(0.01))
        XCTAssertEqual(config["copy"], config["defaults"])
    }

    func testYAMLErrors() {
        let bad = error { try self.yaml("a: 1\nb: [1, 2\nc: 3\n") }
        XCTAssertEqual(bad?.kind, .syntax)
        XCTAssertEqual(bad?.file, "c.yaml")
        XCTAssertNotNil(bad?.line)

        let list = error { try self.yaml("- 1\n- 2\n") }
        XCTAssertEqual(list?.message, "a YAML config must be a mapping (key: value lines) at the top level, not a list")
        XCTAssertEqual(list?.origin, ConfigOrigin(file: "c.yaml", line: 1, column: 1))

        let duplicate = error { try self.yaml("a: 1\nb: 2\na: 3\n") }
        XCTAssertEqual(duplicate?.message, "duplicate key 'a' in one mapping")

        let tag = error { try self.yaml("a: !!python/tuple [1, 2]\n") }
        XCTAssertEqual(tag?.message, "unsupported YAML tag tag:yaml.org,2002:python/tuple")

        let typed = error { try self.yaml("a: !!int abc\n") }
        XCTAssertEqual(typed?.origin, ConfigOrigin(file: "c.yaml", line: 1, column: 4))

        let key = error { try self.yaml("? [1, 2]\n: 3\n") }
        XCTAssertEqual(key?.message, "config keys must be strings, not a list")

        XCTAssertEqual(error { try self.yaml("a: 99999999999999999999\n") }?.message, "integer 99999999999999999999 does not fit in 64 bits")
        XCTAssertEqual(try yaml(""), ConfigDict())
        XCTAssertEqual(try yaml("# only a comment\n"), ConfigDict())
    }

    func testJSONKeepsOrderIntsFloatsAndOrigins() throws {
        let config = try json("""
            {
              "z": 1,
              "a": 1.0,
              "e": 1e3,
              "n": [-0, -1.5E-3, null, true, false, "s"],
              "nested": {"k": {"deep": "\\u00e9\\ud83d\\ude00\\n\\"/\\\\"}},
              "special": [NaN, Infinity, -Infinity],
              "z": 2
            }
            """)
        XCTAssertEqual(config.keys, ["z", "a", "e", "n", "nested", "special"], "a repeated key keeps its first place")
        XCTAssertEqual(config["z"], .int(2))
        XCTAssertEqual(config["a"], .float(1))
        XCTAssertEqual(config["e"], .float(1000))
        XCTAssertEqual(config["n"], .list([.int(0), .float(-0.0015), .null, .bool(true), .bool(false), .string("s")]))
        XCTAssertEqual(config["nested"]?.dict?["k"]?.dict?["deep"], .string("é😀\n\"/\\"))
        XCTAssertEqual(config["special"]?.list?[1], .float(.infinity))
        XCTAssertEqual(config["special"]?.list?[2], .float(-.infinity))
        XCTAssertTrue(config["special"]?.list?[0].double?.isNaN == true)
        XCTAssertEqual(config.origin(of: "e"), ConfigOrigin(file: "c.json", line: 4, column: 3))
        XCTAssertEqual(config["nested"]?.dict?.origin(of: "k"), ConfigOrigin(file: "c.json", line: 6, column: 14))
        XCTAssertEqual(config.origin(of: "z"), ConfigOrigin(file: "c.json", line: 8, column: 3))
    }

    func testJSONErrors() {
        let cases: [(String, Int, Int, String)] = [
            ("{\"a\": 1,}", 1, 9, "expected a key in double quotes, found '}'"),
            ("{\"a\": 1 \"b\": 2}", 1, 9, "expected ',' or '}', found '\"'"),
            ("{\"a\": [1, 2}", 1, 12, "expected ',' or ']', found '}'"),
            ("{\n  \"a\": 'x'\n}", 2, 8, "expected a value, found '''"),
            ("{\"a\": \"abc}", 1, 7, "unterminated string"),
            ("{\"a\": \"\\q\"}", 1, 8, "invalid escape \\q"),
            ("{\"a\": \"\t\"}", 1, 8, "control character U+0009 in a string (escape it)"),
            ("{\"a\": 01}", 1, 8, "expected ',' or '}', found '1'"),
            ("{\"a\": -}", 1, 7, "expected a digit after '-'"),
            ("{\"a\": 99999999999999999999}", 1, 7, "integer 99999999999999999999 does not fit in 64 bits"),
            ("{} x", 1, 4, "extra data after the top-level object: 'x'"),
            ("[1]", 1, 1, "a JSON config must be an object ({...}) at the top level"),
            ("{\"a\": tru}", 1, 7, "expected a value, found 't'"),
        ]
        for (text, line, column, message) in cases {
            let e = error { try self.json(text) }
            XCTAssertEqual(e?.message, message, text)
            XCTAssertEqual(e?.origin, ConfigOrigin(file: "c.json", line: line, column: column), text)
        }
        let deep = String(repeating: "[", count: 600)
        XCTAssertEqual(error { try self.json("{\"a\": \(deep)") }?.message, "nesting deeper than 512 levels")
        XCTAssertEqual(try json("  \n"), ConfigDict())
    }

    func testLoadDispatchesOnExtension() throws {
        let dir = try TempConfigDir()
        let text = ["yaml": "a: 1e-3\n", "yml": "a: 1e-3\n", "json": "{\"a\": 1e-3}", "py": "a = 1e-3\n"]
        for (ext, body) in text {
            let path = try dir.write("c.\(ext)", body)
            XCTAssertEqual(try ConfigLoader.load(path: path), ConfigDict(["a": .float(0.001)]), ext)
            XCTAssertEqual(try ConfigLoader.load(path: path).origin(of: "a")?.file, path)
        }
        XCTAssertEqual(ConfigFormat(pathExtension: "YML"), .yaml)
        XCTAssertNil(ConfigFormat(pathExtension: "toml"))
    }
}
