import XCTest
@testable import Stepwise

/// Seeded, bounded fuzzing of every config reader: random and mutated inputs must give a
/// value or a `ConfigError`, never a crash or another error type; random values written
/// as YAML, JSON and Python literals must read back unchanged.
final class ConfigFuzzTests: XCTestCase {
    /// SplitMix64: small, fast, and the same sequence on every machine.
    private struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private static let seeds: [ConfigFormat: [String]] = [
        .python: [
            "\"\"\"doc\"\"\"\n_base_ = ['a.py']\noptimizer = dict(type='SGD', lr=1e-3, betas=(0.9, 0.999),)\n",
            "x = {{_base_.a.b}}\ny = [1, -2.5, .5, 5., 0x1F, 1_000, True, None, r'\\d', '''m\nl''', \"\\u00e9\"]\n",
            "a = {'k': [dict(), {}], \"q\": 'a' 'b'}  # c\nb = \\\n  1, 2\nc = -(-3)\n",
        ],
        .json: [
            "{\"_base_\": \"a.json\", \"o\": {\"lr\": 1e-3, \"b\": [1, 2.5, null, true]}, \"s\": \"\\u00e9\\n\"}",
            "{\"r\": {{_base_.a}}, \"n\": [NaN, -Infinity, -0, 1E+2]}",
        ],
        .yaml: [
            "_base_: [a.yaml]\noptimizer:\n  type: Adam\n  lr: 1e-3\n  betas: [0.9, 0.999]\nlist:\n  - {a: 1}\n  - b: ~\n",
            "d: &d {x: 1}\ne:\n  <<: *d\n  y: !!str 2\nr: {{_base_.a}}\ns: |\n  text\nq: 'it''s'\n",
        ],
        .override: ["optimizer.lr=1e-3", "a.0.b=[1, (2, 3), {k: v}]", "x=dict(type='A', p=r'\\n'), 'y'"],
        .inline: ["{type: Adam, lr: 1e-3, betas: (0.9, 0.999)}", "dict(a=[1, 2], b={'c': None})"],
    ]

    private static let fragments = [
        "dict(", "lambda", "'''", "\"\"\"", "\\\n", "{{_base_.x}}", "{{ _base_.a.b }}", "&a ", "*a", "<<: ", "!!str ", "!!int ",
        "- ", ": ", "\r\n", "\u{FEFF}", "1e", "0x", "...", "\u{E000}", "\u{E000}7\u{E000}", "'", "\"", "\\", "\\x", "\\u12",
        "\\N{", "#", "\n  ", "\t", "(", ")", "[", "]", "{", "}", ",", "=", ".", "-", "+", "**", "_", "r'", "f'", "b'", "9999999999999999999999",
        "True", "None", "null", "~", "yes", "NaN", "Infinity", "é", "😀", "\u{0}", "---\n", "? ", "%YAML 1.1\n", "|\n", ">-\n",
    ]

    private func mutate(_ text: String, _ rng: inout SplitMix64) -> String {
        var s = Array(text.unicodeScalars)
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let at = s.isEmpty ? 0 : Int.random(in: 0...s.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !s.isEmpty:  // replace one character
                let i = min(at, s.count - 1)
                s[i] = Unicode.Scalar(UInt8.random(in: 32...126, using: &rng))
            case 1:  // insert a fragment
                s.insert(contentsOf: Self.fragments.randomElement(using: &rng)?.unicodeScalars ?? "".unicodeScalars, at: at)
            case 2 where !s.isEmpty:  // delete a range
                let end = min(s.count, at + Int.random(in: 1...8, using: &rng))
                s.removeSubrange(min(at, end)..<end)
            case 3 where !s.isEmpty:  // duplicate a range elsewhere
                let a = Int.random(in: 0..<s.count, using: &rng)
                let b = min(s.count, a + Int.random(in: 1...16, using: &rng))
                s.insert(contentsOf: Array(s[a..<b]), at: at)
            case 4:  // truncate
                s = Array(s.prefix(at))
            default:  // a random scalar, possibly outside ASCII
                let v = UInt32.random(in: 0...0x1FFFF, using: &rng)
                s.insert(Unicode.Scalar(v) ?? "?", at: at)
            }
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: s)
        return String(out)
    }

    private static let bases = ConfigDict(["a": .dict(ConfigDict(["b": .int(1)])), "x": .list([.int(1)])])

    /// Everything a user's text can reach, minus file access.
    private func read(_ text: String, as format: ConfigFormat) throws {
        let file = "fuzz"
        switch format {
        case .python, .json, .yaml:
            let (substituted, references) = BaseReferences.substitute(in: text, file: file)
            let raw: ConfigDict = switch format {
            case .python: try PythonConfigParser.parse(SourceText(substituted, file: file))
            case .json: try JSONConfigParser.parse(SourceText(substituted, file: file))
            default: try YAMLConfigReader.parse(substituted, file: file)
            }
            let resolved = try references.substitute(in: raw, bases: Self.bases)
            _ = try ConfigLoader.merge(resolved, into: Self.bases)
            _ = ConfigRenderer.yaml(resolved, origins: true)
        case .override, .inline:
            let d = try ConfigLoader.parse(string: text, format: format, origin: file)
            _ = try? ConfigLoader.merge(d, into: Self.bases, allowListKeys: true)
        }
    }

    func testReadersSurviveMutatedAndRandomInput() {
        var rng = SplitMix64(state: 0x5EED_C0F1)
        var outcomes: [ConfigFormat: (ok: Int, failed: Int)] = [:]
        for format in [ConfigFormat.python, .json, .yaml, .override, .inline] {
            for round in 0..<2000 {
                let text: String
                if round % 5 == 4 {
                    let length = Int.random(in: 0..<40, using: &rng)
                    text = (0..<length).map { _ in Self.fragments.randomElement(using: &rng) ?? "" }.joined()
                } else {
                    text = mutate(Self.seeds[format]?.randomElement(using: &rng) ?? "", &rng)
                }
                do {
                    try read(text, as: format)
                    outcomes[format, default: (0, 0)].ok += 1
                } catch is ConfigError {
                    outcomes[format, default: (0, 0)].failed += 1
                } catch {
                    XCTFail("\(format): a non-ConfigError \(error) for \(text.debugDescription)")
                }
            }
        }
        // Both paths were exercised, or the fuzzer is not testing what it claims.
        for (format, counts) in outcomes {
            XCTAssertGreaterThan(counts.ok, 20, "\(format)")
            XCTAssertGreaterThan(counts.failed, 20, "\(format)")
        }
    }

    // MARK: Round trips

    private func randomString(_ rng: inout SplitMix64) -> String {
        let alphabet = Array("aZ_ 09.-:#'\"\\{}[],&*!|>%@`~?\n\té😀".unicodeScalars)
            + ["\u{0}", "\u{7F}", "\u{85}", "\u{2028}", "\u{E000}", "\u{FFFE}", "\u{10FFFF}"]
        let words = ["yes", "null", "1e-3", "0x1", "True", "None", "<<", "-", "", ".inf", "0755"]
        if Int.random(in: 0..<4, using: &rng) == 0 { return words.randomElement(using: &rng) ?? "" }
        var s = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0..<8, using: &rng) { s.append(alphabet.randomElement(using: &rng) ?? "a") }
        return String(s)
    }

    private func randomValue(_ depth: Int, _ rng: inout SplitMix64) -> ConfigValue {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int([Int64.min, Int64.max, 0, -1, Int64.random(in: -1000...1000, using: &rng)].randomElement(using: &rng) ?? 0)
        case 3:
            let specials: [Double] = [0.1, 1e-8, 1e16, -2.5e-300, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, -.infinity, 3]
            return .float(Bool.random(using: &rng) ? specials.randomElement(using: &rng) ?? 0
                          : Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF) * (Bool.random(using: &rng) ? 1 : -1))
        case 4: return .string(randomString(&rng))
        case 5: return .list((0..<Int.random(in: 0..<4, using: &rng)).map { _ in randomValue(depth + 1, &rng) })
        default: return .dict(randomDict(depth + 1, &rng))
        }
    }

    private func randomDict(_ depth: Int, _ rng: inout SplitMix64) -> ConfigDict {
        var d = ConfigDict()
        for _ in 0..<Int.random(in: 0..<5, using: &rng) { d[randomString(&rng)] = randomValue(depth, &rng) }
        return d
    }

    /// Python source for a value, written the way a person might (dict(...) when keys allow).
    private func python(_ v: ConfigValue) -> String {
        switch v {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return i == .min ? "-9223372036854775808" : String(i)
        case .float(let d): return d.isInfinite ? (d < 0 ? "-1e999" : "1e999") : d.description
        case .string(let s):
            var out = "'"
            for c in s.unicodeScalars {
                switch c {
                case "'", "\\": out += "\\" + String(Character(c))
                case _ where c.value < 0x20 || c.value == 0x7F || c.value == 0xE000: out += "\\U" + String(c.value, radix: 16).leftPadded(to: 8)
                default: out.unicodeScalars.append(c)
                }
            }
            return out + "'"
        case .list(let l): return "[" + l.map(python).joined(separator: ", ") + (l.count == 1 ? ",]" : "]")
        case .dict(let d):
            let identifiers = d.keys.allSatisfy { k in
                guard let f = k.unicodeScalars.first, f.isIdentifierStart || f == "_" else { return false }
                return k.unicodeScalars.allSatisfy(\.isIdentifierContinue) && !["True", "False", "None", "if", "for", "in", "is", "or", "and", "not", "lambda"].contains(k)
            }
            if identifiers {
                return "dict(" + d.entries.map { "\($0.key)=\(python($0.value))" }.joined(separator: ", ") + ")"
            }
            return "{" + d.entries.map { "\(python(.string($0.key))): \(python($0.value))" }.joined(separator: ",\n  ") + "}"
        }
    }

    func testRenderedConfigsReadBackUnchanged() throws {
        var rng = SplitMix64(state: 42)
        for _ in 0..<300 {
            let config = randomDict(0, &rng)
            let yaml = ConfigRenderer.yaml(config, origins: Bool.random(using: &rng))
            XCTAssertEqual(try YAMLConfigReader.parse(yaml, file: "r.yaml"), config, yaml)
            let json = ConfigRenderer.json(config)
            XCTAssertEqual(try JSONConfigParser.parse(SourceText(json, file: "r.json")), config, json)

            var top = ConfigDict()
            for (i, e) in config.entries.enumerated() { top["k\(i)"] = .dict(ConfigDict([e.key: e.value])) }
            let source = top.entries.map { "\($0.key) = \(python($0.value))" }.joined(separator: "\n")
            XCTAssertEqual(try PythonConfigParser.parse(SourceText(source, file: "r.py")), top, source)
        }
    }
}
