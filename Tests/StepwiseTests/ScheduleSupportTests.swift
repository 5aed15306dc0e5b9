import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// Helpers the schedule tests share: the registry, and compiling C files into shared
/// libraries.
enum ScheduleSupport {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Compiles `source` (C) into a shared library in a fresh temporary folder.
    static func compile(_ source: String, name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stepwise-sched-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let c = dir.appendingPathComponent("\(name).c"), so = dir.appendingPathComponent("lib\(name).so")
        try source.write(to: c, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["cc", "-std=c11", "-O1", "-shared", "-fPIC", "-I", packageRoot.appendingPathComponent("sdk/include").path,
                       c.path, "-o", so.path]
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw StepwiseError.plugin("cc failed: " + String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        return so.path
    }

    /// The bundled plugins (the environment's plugin path ignored).
    static let registry = PluginRegistry.load(.init(includeEnvironment: false))
}

final class ScheduleSupportTests: XCTestCase {
    func testRegistryKnowsAdamMomentumAsBetasZero() throws {
        let adam = try ScheduleSupport.registry.component(.optimizer, type: "Adam")
        let groups = ResolvedGroupValues(groups: [try adam.resolve(ConfigDict(["type": .string("Adam"), "betas": .list([.float(0.8), .float(0.99)])]))])
        let momentum = try XCTUnwrap(groups.slot(role: STEPWISE_ROLE_MOMENTUM))
        XCTAssertEqual(momentum.key, "momentum")
        XCTAssertEqual(groups.value(momentum, group: 0), 0.8)
        groups.setValue(momentum, group: 0, 0.7)
        XCTAssertEqual(groups.groups[0]["betas"], .list([.float(0.7), .float(0.99)]))
        XCTAssertEqual(try groups.slot(named: "betas[1]").map { groups.value($0, group: 0) }, 0.99)
    }
}
