import Foundation
import XCTest
@testable import StepwiseModels

final class VectorMathTests: XCTestCase {
    /// Distance in float32 ulps (of the expected value) from the Float64 reference.
    private func ulps(_ actual: Float, _ expected: Double) -> Double {
        let reference = Float(expected)
        let ulp = reference == 0 ? Float.leastNonzeroMagnitude : reference.ulp
        return abs(Double(actual) - expected) / Double(ulp)
    }

    func testTanhIsWithinFourUlps() {
        var worst = 0.0, worstAt: Float = 0
        var x: Float = -12
        while x <= 12 {
            let error = ulps(VectorMath.tanh(x), Foundation.tanh(Double(x)))
            if error > worst { (worst, worstAt) = (error, x) }
            x += 0.000_37
        }
        for tiny: Float in [1e-30, 1e-7, 3e-4, 0.499_999, 0.5, 0.500_001] {
            for signed in [tiny, -tiny] {
                let error = ulps(VectorMath.tanh(signed), Foundation.tanh(Double(signed)))
                if error > worst { (worst, worstAt) = (error, signed) }
            }
        }
        XCTAssertLessThanOrEqual(worst, 4, "worst at x = \(worstAt)")
    }

    func testTanhSpecialValues() {
        XCTAssertEqual(VectorMath.tanh(0).bitPattern, 0)
        XCTAssertEqual(VectorMath.tanh(-0.0).bitPattern, 0x8000_0000)
        XCTAssertEqual(VectorMath.tanh(.infinity), 1)
        XCTAssertEqual(VectorMath.tanh(-.infinity), -1)
        XCTAssertEqual(VectorMath.tanh(50), 1)
        XCTAssertTrue(VectorMath.tanh(.nan).isNaN)
    }

    func testExpIsWithinTwoUlps() {
        var x: Float = -80
        while x <= 80 {
            let error = ulps(VectorMath.exp(x), Foundation.exp(Double(x)))
            XCTAssertLessThanOrEqual(error, 2, "x = \(x)")
            if error > 2 { return }
            x += 0.013
        }
    }

    func testArrayTanhMatchesScalar() {
        let x = randomArray(1000, seed: 40).map { $0 * 6 }
        var y = [Float](repeating: .nan, count: x.count)
        VectorMath.tanh(x, into: &y, count: x.count)
        XCTAssertEqual(y, x.map(VectorMath.tanh))
    }
}
