import COpenBLAS
import XCTest
@testable import StepwiseModels

final class GEMMTests: XCTestCase {
    func testDenseForwardMatchesNaiveProduct() throws {
        let (batch, inputs, outputs) = (5, 7, 3)
        let w = randomArray(outputs * inputs, seed: 20)
        let b = randomArray(outputs, seed: 21)
        let x = randomArray(batch * inputs, seed: 22)
        let dense = try Dense(weight: (0..<outputs).map { Array(w[$0 * inputs..<($0 + 1) * inputs]) }, bias: b)
        var y = [Float](repeating: .nan, count: batch * outputs)
        dense.forward(x, into: &y, batch: batch, inputWidth: inputs)

        var expected = naiveProduct(x, w, m: batch, n: outputs, k: inputs, transA: false, transB: true)
        for i in expected.indices { expected[i] += Double(b[i % outputs]) }
        assertClose(y, expected, tolerance: 1e-5, "Dense forward")
    }

    func testMultiplierMatchesNaiveProductForEveryTransposition() {
        let (m, n, k) = (6, 5, 4)
        let a = randomArray(m * k, seed: 23)
        let b = randomArray(k * n, seed: 24)
        let multiplier = MatrixMultiplier(precision: .float32)
        for transA in [false, true] {
            for transB in [false, true] {
                var c = [Float](repeating: .nan, count: m * n)
                multiplier.multiply(transposeA: transA, transposeB: transB, m: m, n: n, k: k,
                                    a: a, lda: transA ? m : k, b: b, ldb: transB ? k : n, c: &c, ldc: n)
                let expected = naiveProduct(a, b, m: m, n: n, k: k, transA: transA, transB: transB)
                assertClose(c, expected, tolerance: 1e-5, "transA=\(transA) transB=\(transB)")
            }
        }
    }

    /// The emulated path is exactly float32 arithmetic on rounded operands.
    func testEmulatedLowPrecisionIsFloat32OnRoundedInputs() throws {
        for format in LowPrecisionFormat.allCases {
            let precision: MatmulPrecision = format == .bfloat16 ? .bfloat16 : .float16
            let w = randomArray(4 * 3, seed: 25)
            let x = randomArray(2 * 3, seed: 26)
            let rows = (0..<4).map { Array(w[$0 * 3..<($0 + 1) * 3]) }
            let low = try Dense(weight: rows, bias: nil, precision: precision)
            let reference = try Dense(weight: rows.map { $0.map { LowPrecision.rounded($0, to: format) } }, bias: nil)
            var yLow = [Float](repeating: 0, count: 8), yReference = [Float](repeating: 0, count: 8)
            low.forward(x, into: &yLow, batch: 2, inputWidth: 3)
            reference.forward(x.map { LowPrecision.rounded($0, to: format) }, into: &yReference, batch: 2, inputWidth: 3)
            XCTAssertEqual(yLow, yReference, "\(format)")
            XCTAssertNotEqual(yLow, try float32Output(rows, x), "\(format) rounding had no effect")
        }
    }

    private func float32Output(_ rows: [[Float]], _ x: [Float]) throws -> [Float] {
        var y = [Float](repeating: 0, count: 8)
        try Dense(weight: rows, bias: nil).forward(x, into: &y, batch: 2, inputWidth: 3)
        return y
    }

    /// With a `cblas_sbgemm` present, bfloat16 products hand it bfloat16 patterns of both
    /// operands and its float32 output; a stand-in records what it received.
    func testNativeSBGEMMPathPassesBFloat16Operands() {
        let (m, n, k) = (3, 4, 5)
        let a = randomArray(m * k, seed: 27)
        let b = randomArray(n * k, seed: 28)
        let native = MatrixMultiplier(injecting: referenceSBGEMM)
        let emulated = MatrixMultiplier(precision: .bfloat16)
        var cNative = [Float](repeating: 0, count: m * n), cEmulated = cNative
        native.multiply(transposeB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: &cNative, ldc: n)
        if case .emulated = emulated.backend {
            emulated.multiply(transposeB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: &cEmulated, ldc: n)
            let expected = cEmulated.map(Double.init)
            assertClose(cNative, expected, tolerance: 1e-6, "native vs emulated bfloat16")
        }
        XCTAssertEqual(native.backend, .nativeBFloat16)
    }

    func testBackendDescriptionSaysWhichPathRuns() {
        let backend = GEMMBackend.resolve(.bfloat16)
        if GEMMBackend.nativeSBGEMM == nil {
            XCTAssertEqual(backend, .emulated(.bfloat16))
            XCTAssertTrue(backend.description.contains("emulated"), backend.description)
        } else {
            XCTAssertEqual(backend, .nativeBFloat16)
        }
        XCTAssertEqual(GEMMBackend.resolve(.float16), .emulated(.float16))
        XCTAssertEqual(GEMMBackend.resolve(.float32), .float32)
    }
}

/// A naive row-major, B-transposed-only stand-in for `cblas_sbgemm`.
private let referenceSBGEMM: SBGEMMFunction = { _, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
    guard let a, let b, let c, transA == CblasNoTrans, transB == CblasTrans else { return }
    for i in 0..<Int(m) {
        for j in 0..<Int(n) {
            var sum: Float = 0
            for p in 0..<Int(k) {
                sum += LowPrecision.float(bfloat16Bits: a[i * Int(lda) + p])
                    * LowPrecision.float(bfloat16Bits: b[j * Int(ldb) + p])
            }
            c[i * Int(ldc) + j] = alpha * sum + beta * c[i * Int(ldc) + j]
        }
    }
}
