import XCTest
@testable import StepwiseModels

/// The re-exec decision, table-driven. The exec itself is not run in tests (it would
/// replace the test process).
final class OpenBLASTuningTests: XCTestCase {
    static let avx512: Set<String> = ["sse2", "avx2", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]

    func testPlanTable() {
        typealias Plan = OpenBLASTuning.Plan
        let marker = OpenBLASTuning.markerVariable
        let rows: [(env: [String: String], flags: Set<String>, core: String, threads: Int?, expected: Plan, why: String)] = [
            ([:], Self.avx512, "Haswell", 1,
             .reexec(setting: ["OPENBLAS_CORETYPE": "SkylakeX", "OPENBLAS_NUM_THREADS": "1", marker: "1"]),
             "misdetected AVX-512 CPU"),
            (["OPENBLAS_NUM_THREADS": "2"], Self.avx512, "Haswell", 1,
             .reexec(setting: ["OPENBLAS_CORETYPE": "SkylakeX", marker: "1"]),
             "the user's thread count stays"),
            ([:], Self.avx512, "Haswell", nil,
             .reexec(setting: ["OPENBLAS_CORETYPE": "SkylakeX", marker: "1"]),
             "no thread preference"),
            (["OPENBLAS_CORETYPE": "Haswell"], Self.avx512, "Haswell", 1,
             .keep(.userChoice(coreType: "Haswell")), "user's choice"),
            ([marker: "1", "OPENBLAS_CORETYPE": "SkylakeX"], Self.avx512, "Haswell", 1,
             .keep(.alreadyReexecuted), "never twice"),
            ([:], ["sse2", "avx2", "avx512f"], "Haswell", 1, .keep(.noAVX512), "partial AVX-512"),
            ([:], Self.avx512, "SkylakeX", 1, .keep(.alreadyOptimal(core: "SkylakeX")), "already right"),
            ([:], Self.avx512, "Cooperlake", 1, .keep(.alreadyOptimal(core: "Cooperlake")), "newer AVX-512 core"),
        ]
        for row in rows {
            let plan = OpenBLASTuning.plan(environment: row.env, cpuFlags: row.flags, currentCore: row.core,
                                           coreType: "SkylakeX", threads: row.threads)
            XCTAssertEqual(plan, row.expected, row.why)
        }
    }

    func testIntrospectionAnswers() {
        XCTAssertFalse(OpenBLASTuning.coreName.isEmpty)
        XCTAssertTrue(OpenBLASTuning.config.contains("OpenBLAS"), OpenBLASTuning.config)
        XCTAssertGreaterThanOrEqual(OpenBLASTuning.threadCount, 1)
        XCTAssertTrue(OpenBLASTuning.cpuFlags().contains("sse2"), "could not read /proc/cpuinfo flags")
    }

    func testBenchmarkReportsWork() {
        let result = SGEMMBenchmark.run(m: 16, n: 8, k: 8, seconds: 0.001)
        XCTAssertGreaterThan(result.gflops, 0)
        XCTAssertGreaterThanOrEqual(result.gflops, result.meanGFLOPs)
        XCTAssertTrue(result.description.hasPrefix("sgemm 16x8x8 float32:"), result.description)
    }
}
