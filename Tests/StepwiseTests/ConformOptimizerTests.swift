import Foundation
import XCTest

@testable import Stepwise

/// Every optimizer golden case of shared/conformance/optimizers passes through the
/// conformance runner (what `stepwise conform` runs).
final class ConformOptimizerTests: XCTestCase {
    static let registry = PluginRegistry.load(.init(includeEnvironment: false))

    /// shared/conformance, found from this file: <root>/Tests/StepwiseTests/<file> and
    /// <root>/../shared/conformance.
    static let conformance = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/conformance")

    func testEveryOptimizerGoldenCasePasses() throws {
        let folder = Self.conformance.appendingPathComponent("optimizers").path
        let results = try ConformanceRunner(registry: Self.registry).run(paths: [folder])
        XCTAssertGreaterThanOrEqual(results.count, 48, "expected the 48 optimizer cases in \(folder)")
        for r in results {
            print(r.line)
            XCTAssertTrue(r.passed, r.line)
        }
        print(results.summaryLine)
    }
}
