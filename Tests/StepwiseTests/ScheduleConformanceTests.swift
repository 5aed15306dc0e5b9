import Foundation
import XCTest

@testable import Stepwise

/// Every golden schedule case of ../shared/conformance/schedules*/, through the same
/// runner as `stepwise conform`, one test per dialect.
final class ScheduleConformanceTests: XCTestCase {
    static var registry: PluginRegistry { ScheduleSupport.registry }

    static let conformanceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/conformance")

    /// Runs every case of a folder and reports each failing one with why.
    func runFolder(_ folder: String, minimum: Int) throws {
        let files = try ConformanceRunner.caseFiles([Self.conformanceRoot.appendingPathComponent(folder).path])
        XCTAssertGreaterThanOrEqual(files.count, minimum, "golden cases missing under \(folder)")
        let runner = ConformanceRunner(registry: Self.registry)
        var passed = 0
        for file in files {
            let c = try ConformanceCase.load(file)
            XCTAssertEqual(c.kind, "schedule", c.fileName)
            let result = runner.run(c)
            XCTAssertNotNil(result.computed, c.fileName)
            if result.passed { passed += 1 } else { XCTFail(result.line) }
        }
        XCTAssertEqual(passed, files.count, "\(folder): \(passed) of \(files.count) cases pass")
    }

    func testMMEngineCases() throws { try runFolder("schedules", minimum: 44) }
    func testTorchCases() throws { try runFolder("schedules-torch", minimum: 21) }
    func testMMCVCases() throws { try runFolder("schedules-mmcv", minimum: 27) }
    func testMindSporeCases() throws { try runFolder("schedules-mindspore", minimum: 30) }

    /// A wrong reference value is caught: the comparison is not vacuous.
    func testAMismatchFails() throws {
        let file = Self.conformanceRoot.appendingPathComponent("schedules/step_lr_epoch.json").path
        var text = try String(contentsOfFile: file, encoding: .utf8)
        text = text.replacingOccurrences(of: "0.025,0.025", with: "0.025,0.026")
        let c = ConformanceCase(path: "tampered.json", json: try JSONValue.parse(text))
        let result = ConformanceRunner(registry: Self.registry).run(c)
        XCTAssertFalse(result.passed)
        XCTAssertTrue(result.line.contains("want 0.026"), result.line)
    }
}
