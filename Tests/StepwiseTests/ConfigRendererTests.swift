import XCTest
@testable import Stepwise

/// `ConfigRenderer`: the exact YAML and JSON it writes, and that both read back as the
/// same values.
final class ConfigRendererTests: XCTestCase {
    func testYAMLWithOrigins() throws {
        let config = try ConfigLoader.parse(string: """
            optimizer = dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), eps=1e-08)
            param_scheduler = [
                dict(type='LinearLR', by_epoch=False, end=500),
                dict(type='CosineAnnealingLR', eta_min=0.0),
            ]
            names = ['yes', '1e-3', '', 'a: b', 'null', '-x', 'plain_word', "quote\\"s", 'tab\\there']
            empty = dict()
            nothing = None
            grid = [[1, 2], [], [dict(a=1)]]
            """, format: .python, origin: "exp.py")
        XCTAssertEqual(ConfigRenderer.yaml(config, origins: true), """
            optimizer:  # from exp.py:1
              type: AdamW  # from exp.py:1
              lr: 0.001  # from exp.py:1
              betas: [0.9, 0.999]  # from exp.py:1
              eps: 1.0e-08  # from exp.py:1
            param_scheduler:  # from exp.py:2
              - type: LinearLR  # from exp.py:3
                by_epoch: false  # from exp.py:3
                end: 500  # from exp.py:3
              - type: CosineAnnealingLR  # from exp.py:4
                eta_min: 0.0  # from exp.py:4
            names: ["yes", "1e-3", "", "a: b", "null", "-x", plain_word, "quote\\"s", "tab\\there"]  # from exp.py:6
            empty: {}  # from exp.py:7
            nothing: null  # from exp.py:8
            grid:  # from exp.py:9
              - [1, 2]
              - []
              - - a: 1  # from exp.py:9

            """)
        let back = try ConfigLoader.parse(string: ConfigRenderer.yaml(config), format: .yaml)
        XCTAssertEqual(back, config)
    }

    func testJSON() throws {
        let config = ConfigDict([
            "b": .dict(ConfigDict(["x": .float(1), "y": .list([.int(1), .float(2.5)]), "z": .dict(ConfigDict())])),
            "a": .list([.dict(ConfigDict(["k": .string("é\n\u{01}")]))]),
            "c": .float(.infinity), "d": .null, "e": .bool(true), "f": .list([]),
        ])
        XCTAssertEqual(ConfigRenderer.json(config), """
            {
              "b": {
                "x": 1.0,
                "y": [1, 2.5],
                "z": {}
              },
              "a": [
                {
                  "k": "é\\n\\u0001"
                }
              ],
              "c": Infinity,
              "d": null,
              "e": true,
              "f": []
            }

            """)
        XCTAssertEqual(try ConfigLoader.parse(string: ConfigRenderer.json(config), format: .json), config)
    }

    func testEmptyAndFloatForms() {
        XCTAssertEqual(ConfigRenderer.yaml(ConfigDict()), "{}\n")
        XCTAssertEqual(ConfigRenderer.json(ConfigDict()), "{}\n")
        let floats: [(Double, String)] = [(1e-5, "1.0e-05"), (1e16, "1.0e+16"), (2.5e-7, "2.5e-07"), (100, "100.0"),
                                          (-.infinity, "-.inf"), (.nan, ".nan"), (0.1, "0.1")]
        for (d, text) in floats { XCTAssertEqual(ConfigRenderer.yamlFloat(d), text) }
    }

    func testTrickyStringsRoundTrip() throws {
        let strings = ["", " lead", "trail ", "#x", "a #b", "[x]", "{x}", "x,y", "*a", "&a", "!t", "%p", "@a", "`b", "|", ">",
                       "'", "\"", "\\", "~", "<<", "on", "Off", "0x1", "0755", ".5", "1_0", "- x", "? x", "a\u{85}b", "\u{2028}",
                       "x\u{FEFF}", "\u{7F}", "\u{E000}", "😀", "\u{FFFE}", "new\nline", "multi\n\nline\n"]
        var config = ConfigDict()
        for (i, s) in strings.enumerated() { config["k\(i)"] = .string(s); config[s.isEmpty ? "empty" : s] = .int(Int64(i)) }
        XCTAssertEqual(try ConfigLoader.parse(string: ConfigRenderer.yaml(config), format: .yaml), config)
        XCTAssertEqual(try ConfigLoader.parse(string: ConfigRenderer.json(config), format: .json), config)
    }
}
