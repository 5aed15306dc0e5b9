import XCTest
@testable import StepwiseModels

final class ModelTests: XCTestCase {
    func testMLPLayoutNamesAndTorchInitBounds() throws {
        var rng = Xoshiro256StarStar(seed: 0)
        let model = try Sequential.mlp(widths: [2, 128, 128, 2], activation: .relu, using: &rng)
        XCTAssertEqual(model.widths, [2, 128, 128, 128, 128, 2])
        let parameters = model.parameters(prefix: "generator.")
        XCTAssertEqual(parameters.map(\.name), ["generator.0.weight", "generator.0.bias", "generator.2.weight",
                                                "generator.2.bias", "generator.4.weight", "generator.4.bias"])
        XCTAssertEqual(parameters.map(\.shape), [[128, 2], [128], [128, 128], [128], [2, 128], [2]])
        XCTAssertEqual(model.parameterCount, 2 * 128 + 128 + 128 * 128 + 128 + 128 * 2 + 2)
        for parameter in parameters {
            let fanIn = parameter.name.hasPrefix("generator.0.") ? 2 : 128
            let bound = Float(1 / Double(fanIn).squareRoot())
            let values = parameter.value.array
            XCTAssertTrue(values.allSatisfy { abs($0) <= bound }, parameter.name)
            // Uniform over the whole interval, not a narrower one.
            if parameter.count >= 128 { XCTAssertGreaterThan(values.map(abs).max() ?? 0, 0.9 * bound, parameter.name) }
            XCTAssertEqual(Int(bitPattern: parameter.data) % Tensor.alignment, 0, parameter.name)
        }
        XCTAssertEqual(Initializers.kaimingUniformBound(a: Double(5).squareRoot(), fanIn: 128),
                       1 / Double(128).squareRoot(), accuracy: 1e-15)
    }

    func testSameSeedBuildsIdenticalModels() throws {
        var a = Xoshiro256StarStar(seed: 11), b = Xoshiro256StarStar(seed: 11)
        let first = try Sequential.mlp(widths: [2, 16, 1], activation: .tanh, using: &a)
        let second = try Sequential.mlp(widths: [2, 16, 1], activation: .tanh, using: &b)
        XCTAssertEqual(first.parameters().map(\.value.array), second.parameters().map(\.value.array))
        XCTAssertEqual(a, b)
    }

    func testMismatchedWidthsAreRefused() throws {
        var rng = Xoshiro256StarStar(seed: 0)
        let layers: [any Layer] = [try Dense(inputFeatures: 2, outputFeatures: 4, using: &rng), ReLU(),
                                   try Dense(inputFeatures: 3, outputFeatures: 1, using: &rng)]
        XCTAssertThrowsError(try Sequential(inputWidth: 2, layers: layers)) { error in
            XCTAssertEqual(error as? ModelError, .shapeMismatch(
                "layer 2 Dense(in_features=3, out_features=1, bias=true) cannot take inputs of width 4"))
        }
        XCTAssertThrowsError(try Sequential.mlp(widths: [2], activation: .relu, using: &rng))
        XCTAssertThrowsError(try Sequential(inputWidth: 2, layers: [])) { error in
            XCTAssertEqual(error as? ModelError, .invalidArgument("Sequential needs at least one layer"))
        }
        let model = try Sequential.mlp(widths: [2, 3], activation: .relu, using: &rng)
        XCTAssertThrowsError(try model.forward(Tensor(shape: [4, 3])))
    }

    func testBCEWithLogitsValues() {
        // (logit, target, loss): log 2 at zero; large margins stay finite and exact.
        let rows: [(Float, Float, Float)] = [(0, 1, 0.693_147_2), (0, 0, 0.693_147_2), (100, 0, 100), (-100, 1, 100),
                                            (100, 1, 0), (2, 1, 0.126_928_01), (2, 0, 2.126_928)]
        for (x, y, expected) in rows {
            var gradient: Float = .nan
            let loss = BCEWithLogits.loss(logits: [x], target: y, count: 1, gradient: &gradient)
            XCTAssertEqual(loss, expected, accuracy: 1e-6, "x=\(x) y=\(y)")
            let sigmoid = 1 / (1 + Foundation.exp(-Double(x)))
            XCTAssertEqual(Double(gradient), sigmoid - Double(y), accuracy: 1e-7, "x=\(x) y=\(y)")
        }
        var gradients = [Float](repeating: .nan, count: 4)
        let mean = BCEWithLogits.loss(logits: [0, 0, 0, 0], target: 1, count: 4, gradient: &gradients)
        XCTAssertEqual(mean, 0.693_147_2, accuracy: 1e-6)
        XCTAssertEqual(gradients, [-0.125, -0.125, -0.125, -0.125])
    }

    /// A few hundred SGD steps separate two Gaussian blobs: forward, loss, backward and the
    /// parameter pointers work together as a training loop uses them.
    func testTrainingLoopLearns() throws {
        var rng = Xoshiro256StarStar(seed: 3)
        let model = try Sequential.mlp(widths: [2, 16, 16, 1], activation: .leakyReLU(slope: 0.2), using: &rng)
        let batch = 64
        var x = [Float](repeating: 0, count: batch * 2)
        var targets = [Float](repeating: 0, count: batch)
        for i in 0..<batch { targets[i] = Float(i % 2) }
        var first: Float = 0, last: Float = 0
        for step in 0..<300 {
            rng.fillNormal(&x, count: x.count, std: 0.5)
            for i in 0..<batch { x[2 * i] += targets[i] * 2 - 1 }
            let logits = model.forward(x, batch: batch)
            let loss = BCEWithLogits.loss(logits: logits, targets: targets, count: batch, gradient: model.outputGradient)
            model.zeroGrad()
            model.backward(outputGrad: model.outputGradient)
            for parameter in model.parameters() {
                for i in 0..<parameter.count { parameter.data[i] -= 0.1 * parameter.grad[i] }
            }
            if step == 0 { first = loss }
            last = loss
        }
        XCTAssertLessThan(last, 0.2)
        XCTAssertLessThan(last, first / 3)
    }

    func testLowPrecisionModelTracksFloat32() throws {
        var a = Xoshiro256StarStar(seed: 9), b = Xoshiro256StarStar(seed: 9)
        let reference = try Sequential.mlp(widths: [2, 32, 32, 2], activation: .tanh, using: &a)
        let low = try Sequential.mlp(widths: [2, 32, 32, 2], activation: .tanh, precision: .bfloat16, using: &b)
        XCTAssertEqual(low.precision, .bfloat16)
        let x = randomArray(16 * 2, seed: 10)
        let expected = Array(UnsafeBufferPointer(start: reference.forward(x, batch: 16), count: 32))
        let actual = Array(UnsafeBufferPointer(start: low.forward(x, batch: 16), count: 32))
        // bfloat16 keeps 8 significant bits: about 0.4% relative per rounded input.
        assertClose(actual, expected.map(Double.init), tolerance: 3e-2, "bfloat16 MLP")
        XCTAssertNotEqual(actual, expected)

        let dy = randomArray(32, seed: 12)
        reference.zeroGrad(); low.zeroGrad()
        reference.backward(outputGrad: dy)
        low.backward(outputGrad: dy)
        for (r, l) in zip(reference.parameters(), low.parameters()) {
            assertClose(l.gradient.array, r.gradient.array.map(Double.init), tolerance: 3e-2, "bfloat16 \(r.name)")
        }
    }
}
