import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// Runs the validator the way `stepwise validate` does: every check in a child process of
/// the `stepwise` executable, which `swift test` builds beside the test binary.
enum ValidatorHarness {
    static let binDir = ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
        .split(separator: "/").dropLast().joined(separator: "/").prepending("/")
    static let executable = binDir + "/stepwise"
    static let fixture = PluginBuilder.root.appendingPathComponent("Tests/Fixtures/faulty-plugins/toy.c").path
    static let folder = PluginBuilder.folder()

    /// The fixture compiled with one fault switched on (or none).
    static func build(fault: String?) throws -> String {
        try PluginBuilder.build(sourcePath: fixture, into: folder, name: "libtoy-\(fault ?? "good").so",
                                defines: fault.map { ["FAULT_" + $0] } ?? [])
    }

    static func validate(_ paths: [String], strictness: Int = 10, only: Set<String>? = nil,
                         timeout: Double = 120) throws -> ValidationReport {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw StepwiseError.io("no stepwise executable at \(executable); `swift build` builds it")
        }
        var options = ValidationOptions(strictness: strictness, childCommand: [executable, "validate"])
        options.only = only
        options.timeout = timeout
        return PluginValidator(options: options).validate(paths)
    }
}

extension String {
    fileprivate func prepending(_ s: String) -> String { s + self }
}

final class ValidatorTests: XCTestCase {
    /// The plain fixture passes every check that applies, at the highest strictness:
    /// the checks do not cry wolf, and none is skipped for lack of support.
    func testWellBehavedFixturePassesEveryCheckAtStrictness10() throws {
        let report = try ValidatorHarness.validate([try ValidatorHarness.build(fault: nil)])
        XCTAssertEqual(report.failed, 0, report.text(showPassed: false))
        XCTAssertEqual(report.skipped, 0, report.text(showPassed: false))
        for check in ValidationCheck.all {
            XCTAssertTrue(report.results.contains { $0.check == check.name && $0.status == .passed }, "\(check) never ran")
        }
        XCTAssertEqual(report.results.count, 3 + 12 + 9 + 10 + 9, "plugin checks + optimizer + scheduler + wrapper + hook")
    }

    /// Each fault breaks one rule; the validator names the check that catches it, says
    /// why, and survives crashes, hangs and runaway allocations in the plugin.
    func testEachFaultyPluginIsCaughtByTheRightCheck() throws {
        let cases: [(fault: String, component: String?, check: ValidationCheck, expect: String)] = [
            ("SEGV_IN_STEP", "optimizer:Toy", .deterministic, "crashed with SIGSEGV"),
            ("OVERFLOW_IN_CREATE", "optimizer:Toy", .defaultsAccepted, "crashed with SIG"),  // abort or segfault: wherever the heap notices
            ("OUT_PARAM_OVERFLOW", "optimizer:Toy", .defaultsAccepted, "create wrote outside the out-parameters"),
            ("DEFAULTS_REFUSED", "optimizer:Toy", .defaultsAccepted, "Toy refuses everything"),
            ("NONDETERMINISTIC", "optimizer:Toy", .deterministic, "the second run differs from the first"),
            ("SHARED_STATE", "optimizer:Toy", .instancesIndependent, "they share state"),
            ("DIVERGES", "optimizer:Toy", .converges, "no learning rate took the toy quadratic's loss below 1%"),
            ("GRAD_WRITE", "optimizer:Toy", .stepContract, "changed the gradient of 'layer.weight'"),
            ("WRITE_PAST_END", "optimizer:Toy", .stepContract, "wrote past the end of the data of 'layer.weight'"),
            ("TOUCHES_NO_GRAD", "optimizer:Toy", .stepContract, "changed 'frozen' or its state, which had no gradient"),
            ("SAVE_NOT_REPRODUCIBLE", "optimizer:Toy", .stateRoundTrip, "save → load → save is not byte-identical"),
            ("LOAD_IGNORES_STATE", "optimizer:Toy", .stateRoundTrip, "save → load → save is not byte-identical"),
            ("CHUNKED_LOAD", "optimizer:Toy", .stateChunked, "Toy: not a Toy state of version 1"),
            ("CHUNKED_SAVE", "optimizer:Toy", .stateChunked, "save_state writes different bytes when the stream takes one byte per call"),
            ("ACCEPTS_GARBAGE", "optimizer:Toy", .stateInvalid, "load_state accepted an empty state"),
            ("HUGE_ALLOC_ON_LOAD", "optimizer:Toy", .stateInvalid, "crashed with SIGSEGV"),
            ("PARTIAL_LOAD", "optimizer:Toy", .stateInvalid, "changed the instance's state"),
            ("NON_FINITE_APPLIED", "optimizer:Toy", .nonFinite, "a NaN gradient in 'layer.weight' got status 0"),
            ("INF_NOT_CHECKED", "optimizer:Toy", .nonFinite, "a +inf gradient in 'layer.bias' got status 0"),
            ("CREATE_REFUSES_VALID", "optimizer:Toy", .validValuesAccepted, "Toy: lr above 0.5 is not supported"),
            ("SLOW_SCAN", nil, .scanTime, "(limit 100 ms)"),
            ("STRUCT_SIZE", nil, .descriptorConsistency, "optimizer 'Toy' declares struct_size"),
            ("BAD_DEFAULT", nil, .descriptorConsistency, "the loader refuses it: 'Toy' hyperparameter 'lr': its default is invalid"),
            ("SCHED_NONDETERMINISTIC", "scheduler:ToyStep", .deterministic, "the second run differs from the first"),
            ("SCHED_LOAD_DROPS_COUNT", "scheduler:ToyStep", .stateRoundTrip, "save → load → save is not byte-identical"),
            ("WRAPPER_NAN_NORM", "wrapper:ToyAccum", .nonFinite, "reported a non-finite grad_norm"),
            ("HOOK_TRAILING", "hook:ToyCounter", .stateInvalid, "load_state accepted a valid state followed by a zero byte"),
            ("HANG_IN_STEP", "optimizer:Toy", .deterministic, "did not finish within 5 s"),
        ]
        for c in cases {
            let plugin = try ValidatorHarness.build(fault: c.fault)
            let report = try ValidatorHarness.validate([plugin], only: [c.check.name], timeout: c.fault.hasPrefix("HANG") ? 5 : 120)
            guard let result = report.result(c.check, component: c.component) else {
                XCTFail("\(c.fault): no \(c.check) result for \(c.component ?? "the plugin"):\n\(report.text())")
                continue
            }
            XCTAssertEqual(result.status, .failed, "\(c.fault): \(result.detail)")
            XCTAssertTrue(result.detail.contains(c.expect), "\(c.fault): expected '\(c.expect)' in:\n\(result.detail)")
        }
    }

    /// A crash is one failed check: the rest of the plugin is still validated, and the
    /// checks that never step pass.
    func testACrashingStepFailsOnlyTheChecksThatStep() throws {
        let report = try ValidatorHarness.validate([try ValidatorHarness.build(fault: "SEGV_IN_STEP")], strictness: 6)
        let failed = Set(report.results.filter { $0.status == .failed }.map(\.check))
        XCTAssertTrue(failed.isSuperset(of: ["deterministic", "step-contract", "converges", "state-round-trip", "non-finite"]), "\(failed)")
        for check in [ValidationCheck.scanTime, .descriptorConsistency, .typeNames] {
            XCTAssertEqual(report.result(check)?.status, .passed, check.name)
        }
        for check in [ValidationCheck.defaultsAccepted, .badValuesRejected] {
            XCTAssertEqual(report.result(check, component: "optimizer:Toy")?.status, .passed, check.name)
        }
        XCTAssertEqual(report.result(.deterministic, component: "scheduler:ToyStep")?.status, .passed)
    }

    /// What ships with Stepwise passes the validator at its highest strictness.
    func testEveryBundledPluginPassesAtStrictness10() throws {
        let bundled = try FileManager.default.contentsOfDirectory(atPath: ValidatorHarness.binDir)
            .filter { $0.hasPrefix("libStepwisePlugin") && $0.hasSuffix(".so") }.sorted()
            .map { ValidatorHarness.binDir + "/" + $0 }
        XCTAssertGreaterThanOrEqual(bundled.count, 3, "the bundled plugins are built beside the tests")
        let report = try ValidatorHarness.validate(bundled)
        XCTAssertEqual(report.failed, 0, report.text(showPassed: false))
        XCTAssertGreaterThan(report.passed, 3 * bundled.count)
    }

    /// The command line: one line per check, the closing `N passed, M failed` line, a
    /// non-zero exit when something failed, and JSON for machines.
    func testCommandLineReportsAndExitStatus() throws {
        let good = try ValidatorHarness.build(fault: nil)
        let bad = try ValidatorHarness.build(fault: "DEFAULTS_REFUSED")
        let (goodStatus, goodOut) = try run([good, "--strictness", "2"])
        XCTAssertEqual(goodStatus, 0, goodOut)
        let lastLine = goodOut.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertNotNil(lastLine.wholeMatch(of: /\d+ passed, 0 failed/), lastLine)
        XCTAssertTrue(goodOut.contains("pass    optimizer:Toy"), goodOut)

        let (badStatus, badOut) = try run([bad, "--strictness", "2", "--json"])
        XCTAssertEqual(badStatus, 1, badOut)
        let json = try JSONSerialization.jsonObject(with: Data(badOut.utf8)) as? [String: Any]
        XCTAssertEqual(json?["strictness"] as? Int, 2)
        let results = json?["results"] as? [[String: Any]] ?? []
        XCTAssertTrue(results.contains { $0["check"] as? String == "defaults-accepted" && $0["status"] as? String == "fail"
            && $0["component"] as? String == "optimizer:Toy" }, badOut)
        XCTAssertGreaterThan(json?["failed"] as? Int ?? 0, 0)
    }

    /// --in-process runs the same checks without children, with the same verdicts.
    func testInProcessModeAgreesWithChildProcesses() throws {
        let good = try ValidatorHarness.build(fault: nil)
        let children = try ValidatorHarness.validate([good], strictness: 6)
        let here = PluginValidator(options: ValidationOptions(strictness: 6, childCommand: nil)).validate([good])
        XCTAssertEqual(children.results.map { "\($0.check) \($0.component ?? "") \($0.status)" },
                       here.results.map { "\($0.check) \($0.component ?? "") \($0.status)" })
    }

    /// A crash report names its cause: Swift's backtracer gives the crashing frame, and
    /// under AddressSanitizer (which aborts on all it catches) ASan's report gives the kind.
    func testCrashReportsNameTheCause() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("validator-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        try """

            *** Signal 11: Backtracing from 0x7f... done ***

            *** Program crashed: Bad pointer dereference at 0x0000000000000000 ***

            Platform: x86_64 Linux (Debian GNU/Linux 12 (bookworm))

            Thread 0 "stepwise" crashed:

              0               0x00007f70d1274d57 opt_load + 148 in libtoy.so
              1 [ra]          0x0000555ce5981d92 closure #2 in PatternSource.withStream<A>(_:) + 49 in stepwise at /src/V.swift:1:2
            ...
            rdi = 0x00007b9e9ac10500  rsi = 0x00007b8e9abe0330
            Toy: a line the plugin logged
            Backtrace took 0.30s
            """.write(toFile: log, atomically: true, encoding: .utf8)
        XCTAssertEqual(ChildProcess.tail(of: log), """
            Program crashed: Bad pointer dereference at 0x0000000000000000
              0 0x00007f70d1274d57 opt_load + 148 in libtoy.so
              1 [ra] 0x0000555ce5981d92 closure #2 in PatternSource.withStream<A>(_:) + 49 in stepwise
            Toy: a line the plugin logged
            """)
        XCTAssertEqual(ChildProcess.describe(signal: SIGABRT, log: "==1==ERROR: AddressSanitizer: SEGV on unknown address"),
                       "SIGSEGV (segmentation fault), caught by AddressSanitizer")
        XCTAssertEqual(ChildProcess.describe(signal: SIGABRT, log: "ERROR: AddressSanitizer: heap-buffer-overflow on address"),
                       "SIGABRT (AddressSanitizer: heap-buffer-overflow)")
        XCTAssertEqual(ChildProcess.describe(signal: SIGABRT, log: "free(): invalid pointer"), "SIGABRT (abort)")
    }

    func run(_ arguments: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ValidatorHarness.executable)
        p.arguments = ["validate"] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
