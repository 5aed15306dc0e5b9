import Foundation
import XCTest

@testable import Stepwise

/// Every golden schedule case of ../shared/conformance/schedules*/, one test per dialect.
final class ScheduleConformanceTests: XCTestCase {
    static var registry: PluginRegistry { ScheduleSupport.registry }

    static let conformanceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/conformance")

    static func cases(_ folder: String) throws -> [URL] {
        let dir = conformanceRoot.appendingPathComponent(folder)
        return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Runs every case of a folder and reports each failing one with its first mismatches.
    func runFolder(_ folder: String, minimum: Int) throws {
        let files = try Self.cases(folder)
        XCTAssertGreaterThanOrEqual(files.count, minimum, "golden cases missing under \(folder)")
        var passed = 0, skipped: [String] = []
        for file in files {
            let json = try ConfigLoader.load(path: file.path)
            XCTAssertEqual(json["kind"]?.string, ScheduleConformance.kind, file.lastPathComponent)
            // A case whose optimizer no loaded plugin provides yet is reported, not failed:
            // the optimizer plugins are built separately from the schedulers.
            if let type = json["optimizer"]?.dict?["type"]?.string,
               (try? Self.registry.component(.optimizer, type: type)) == nil {
                skipped.append("\(file.lastPathComponent) (\(type))")
                continue
            }
            do {
                let result = try ScheduleConformance.run(json, registry: Self.registry)
                XCTAssertGreaterThan(result.checked, 0, "\(file.lastPathComponent) compared nothing")
                if result.passed { passed += 1 } else {
                    XCTFail("\(file.lastPathComponent):\n  " + result.mismatches.joined(separator: "\n  "))
                }
            } catch {
                XCTFail("\(file.lastPathComponent): \(error)")
            }
        }
        XCTAssertEqual(passed + skipped.count, files.count, "\(folder): \(passed) of \(files.count) cases pass")
        if !skipped.isEmpty {
            print("\(folder): \(skipped.count) cases wait for their optimizer plugin: \(skipped.joined(separator: ", "))")
        }
    }

    func testMMEngineCases() throws { try runFolder("schedules", minimum: 44) }
    func testTorchCases() throws { try runFolder("schedules-torch", minimum: 21) }
    func testMMCVCases() throws { try runFolder("schedules-mmcv", minimum: 27) }
    func testMindSporeCases() throws { try runFolder("schedules-mindspore", minimum: 30) }
}
