import XCTest

@testable import Stepwise

/// `stepwise bench optimizers` measures what it claims: every elementwise optimizer the
/// bundled plugin registers has a subject with the bytes its step must move, and a short
/// run yields one finite measurement per subject and layout, against a bandwidth probed
/// in the same run. (Speed itself is for the bench to report, not for a test to assert.)
final class OptimizerBenchTests: XCTestCase {
    static let registry = PluginRegistry.load(.init(includeEnvironment: false))

    func testEveryBundledOptimizerButTheClosureOneIsBenchmarked() {
        let registered = Set(Self.registry.components(kind: .optimizer).filter { $0.plugin.id == "stepwise" }.map(\.typeName))
        let benchmarked = Set(OptimizerBench.subjects.map(\.type))
        XCTAssertEqual(registered.subtracting(benchmarked), ["LBFGS"])
        XCTAssertTrue(benchmarked.isSubset(of: registered))
        XCTAssertTrue(OptimizerBench.subjects.allSatisfy { $0.bytesPerParam >= 12 })
    }

    func testAShortRunMeasuresEverySubjectOnEveryLayout() throws {
        var bench = OptimizerBench()
        bench.layouts = [.single("64K", 1 << 16), try XCTUnwrap(OptimizerBench.Layout.named("16x1000"))]
        bench.subjects = OptimizerBench.subjects.filter { ["SGD", "Adam", "LAMB"].contains($0.type) }
        bench.minSeconds = 0.001
        let measurements = try bench.run(registry: Self.registry)
        XCTAssertEqual(measurements.count, bench.subjects.count * 2)
        for m in measurements {
            XCTAssertTrue(m.seconds > 0 && m.nsPerParam.isFinite, "\(m.label) \(m.layout)")
            XCTAssertTrue(m.bandwidth > 0 && m.fraction > 0, "\(m.label) \(m.layout)")
        }
        XCTAssertEqual(Set(measurements.map(\.tensors)), [1, 16])
    }
}
