import Foundation
import XCTest

@testable import Stepwise

/// Every golden case in conformance/wrappers/ (MMEngine 0.10.7 OptimWrapper and
/// AmpOptimWrapper runs) through the conformance runner and the bundled wrapper plugin.
final class WrapperConformanceTests: XCTestCase {
    static var goldenFolder: String {
        if let dir = ProcessInfo.processInfo.environment["STEPWISE_CONFORMANCE"] {
            return URL(fileURLWithPath: dir).appendingPathComponent("wrappers").path
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/conformance/wrappers").path
    }

    func testEveryGoldenWrapperCasePasses() throws {
        let runner = ConformanceRunner(registry: WrapperFixtures.registry)
        XCTAssertNotNil(runner.kinds["optim_wrapper"], "the optim_wrapper kind is registered with the runner")
        let results = try runner.run(paths: [Self.goldenFolder])
        XCTAssertGreaterThanOrEqual(results.count, 16, "golden wrapper cases missing in \(Self.goldenFolder)")
        for r in results {
            XCTAssertTrue(r.passed, r.line)
        }
    }

    /// The comparison is not vacuous: a wrong learning rate, a missing overflow skip and a
    /// wrong loss scale each fail the case they touch.
    func testAWrongWrapperFailsItsCase() throws {
        let runner = ConformanceRunner(registry: WrapperFixtures.registry, kinds: [WrapperConformance()])
        let original = try ConformanceCase.load(URL(fileURLWithPath: Self.goldenFolder).appendingPathComponent("amp_dynamic_default_overflow.json").path)
        XCTAssertTrue(runner.run(original).passed)
        let edits: [(String, String, String)] = [
            ("\"lr\":0.05", "\"lr\":0.06", "params"),
            ("\"loss_scale\":\"dynamic\"", "\"loss_scale\":{\"init_scale\":65536.0,\"backoff_factor\":0.25}", "loss_scale"),
            ("\"type\":\"AmpOptimWrapper\"", "\"type\":\"OptimWrapper\",\"nonfinite\":\"ignore\"", ""),
        ]
        let text = original.json.render()
        for (from, to, field) in edits {
            XCTAssertTrue(text.contains(from), from)
            let edited = try ConformanceCase(path: original.path, json: JSONValue.parse(text.replacingOccurrences(of: from, with: to)))
            let result = runner.run(edited)
            XCTAssertFalse(result.passed, "\(to) should fail")
            if !field.isEmpty { XCTAssertTrue(result.message?.contains(field) ?? false, result.line) }
        }
    }
}
