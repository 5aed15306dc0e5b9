import XCTest
@testable import Stepwise

final class PlotAxisTests: XCTestCase {
    func testLinearTicksAreRoundNumbersInsideTheRange() {
        let table: [(lo: Double, hi: Double, target: Int, labels: [String])] = [
            (0, 1, 5, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]),
            (-0.05, 1.05, 5, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]),
            (0, 937, 5, ["0", "200", "400", "600", "800"]),
            (0.85, 0.95, 4, ["0.85", "0.90", "0.95"]),
            (0, 0.01, 5, ["0.000", "0.002", "0.004", "0.006", "0.008", "0.010"]),
            (0, 1e-3, 5, ["0", "2e-4", "4e-4", "6e-4", "8e-4", "1e-3"]),
            (1e-5, 1.1e-4, 5, ["2e-5", "4e-5", "6e-5", "8e-5", "1e-4"]),
            (-3, 3, 6, ["-3", "-2", "-1", "0", "1", "2", "3"]),
            (0, 2_000_000, 4, ["0", "1e6", "2e6"]),
            (0, 2_000_000, 5, ["0", "5e5", "1e6", "1.5e6", "2e6"]),
            (99_990, 100_010, 4, ["99990", "100000", "100010"]),
        ]
        for (lo, hi, target, labels) in table {
            XCTAssertEqual(Ticks.linear(lower: lo, upper: hi, target: target).map(\.label), labels, "[\(lo), \(hi)]")
        }
    }

    func testLogTicks() {
        XCTAssertEqual(Ticks.log(lower: 1e-6, upper: 0.2, target: 6).map(\.label), ["1e-6", "1e-5", "1e-4", "0.001", "0.01", "0.1"])
        XCTAssertEqual(Ticks.log(lower: 1e-12, upper: 1, target: 4).map(\.label), ["1e-12", "1e-8", "1e-4", "1"])
        XCTAssertEqual(Ticks.log(lower: 0.15, upper: 0.6, target: 5).map(\.label), ["0.2", "0.5"])
        XCTAssertEqual(Ticks.log(lower: 0.31, upper: 0.45, target: 4).map(\.label), ["0.35", "0.40", "0.45"])
    }

    func testExtentsNeverCollapse() {
        XCTAssertEqual(axisExtent([], scale: .linear, margin: 0.05).lower, 0)
        XCTAssertEqual(axisExtent([], scale: .linear, margin: 0.05).upper, 1)
        let flat = axisExtent([3, 3, .nan, .infinity], scale: .linear, margin: 0.05)
        XCTAssertEqual(flat.lower, 2.7, accuracy: 1e-12)
        XCTAssertEqual(flat.upper, 3.3, accuracy: 1e-12)
        XCTAssertEqual(axisExtent([0, 0], scale: .linear, margin: 0.05).lower, -1)
        let logFlat = axisExtent([0.01, 0.01, -1, 0], scale: .log, margin: 0)
        XCTAssertEqual(log10(logFlat.lower), -2.5, accuracy: 1e-12)
        XCTAssertEqual(log10(logFlat.upper), -1.5, accuracy: 1e-12)
        let padded = axisExtent([0, 10], scale: .linear, margin: 0.05)
        XCTAssertEqual(padded.lower, -0.5)
        XCTAssertEqual(padded.upper, 10.5)
    }

    func testCoordinatesAreCompact() {
        XCTAssertEqual([12.0, 12.04, 12.06, -0.04, -0.05, -1.5, 1e300, -.infinity].map(px),
                       ["12", "12", "12.1", "0", "-0.1", "-1.5", "10000000", "-10000000"])
    }

    func testSmoothingIsBiasCorrectedAndSkipsNonFinite() {
        let s = CurveGeometry.smoothed([1, 1, .nan, 1], weight: 0.9)
        XCTAssertEqual(s[0], 1, accuracy: 1e-12, "no pull towards zero at the start")
        XCTAssertEqual(s[1], 1, accuracy: 1e-12)
        XCTAssertTrue(s[2].isNaN)
        XCTAssertEqual(s[3], 1, accuracy: 1e-12)
        let step = CurveGeometry.smoothed([0, 0, 10], weight: 0.5)
        XCTAssertEqual(step[2], 10 * 0.5 / (1 - 0.125), accuracy: 1e-12)
        XCTAssertEqual(CurveGeometry.smoothed([1, 5], weight: 0), [1, 5])
    }
}
