import Foundation
import XCTest

@testable import Stepwise

/// Every golden case in conformance/wrappers/ (MMEngine 0.10.7 OptimWrapper and
/// AmpOptimWrapper runs) through the bundled wrapper plugin.
final class WrapperConformanceTests: XCTestCase {
    static let registry = PluginRegistry.load(.init(includeEnvironment: false))

    static var goldenFolder: URL {
        if let dir = ProcessInfo.processInfo.environment["STEPWISE_CONFORMANCE"] {
            return URL(fileURLWithPath: dir).appendingPathComponent("wrappers")
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/conformance/wrappers")
    }

    func testEveryGoldenWrapperCase() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.goldenFolder.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 16, "golden wrapper cases missing in \(Self.goldenFolder.path)")
        var unavailable: [String] = []
        var ran = 0
        for file in files {
            let c = try WrapperConformance.load(Self.goldenFolder.appendingPathComponent(file).path)
            XCTAssertEqual(c["kind"]?.string, WrapperConformance.kind, file)
            let optimizer = c["optim_wrapper"]?.dict?["optimizer"]?.dict?["type"]?.string ?? "?"
            if (try? Self.registry.component(.optimizer, type: optimizer)) == nil {
                unavailable.append("\(file) (\(optimizer))")
                continue
            }
            let failures = try WrapperConformance.run(c, registry: Self.registry)
            XCTAssertTrue(failures.isEmpty, "\(file):\n" + failures.prefix(8).joined(separator: "\n"))
            ran += 1
        }
        XCTAssertGreaterThan(ran, 0)
        if !unavailable.isEmpty {
            throw XCTSkip("\(ran) cases passed; optimizers not registered yet for: \(unavailable.joined(separator: ", "))")
        }
    }
}
