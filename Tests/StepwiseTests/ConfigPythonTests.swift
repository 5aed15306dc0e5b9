import XCTest
@testable import Stepwise

/// The `.py` reader: every literal form it accepts, and every construct it refuses,
/// with the line and column it points at (arithmetic and names: ConfigPythonArithmeticTests).
final class ConfigPythonTests: XCTestCase {
    private func parse(_ text: String, file: String = "config.py") throws -> ConfigDict {
        try ConfigLoader.parse(string: text, format: .python, origin: file)
    }

    private func value(_ expression: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigValue? {
        do {
            return try parse("x = \(expression)\n")["x"]
        } catch {
            XCTFail("\(expression): \(error)", file: file, line: line)
            return nil
        }
    }

    func testLiteralForms() {
        let table: [(String, ConfigValue)] = [
            // ints
            ("1", .int(1)), ("0", .int(0)), ("1_000", .int(1000)), ("0x1F", .int(31)), ("0X_ff", .int(255)),
            ("0o17", .int(15)), ("0b101", .int(5)), ("-5", .int(-5)), ("- -5", .int(5)), ("+3", .int(3)),
            ("9223372036854775807", .int(.max)), ("-9223372036854775808", .int(.min)), ("00", .int(0)),
            // floats
            ("1e-3", .float(0.001)), (".5", .float(0.5)), ("5.", .float(5)), ("1E3", .float(1000)),
            ("1_0.2_5e1_0", .float(10.25e10)), ("-1.5", .float(-1.5)), ("0.0", .float(0)), ("1e400", .float(.infinity)),
            ("-(2.5)", .float(-2.5)),
            // strings in every quote form
            ("'a'", .string("a")), ("\"a\"", .string("a")), ("'''a\nb'''", .string("a\nb")),
            ("\"\"\"x \"y\" z\"\"\"", .string("x \"y\" z")), ("''", .string("")),
            ("r'\\d+\\.'", .string("\\d+\\.")), ("R\"\\n\"", .string("\\n")), ("r'\\''", .string("\\'")),
            ("u'x'", .string("x")), ("'\\t\\n\\\\\\'\\\"'", .string("\t\n\\'\"")),
            ("'\\x41\\u00e9\\U0001F600\\101\\0'", .string("Aé😀A\0")), ("'\\q'", .string("\\q")),
            ("'a' \"b\" '''c'''", .string("abc")), ("('a'\n  'b')", .string("ab")), ("'ab\\\ncd'", .string("abcd")),
            ("'''l1\\\nl2'''", .string("l1l2")), ("'é😀'", .string("é😀")),
            // constants
            ("True", .bool(true)), ("False", .bool(false)), ("None", .null),
            // containers
            ("[1, 'a', None]", .list([.int(1), .string("a"), .null])), ("[1, 2,]", .list([.int(1), .int(2)])),
            ("[]", .list([])), ("[[1], [2, [3]]]", .list([.list([.int(1)]), .list([.int(2), .list([.int(3)])])])),
            ("(1, 2)", .list([.int(1), .int(2)])), ("(1,)", .list([.int(1)])), ("()", .list([])), ("(1)", .int(1)),
            ("1, 2", .list([.int(1), .int(2)])), ("1,", .list([.int(1)])),
            ("[\n  1,  # one\n  2\n]", .list([.int(1), .int(2)])),
            ("dict()", .dict(ConfigDict())), ("{}", .dict(ConfigDict())),
            ("dict(a=1, b=dict(c=2),)", .dict(ConfigDict(["a": .int(1), "b": .dict(ConfigDict(["c": .int(2)]))]))),
            ("{'a': 1, \"b\": [2],}", .dict(ConfigDict(["a": .int(1), "b": .list([.int(2)])]))),
            ("{'a': 1, 'b': 2, 'a': 3}", .dict(ConfigDict(["a": .int(3), "b": .int(2)]))),
            ("{'a' 'b': 1}", .dict(ConfigDict(["ab": .int(1)]))),
            ("\\\n  dict(type='Adam',\n       lr=1e-3)", .dict(ConfigDict(["type": .string("Adam"), "lr": .float(0.001)]))),
        ]
        for (source, expected) in table {
            XCTAssertEqual(value(source), expected, source)
        }
    }

    func testStatementsOrderAndOrigins() throws {
        let text = """
            \"\"\"A docstring is allowed.\"\"\"
            # a comment
            b = 1; a = 2  # two statements
            optimizer = dict(
                type='SGD',
                lr=0.1)

            c = {'k': 1}
            b = 3
            """
        let config = try parse(text)
        XCTAssertEqual(config.keys, ["b", "a", "optimizer", "c"], "reassignment keeps the first position")
        XCTAssertEqual(config["b"], .int(3))
        XCTAssertEqual(config.origin(of: "b"), ConfigOrigin(file: "config.py", line: 9, column: 1))
        XCTAssertEqual(config.origin(of: "a"), ConfigOrigin(file: "config.py", line: 3, column: 8))
        let optimizer = try XCTUnwrap(config["optimizer"]?.dict)
        XCTAssertEqual(optimizer.origin(of: "lr"), ConfigOrigin(file: "config.py", line: 6, column: 5))
        XCTAssertEqual(config["c"]?.dict?.origin(of: "k"), ConfigOrigin(file: "config.py", line: 8, column: 6))
        XCTAssertEqual(config.origin, ConfigOrigin(file: "config.py"))
    }

    func testCRLFAndBOM() throws {
        let config = try parse("\u{FEFF}a = 1\r\nb = [1,\r\n  2]\r\nc = 'x'\r")
        XCTAssertEqual(config["b"], .list([.int(1), .int(2)]))
        XCTAssertEqual(config.origin(of: "c")?.line, 4)
    }

    /// (source, line, column, message) — the message must match exactly.
    static let refusals: [(String, Int, Int, String)] = [
        ("import os", 1, 1, "unsupported Python: import"),
        ("a = 1\nfrom x import y", 2, 1, "unsupported Python: import"),
        ("steps = range(10)", 1, 9, "unsupported Python: function call 'range'"),
        ("print(1)", 1, 1, "unsupported Python: function call 'print'"),
        ("a = [i for i in x]", 1, 5, "unsupported Python: comprehension"),
        ("a = {k: 1 for k in x}", 1, 5, "unsupported Python: comprehension"),
        ("a = dict(x for x in y)", 1, 9, "unsupported Python: comprehension"),
        ("a = os.path", 1, 5, "unsupported Python: attribute access 'os.path'"),
        ("a = _base_.lr", 1, 5, "unsupported Python: attribute access '_base_.lr'; write {{_base_.lr}} to use a value from a base config"),
        ("a = x[0]", 1, 5, "unsupported Python: subscript 'x[...]'"),
        ("a = [1][0]", 1, 8, "unsupported Python: subscript"),
        ("a = 'x'.upper()", 1, 8, "unsupported Python: attribute access"),
        ("def f():\n    pass", 1, 1, "unsupported Python: 'def' statement"),
        ("class A: pass", 1, 1, "unsupported Python: 'class' statement"),
        ("if True:\n    a = 1", 1, 1, "unsupported Python: 'if' statement"),
        ("a = lambda: 1", 1, 5, "unsupported Python: lambda"),
        ("a = 1 if b else 2", 1, 7, "unsupported Python: conditional expression"),
        ("a = not True", 1, 5, "unsupported Python: boolean operator 'not'"),
        ("a = True and False", 1, 10, "unsupported Python: boolean operator 'and'"),
        ("a = 1 < 2", 1, 7, "unsupported Python: comparison '<'"),
        ("a = 1 in [1]", 1, 7, "unsupported Python: comparison 'in'"),
        ("a = {1, 2}", 1, 5, "unsupported Python: set literal"),
        ("a = {1: 2}", 1, 6, "unsupported Python: dict key must be a string, not an int"),
        ("a = dict(1)", 1, 10, "unsupported Python: positional argument to dict() (use keyword arguments: dict(key=value))"),
        ("a = [*b]", 1, 6, "unsupported Python: '*' unpacking"),
        ("a = f'{x}'", 1, 5, "unsupported Python: f-string"),
        ("a = b'x'", 1, 5, "unsupported Python: bytes literal"),
        ("a = 1j", 1, 5, "unsupported Python: complex number literal"),
        ("a = ...", 1, 5, "unsupported Python: Ellipsis"),
        ("a = -'x'", 1, 5, "unsupported Python: unary '-' on a string"),
        ("a = -True", 1, 5, "unsupported Python: unary '-' on a bool"),
        ("a += 1", 1, 3, "unsupported Python: augmented assignment '+='"),
        ("a: int = 1", 1, 2, "unsupported Python: annotated assignment"),
        ("a, b = 1, 2", 1, 2, "unsupported Python: tuple unpacking"),
        ("a = b = 1", 1, 5, "unsupported Python: chained assignment"),
        ("a.b = 1", 1, 1, "unsupported Python: attribute access 'a.b'"),
        ("1 + 1", 1, 1, "unsupported Python: expression statement (a config holds only 'name = value' lines)"),
        ("1 | 1", 1, 3, "unsupported Python: arithmetic operator '|'"),
        ("42", 1, 1, "unsupported Python: expression statement (a config holds only 'name = value' lines)"),
        ("a = (x := 1)", 1, 8, "unsupported Python: assignment expression ':='"),
        ("a = '\\N{DASH}'", 1, 6, "unsupported Python: \\N{...} escape; write the character itself or use \\u"),
        ("optimizer = dict(\n    type='SGD',\n    lr=get_lr(0.1),\n)", 3, 8, "unsupported Python: function call 'get_lr'"),
        ("a = [\n    1,\n    2 @ 3,\n]", 3, 7, "unsupported Python: arithmetic operator '@'"),
    ]

    static let syntaxErrors: [(String, Int, Int, String)] = [
        ("a = (1, 2", 1, 5, "'(' was never closed"),
        ("a = [1, 2)", 1, 10, "closing ')' does not match opening '['"),
        ("a = 1)", 1, 6, "unmatched ')'"),
        ("a = 'abc", 1, 5, "unterminated string literal"),
        ("a = '''abc", 1, 5, "unterminated triple-quoted string literal"),
        ("a = 'ab\nc'", 1, 5, "unterminated string literal"),
        ("  a = 1", 1, 3, "unexpected indentation: config statements start at column 1"),
        ("a = 1\n    b = 2", 2, 5, "unexpected indentation: config statements start at column 1"),
        ("a = 007", 1, 5, "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers"),
        ("a = 1__0", 1, 5, "invalid decimal literal"),
        ("a = 0x", 1, 5, "invalid hexadecimal literal"),
        ("a = 1abc", 1, 5, "invalid number literal: 'a' after the digits"),
        ("a = 99999999999999999999", 1, 5, "integer literal does not fit in 64 bits"),
        ("a = 9223372036854775808", 1, 5, "integer literal does not fit in 64 bits"),
        ("a = dict(x=1, x=2)", 1, 15, "keyword argument repeated: 'x'"),
        ("a = dict(if=1)", 1, 10, "'if' is a Python keyword and cannot be an argument name"),
        ("a = [1 2]", 1, 8, "expected ',' or ']', found a number (missing comma?)"),
        ("a = 1 2", 1, 7, "expected end of line, found a number (missing comma?)"),
        ("a = 1 $", 1, 7, "invalid character '$'"),
        ("a = \\ 1", 1, 5, "unexpected character after line continuation character"),
        ("a = '\\x4'", 1, 6, "truncated \\x escape (expected 2 hex digits)"),
        ("a =", 1, 4, "expected a value, found end of line"),
        ("True = 1", 1, 1, "cannot assign to 'True'"),
    ]

    func testRefusalsPointAtLineAndColumn() {
        for (source, line, column, message) in Self.refusals + Self.syntaxErrors {
            XCTAssertThrowsError(try parse(source), source) { error in
                guard let e = error as? ConfigError else { return XCTFail("\(source): \(error)") }
                XCTAssertEqual(e.message, message, source)
                XCTAssertEqual(e.file, "config.py", source)
                XCTAssertEqual(e.line, line, "line of: \(source)")
                XCTAssertEqual(e.column, column, "column of: \(source)")
            }
        }
    }

    func testRefusalKinds() throws {
        for (source, _, _, _) in Self.refusals {
            XCTAssertThrowsError(try parse(source)) { XCTAssertEqual(($0 as? ConfigError)?.kind, .unsupported, source) }
        }
        for (source, _, _, _) in Self.syntaxErrors {
            XCTAssertThrowsError(try parse(source)) { XCTAssertEqual(($0 as? ConfigError)?.kind, .syntax, source) }
        }
    }

    func testErrorPrintsAsFileLineColumn() {
        let text = String(repeating: "a = 1\n", count: 11) + "steps = range(10)\n"
        XCTAssertThrowsError(try parse(text)) { error in
            XCTAssertEqual("\(error)", "config.py:12:9: unsupported Python: function call 'range'")
            XCTAssertEqual(error.localizedDescription, "config.py:12:9: unsupported Python: function call 'range'")
        }
    }

    func testDunderKeysAreDropped() throws {
        let config = try parse("__all__ = ['a']\n_private = 1\na = 2\n")
        XCTAssertEqual(config.keys, ["_private", "a"], "MMEngine drops only '__' names")
    }
}
