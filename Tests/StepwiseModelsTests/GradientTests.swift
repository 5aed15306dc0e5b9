import XCTest
@testable import StepwiseModels

/// Every layer's hand-written backward pass against central finite differences of the
/// scalar L = sum(Y * R), whose gradient with respect to Y is R.
final class GradientTests: XCTestCase {
    struct Case: Sendable {
        let name: String
        let inputWidth: Int
        let make: @Sendable () throws -> any Layer
    }

    static let cases: [Case] = [
        Case(name: "Dense 3->4", inputWidth: 3) {
            var rng = Xoshiro256StarStar(seed: 1)
            return try Dense(inputFeatures: 3, outputFeatures: 4, using: &rng)
        },
        Case(name: "Dense 5->2 no bias", inputWidth: 5) {
            var rng = Xoshiro256StarStar(seed: 2)
            return try Dense(inputFeatures: 5, outputFeatures: 2, bias: false, using: &rng)
        },
        Case(name: "ReLU", inputWidth: 6) { ReLU() },
        Case(name: "LeakyReLU(0.2)", inputWidth: 6) { LeakyReLU(slope: 0.2) },
        Case(name: "LeakyReLU(-0.5)", inputWidth: 6) { LeakyReLU(slope: -0.5) },
        Case(name: "Tanh", inputWidth: 6) { Tanh() },
    ]

    func testLayerGradientsMatchFiniteDifferences() throws {
        for testCase in Self.cases {
            try checkLayer(testCase.make(), inputWidth: testCase.inputWidth, batch: 3, name: testCase.name)
        }
    }

    private func checkLayer(_ layer: any Layer, inputWidth: Int, batch: Int, name: String) throws {
        let outputWidth = try XCTUnwrap(layer.outputWidth(forInputWidth: inputWidth))
        let h: Float = 1e-2
        var x = randomArray(batch * inputWidth, seed: 10, gap: 2 * h)
        let r = randomArray(batch * outputWidth, seed: 11)
        var y = [Float](repeating: 0, count: batch * outputWidth)

        func loss() -> Double {
            layer.forward(x, into: &y, batch: batch, inputWidth: inputWidth)
            return zip(y, r).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }

        _ = loss()
        for parameter in layer.parameters { parameter.gradient.fill(0) }
        var dx = [Float](repeating: .nan, count: x.count)
        layer.backward(input: x, output: y, outputGrad: r, inputGrad: &dx, batch: batch,
                       inputWidth: inputWidth, accumulateParameterGrads: true)

        var numeric = [Double]()
        for i in x.indices {
            let saved = x[i]
            x[i] = saved + h; let plus = loss()
            x[i] = saved - h; let minus = loss()
            x[i] = saved
            numeric.append((plus - minus) / Double(2 * h))
        }
        assertClose(dx, numeric, tolerance: 2e-3, "\(name) input gradient")

        for parameter in layer.parameters {
            var numeric = [Double]()
            for i in 0..<parameter.count {
                let saved = parameter.data[i]
                parameter.data[i] = saved + h; let plus = loss()
                parameter.data[i] = saved - h; let minus = loss()
                parameter.data[i] = saved
                numeric.append((plus - minus) / Double(2 * h))
            }
            assertClose(parameter.gradient.array, numeric, tolerance: 2e-3, "\(name) \(parameter.name) gradient")
        }
    }

    func testBCEWithLogitsGradientMatchesFiniteDifferences() {
        let logits = randomArray(7, seed: 3).map { $0 * 4 }
        let targets: [Float] = [0, 1, 0.25, 1, 0, 0.5, 1]
        let scale: Float = 8
        var gradient = [Float](repeating: .nan, count: logits.count)
        _ = BCEWithLogits.loss(logits: logits, targets: targets, count: logits.count,
                               gradient: &gradient, gradientScale: scale)
        var numeric = [Double]()
        for i in logits.indices {
            var shifted = logits
            let h: Float = 1e-2
            shifted[i] = logits[i] + h
            let plus = Double(BCEWithLogits.loss(logits: shifted, targets: targets, count: shifted.count))
            shifted[i] = logits[i] - h
            let minus = Double(BCEWithLogits.loss(logits: shifted, targets: targets, count: shifted.count))
            numeric.append(Double(scale) * (plus - minus) / Double(2 * h))
        }
        assertClose(gradient, numeric, tolerance: 2e-3, "BCE gradient")
    }

    /// The whole chain: an MLP into BCE, through `Sequential`'s workspace. Smooth (tanh)
    /// so no finite difference straddles a kink deep in the network.
    func testSequentialGradientsMatchFiniteDifferences() throws {
        var rng = Xoshiro256StarStar(seed: 4)
        let model = try Sequential.mlp(widths: [2, 5, 4, 1], activation: .tanh, using: &rng)
        let batch = 4
        var x = randomArray(batch * 2, seed: 5)
        let targets: [Float] = [1, 0, 1, 0]

        func loss(withGradient: Bool = false) -> Double {
            let logits = model.forward(x, batch: batch)
            return Double(BCEWithLogits.loss(logits: logits, targets: targets, count: batch,
                                             gradient: withGradient ? model.outputGradient : nil))
        }

        _ = loss(withGradient: true)
        model.zeroGrad()
        let dx = try XCTUnwrap(model.backward(outputGrad: model.outputGradient, inputGrad: true))
        let analyticInput = Array(UnsafeBufferPointer(start: dx, count: x.count))

        let h: Float = 1e-2
        var numeric = [Double]()
        for i in x.indices {
            let saved = x[i]
            x[i] = saved + h; let plus = loss()
            x[i] = saved - h; let minus = loss()
            x[i] = saved
            numeric.append((plus - minus) / Double(2 * h))
        }
        assertClose(analyticInput, numeric, tolerance: 2e-3, "MLP input gradient")

        for parameter in model.parameters() {
            var numeric = [Double]()
            for i in 0..<parameter.count {
                let saved = parameter.data[i]
                parameter.data[i] = saved + h; let plus = loss()
                parameter.data[i] = saved - h; let minus = loss()
                parameter.data[i] = saved
                numeric.append((plus - minus) / Double(2 * h))
            }
            assertClose(parameter.gradient.array, numeric, tolerance: 2e-3, "MLP \(parameter.name)")
        }
    }

    /// Parameter gradients accumulate across backward calls, input gradients are
    /// overwritten, and a frozen backward leaves parameter gradients alone.
    func testGradientAccumulationConventions() throws {
        var rng = Xoshiro256StarStar(seed: 6)
        let model = try Sequential.mlp(widths: [3, 4, 2], activation: .tanh, using: &rng)
        let x = randomArray(6, seed: 7)
        let dy = randomArray(4, seed: 8)
        model.zeroGrad()

        model.forward(x, batch: 2)
        let first = try XCTUnwrap(model.backward(outputGrad: dy, inputGrad: true))
        let inputGrad = Array(UnsafeBufferPointer(start: first, count: 6))
        let once = model.parameters().map(\.gradient.array)

        model.forward(x, batch: 2)
        let second = try XCTUnwrap(model.backward(outputGrad: dy, inputGrad: true))
        XCTAssertEqual(Array(UnsafeBufferPointer(start: second, count: 6)), inputGrad)
        for (parameter, single) in zip(model.parameters(), once) {
            assertClose(parameter.gradient.array, single.map { Double($0) * 2 }, tolerance: 1e-6, parameter.name)
        }

        let twice = model.parameters().map(\.gradient.array)
        model.forward(x, batch: 2)
        let frozen = try XCTUnwrap(model.backward(outputGrad: dy, inputGrad: true, parameterGrads: false))
        XCTAssertEqual(Array(UnsafeBufferPointer(start: frozen, count: 6)), inputGrad)
        XCTAssertEqual(model.parameters().map(\.gradient.array), twice, "gradients changed while frozen")
        XCTAssertNil(model.backward(outputGrad: dy))
    }

    /// `Sequential`'s shared buffers (in-place activations, alternating gradient buffers)
    /// give the same numbers as running the layers one by one on separate buffers, for
    /// activations that run in place and one (negative slope) that cannot.
    func testSharedWorkspaceMatchesLayerByLayer() throws {
        for activation in [LeakyReLU(slope: 0.2), LeakyReLU(slope: -0.5), Tanh(), ReLU()] as [any Layer] {
            var rng = Xoshiro256StarStar(seed: 30)
            let first = try Dense(inputFeatures: 3, outputFeatures: 6, using: &rng)
            let second = try Dense(inputFeatures: 6, outputFeatures: 2, using: &rng)
            let model = try Sequential(inputWidth: 3, layers: [first, activation, second])
            let batch = 4
            let x = randomArray(batch * 3, seed: 31), dy = randomArray(batch * 2, seed: 32)

            var h = [Float](repeating: 0, count: batch * 6), a = h, y = [Float](repeating: 0, count: batch * 2)
            first.forward(x, into: &h, batch: batch, inputWidth: 3)
            activation.forward(h, into: &a, batch: batch, inputWidth: 6)
            second.forward(a, into: &y, batch: batch, inputWidth: 6)
            var da = [Float](repeating: 0, count: batch * 6), dh = da, dx = [Float](repeating: 0, count: batch * 3)
            second.backward(input: a, output: y, outputGrad: dy, inputGrad: &da, batch: batch, inputWidth: 6,
                            accumulateParameterGrads: false)
            activation.backward(input: h, output: a, outputGrad: da, inputGrad: &dh, batch: batch, inputWidth: 6,
                                accumulateParameterGrads: false)
            first.backward(input: x, output: h, outputGrad: dh, inputGrad: &dx, batch: batch, inputWidth: 3,
                           accumulateParameterGrads: false)

            let output = model.forward(x, batch: batch)
            XCTAssertEqual(Array(UnsafeBufferPointer(start: output, count: y.count)), y, "\(activation) forward")
            model.outputGradient.update(from: dy, count: dy.count)
            let inputGrad = try XCTUnwrap(model.backward(outputGrad: model.outputGradient, inputGrad: true,
                                                         parameterGrads: false))
            XCTAssertEqual(Array(UnsafeBufferPointer(start: inputGrad, count: dx.count)), dx, "\(activation) backward")
        }
    }
}
