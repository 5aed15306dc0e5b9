import XCTest
@testable import StepwiseModels

/// Random floats in [-1, 1] away from zero by `gap`, so finite differences of width < gap
/// never straddle a ReLU kink.
func randomArray(_ count: Int, seed: UInt64, gap: Float = 0) -> [Float] {
    var rng = Xoshiro256StarStar(seed: seed)
    return (0..<count).map { _ in
        let u = rng.nextUnitFloat() * 2 - 1
        return u < 0 ? u - gap : u + gap
    }
}

/// Naive row-major C = op(A) op(B) in Float64.
func naiveProduct(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transA: Bool, transB: Bool) -> [Double] {
    var c = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let av = transA ? a[p * m + i] : a[i * k + p]
                let bv = transB ? b[j * k + p] : b[p * n + j]
                sum += Double(av) * Double(bv)
            }
            c[i * n + j] = sum
        }
    }
    return c
}

func assertClose(_ actual: [Float], _ expected: [Double], tolerance: Double,
                 _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, message, file: file, line: line)
    for (index, (a, e)) in zip(actual, expected).enumerated() where abs(Double(a) - e) > tolerance * max(1, abs(e)) {
        XCTFail("\(message) [\(index)]: \(a) vs \(e)", file: file, line: line)
        return
    }
}
