import Foundation
import XCTest

@testable import Stepwise

/// The runner itself: what it reads, how it compares, what it reports and writes.
final class ConformRunnerTests: XCTestCase {
    static var runner: ConformanceRunner { ConformanceRunner(registry: ConformOptimizerTests.registry) }

    func golden(_ name: String) throws -> ConformanceCase {
        try ConformanceCase.load(ConformOptimizerTests.conformance.appendingPathComponent("optimizers/\(name).json").path)
    }

    func testReaderKeepsKeyOrderAndNumberText() throws {
        let v = try JSONValue.parse(#"{"z": 1, "a": [0.1, 1e-05, -2], "m": {"k": null, "b": true}, "s": "\u00e9\n"}"#)
        XCTAssertEqual(v.object?.map(\.0), ["z", "a", "m", "s"])
        XCTAssertEqual(v["a"]?.array?.compactMap { if case .number(let t) = $0 { t } else { nil } }, ["0.1", "1e-05", "-2"])
        XCTAssertEqual(v["a"]?.array?.first?.float, Float("0.1"))
        XCTAssertEqual(v["m"]?.object?.map(\.0), ["k", "b"])
        XCTAssertEqual(v["s"]?.string, "é\n")
        XCTAssertThrowsError(try JSONValue.parse(#"{"a": [1, 2}"#)) { XCTAssertTrue("\($0)".contains("line 1"), "\($0)") }
    }

    func testAnUnsupportedKindIsAFailure() {
        let c = ConformanceCase(path: "x.json", json: .object([
            ("format", .string("stepwise-conformance/1")), ("name", .string("x")), ("kind", .string("telepathy")),
            ("expected", .array([])),
        ]))
        let r = Self.runner.run(c)
        XCTAssertFalse(r.passed)
        XCTAssertTrue(r.line.contains("FAIL") && r.line.contains("unsupported kind 'telepathy'"), r.line)
    }

    func testAValueOutsideTheToleranceFails() throws {
        let c = try golden("adam_default")
        guard case .object(var entries) = c.json, let i = entries.firstIndex(where: { $0.0 == "expected" }),
              case .array(var steps) = entries[i].1, case .object(var first) = steps[0],
              case .array(var w) = first[0].1, let x = w[0].float else { return XCTFail("unexpected case layout") }
        w[0] = .float(x + 1e-3)
        first[0].1 = .array(w)
        steps[0] = .object(first)
        entries[i].1 = .array(steps)
        let r = Self.runner.run(ConformanceCase(path: c.path, json: .object(entries)))
        XCTAssertFalse(r.passed)
        XCTAssertGreaterThan(r.maxAbsError, 9e-4)
        XCTAssertTrue(r.message?.hasPrefix("[0].\(first[0].0)[0]") == true, r.message ?? "")
        XCTAssertTrue(Self.runner.run(c).passed)
    }

    /// Same keys in the same order and the same array lengths at every level.
    func sameShape(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.array(let x), .array(let y)): x.count == y.count && zip(x, y).allSatisfy(sameShape)
        case (.object(let x), .object(let y)): x.map(\.0) == y.map(\.0) && zip(x, y).allSatisfy { sameShape($0.1, $1.1) }
        case (.number, .number), (.bool, .bool), (.string, .string), (.null, .null): true
        default: false
        }
    }

    func testResultsHaveTheShapeOfExpectedAndAreWrittenUnderTheCaseFileName() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stepwise-results-\(UUID().uuidString)").path
        let results = try Self.runner.run(paths: [ConformOptimizerTests.conformance.appendingPathComponent("optimizers").path])
        try ConformanceRunner.writeResults(results, to: dir)
        for r in results {
            let c = try ConformanceCase.load(r.file)
            let written = try ConformanceCase.load((dir as NSString).appendingPathComponent(c.fileName))
            let expected = try XCTUnwrap(c.json["expected"])
            XCTAssertTrue(sameShape(written.json, expected), "\(c.fileName): written results differ in shape from expected")
            XCTAssertEqual(written.json, r.computed)
        }
        XCTAssertEqual(results.summaryLine, "\(results.count) passed, 0 failed")
    }
}
