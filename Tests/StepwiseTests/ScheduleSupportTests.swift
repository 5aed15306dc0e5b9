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

/// `stepwise schedule` simulates configs as users write them, constructor keys included.
final class ScheduleShippedConfigTests: XCTestCase {
    func testTheSimCLRExampleWithParamwiseOptionsInItsOptimizerSimulates() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("configs/examples/simclr_resnet50_16xb256-lars-coslr-200e_in1k.py").path
        let document = try ConfigLoader.load(path: path)
        XCTAssertNotNil(document["optimizer"]?.dict?["paramwise_options"], "the example changed shape")
        let simulation = try ScheduleSimulation(registry: PluginRegistry.load(.init(includeEnvironment: false)),
                                                document: document, loop: ScheduleLoopShape(epochs: 3, itersPerEpoch: 2))
        try simulation.start()
        let trace = try simulation.run()
        XCTAssertFalse(trace.csv().isEmpty)
    }
}
