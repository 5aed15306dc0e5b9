import XCTest
@testable import StepwiseModels

/// The fused Dense + activation path of `Sequential` against the same layers driven one by
/// one through the `Layer` protocol (each layer's own forward and backward, as checked by
/// the finite-difference tests): outputs, accumulated parameter gradients and the input
/// gradient agree up to float reassociation.
final class FusedMLPTests: XCTestCase {
    struct Case {
        let widths: [Int]
        let activation: Activation
        let precision: MatmulPrecision
        let tolerance: Double
    }

    // Thin products (2-wide inputs, 1- and 2-wide outputs) and sgemm ones (3-wide input);
    // bfloat16 tolerances allow one operand rounding to land on the other side of a tie.
    static let cases: [Case] = [
        Case(widths: [2, 16, 16, 1], activation: .leakyReLU(slope: 0.2), precision: .float32, tolerance: 1e-5),
        Case(widths: [2, 16, 16, 2], activation: .relu, precision: .float32, tolerance: 1e-5),
        Case(widths: [3, 8, 5], activation: .relu, precision: .float32, tolerance: 1e-5),
        Case(widths: [2, 16, 16, 1], activation: .leakyReLU(slope: 0.2), precision: .bfloat16, tolerance: 2e-3),
        Case(widths: [3, 8, 2], activation: .leakyReLU(slope: 0.01), precision: .bfloat16, tolerance: 2e-3),
    ]

    func testFusedPathMatchesLayerByLayer() throws {
        for (index, testCase) in Self.cases.enumerated() {
            try check(testCase, name: "case \(index) \(testCase.widths) \(testCase.activation) \(testCase.precision)")
        }
    }

    func testNegativeSlopeAndTanhTakeTheLayerPath() throws {
        var rng = Xoshiro256StarStar(seed: 1)
        for activation in [Activation.tanh, .leakyReLU(slope: -0.5)] {
            let model = try Sequential.mlp(widths: [2, 4, 1], activation: activation, using: &rng)
            model.forward(randomArray(6, seed: 2), batch: 3)
            XCTAssertFalse(model.ranFused, "\(activation)")
        }
    }

    private func check(_ testCase: Case, name: String) throws {
        let batch = 7
        var a = Xoshiro256StarStar(seed: 5), b = Xoshiro256StarStar(seed: 5)
        let model = try Sequential.mlp(widths: testCase.widths, activation: testCase.activation,
                                       precision: testCase.precision, using: &a)
        let reference = try Sequential.mlp(widths: testCase.widths, activation: testCase.activation,
                                           precision: testCase.precision, using: &b)
        let inputWidth = testCase.widths[0], outputWidth = testCase.widths[testCase.widths.count - 1]
        model.zeroGrad()
        var referenceInputGrad: [Float] = []
        var expectedOutput: [Float] = []
        // Two batches: parameter gradients must accumulate across backward calls.
        for pass in 0..<2 {
            let x = randomArray(batch * inputWidth, seed: 20 + UInt64(pass))
            let dy = randomArray(batch * outputWidth, seed: 30 + UInt64(pass))
            let y = model.forward(x, batch: batch)
            XCTAssertTrue(model.ranFused, name)
            let output = Array(UnsafeBufferPointer(start: y, count: batch * outputWidth))
            let inputGrad = try XCTUnwrap(model.backward(outputGrad: dy, inputGrad: true))
            let actualInputGrad = Array(UnsafeBufferPointer(start: inputGrad, count: batch * inputWidth))
            (expectedOutput, referenceInputGrad) = layerByLayer(reference, x: x, dy: dy, batch: batch)
            assertClose(output, expectedOutput.map(Double.init), tolerance: testCase.tolerance, "\(name) output")
            assertClose(actualInputGrad, referenceInputGrad.map(Double.init), tolerance: testCase.tolerance,
                        "\(name) input gradient")
        }
        for (actual, expected) in zip(model.parameters(), reference.parameters()) {
            assertClose(actual.gradient.array, expected.gradient.array.map(Double.init), tolerance: testCase.tolerance,
                        "\(name) \(actual.name) gradient")
        }
        // Frozen parameters: nothing accumulates, the input gradient still flows.
        let before = model.parameters().map(\.gradient.array)
        model.forward(randomArray(batch * inputWidth, seed: 40), batch: batch)
        XCTAssertNotNil(model.backward(outputGrad: randomArray(batch * outputWidth, seed: 41), inputGrad: true,
                                       parameterGrads: false))
        XCTAssertEqual(model.parameters().map(\.gradient.array), before, name)
    }

    /// Forward then backward through each layer's own implementation, with fresh buffers.
    private func layerByLayer(_ model: Sequential, x: [Float], dy: [Float], batch: Int) -> (output: [Float], inputGrad: [Float]) {
        var activations = [x]
        for (index, layer) in model.layers.enumerated() {
            var y = [Float](repeating: 0, count: batch * model.widths[index + 1])
            layer.forward(activations[index], into: &y, batch: batch, inputWidth: model.widths[index])
            activations.append(y)
        }
        var upstream = dy
        for index in stride(from: model.layers.count - 1, through: 0, by: -1) {
            var dx = [Float](repeating: 0, count: batch * model.widths[index])
            // Dense reuses operands prepared by its own last forward, so rerun it first.
            let input = activations[index]
            var output = activations[index + 1]
            model.layers[index].forward(input, into: &output, batch: batch, inputWidth: model.widths[index])
            model.layers[index].backward(input: input, output: output,
                                         outputGrad: upstream, inputGrad: &dx, batch: batch,
                                         inputWidth: model.widths[index], accumulateParameterGrads: true)
            upstream = dx
        }
        return (activations[model.layers.count], upstream)
    }
}
