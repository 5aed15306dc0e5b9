import XCTest
@testable import StepwiseModels

final class RandomTests: XCTestCase {
    /// Reference words from an independent implementation of SplitMix64 seeding plus
    /// xoshiro256** (Vigna's reference C, transcribed to Python).
    func testKnownAnswers() {
        let table: [(seed: UInt64, state: [UInt64], outputs: [UInt64])] = [
            (0, [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F, 0xF88B_B8A8_724C_81EC],
             [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0, 0x6AA5_94F1_262D_2D2C]),
            (42, [0xBDD7_3226_2FEB_6E95, 0x28EF_E333_B266_F103, 0x4752_6757_130F_9F52, 0x581C_E1FF_0E4A_E394],
             [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1, 0xECB8_AD47_03B3_60A1]),
        ]
        for row in table {
            var rng = Xoshiro256StarStar(seed: row.seed)
            XCTAssertEqual(rng.stateWords, row.state, "seed \(row.seed)")
            XCTAssertEqual((0..<4).map { _ in rng.next() }, row.outputs, "seed \(row.seed)")
        }
    }

    func testSameSeedSameStreamDifferentSeedDifferentStream() {
        var a = Xoshiro256StarStar(seed: 7), b = Xoshiro256StarStar(seed: 7), c = Xoshiro256StarStar(seed: 8)
        var xa = [Float](repeating: 0, count: 33), xb = xa, xc = xa
        a.fillNormal(&xa, count: 33)
        b.fillNormal(&xb, count: 33)
        c.fillNormal(&xc, count: 33)
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(xa, xc)
    }

    /// Saving the four words mid-stream and restoring them replays the rest exactly,
    /// across every sampler.
    func testStateRoundTripResumesBitIdentically() throws {
        var rng = Xoshiro256StarStar(seed: 123)
        var scratch = [Float](repeating: 0, count: 5)
        rng.fillNormal(&scratch, count: 5)
        let saved = rng.stateWords

        func draws(_ rng: inout Xoshiro256StarStar) -> [Double] {
            var normals = [Float](repeating: 0, count: 3), uniforms = normals
            rng.fillNormal(&normals, count: 3)
            rng.fillUniform(&uniforms, count: 3, low: -2, high: 5)
            return normals.map(Double.init) + uniforms.map(Double.init) + [rng.nextNormal(), rng.nextUnitDouble()]
        }
        let expected = draws(&rng)
        var restored = try Xoshiro256StarStar(stateWords: saved)
        XCTAssertEqual(draws(&restored), expected)
        XCTAssertEqual(restored, rng)
    }

    func testInvalidStatesAreRefusedWithReasons() {
        XCTAssertThrowsError(try Xoshiro256StarStar(stateWords: [1, 2, 3])) { error in
            XCTAssertEqual(error as? ModelError, .invalidState("xoshiro256** state has 4 words, got 3"))
        }
        XCTAssertThrowsError(try Xoshiro256StarStar(stateWords: [0, 0, 0, 0])) { error in
            XCTAssertTrue("\(error)".contains("all zeros"), "\(error)")
        }
    }

    func testSamplersHaveTheirDistributions() {
        var rng = Xoshiro256StarStar(seed: 99)
        let count = 100_000
        var values = [Float](repeating: 0, count: count)
        rng.fillUniform(&values, count: count, low: -3, high: 1)
        XCTAssertGreaterThanOrEqual(values.min() ?? .nan, -3)
        XCTAssertLessThan(values.max() ?? .nan, 1)
        XCTAssertEqual(mean(values), -1, accuracy: 0.02)

        rng.fillNormal(&values, count: count, mean: 2, std: 0.5)
        let m = mean(values)
        let variance = values.reduce(0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(count)
        XCTAssertEqual(m, 2, accuracy: 0.01)
        XCTAssertEqual(variance.squareRoot(), 0.5, accuracy: 0.01)
        XCTAssertTrue(values.allSatisfy(\.isFinite))
    }

    private func mean(_ values: [Float]) -> Double {
        values.reduce(0) { $0 + Double($1) } / Double(values.count)
    }
}
