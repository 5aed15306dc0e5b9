/// The elementwise activations an MLP builder can place between dense layers.
public enum Activation: Equatable, Sendable, CustomStringConvertible {
    case relu
    /// torch's `LeakyReLU(negative_slope)`; torch's default slope is 0.01.
    case leakyReLU(slope: Float)
    case tanh

    public func makeLayer() -> any Layer {
        switch self {
        case .relu: ReLU()
        case .leakyReLU(let slope): LeakyReLU(slope: slope)
        case .tanh: Tanh()
        }
    }

    public var description: String {
        switch self {
        case .relu: "ReLU()"
        case .leakyReLU(let slope): "LeakyReLU(negative_slope=\(slope))"
        case .tanh: "Tanh()"
        }
    }
}

/// torch's `ReLU`: max(x, 0), NaN passing through. Backward: dy where y > 0, else 0.
public final class ReLU: Layer {
    public init() {}
    public var runsInPlace: Bool { true }
    public var description: String { Activation.relu.description }
    public func outputWidth(forInputWidth width: Int) -> Int? { width }

    public func forward(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
                        batch: Int, inputWidth: Int) {
        elementwise(input, into: output, count: batch * inputWidth) { x in x < 0 ? 0 : x }
    }

    public func backward(input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGrad: UnsafePointer<Float>,
                         inputGrad: UnsafeMutablePointer<Float>?, batch: Int, inputWidth: Int,
                         accumulateParameterGrads: Bool) {
        guard let inputGrad else { return }
        elementwise(output, outputGrad, into: inputGrad, count: batch * inputWidth) { y, dy in y > 0 ? dy : 0 }
    }
}

/// torch's `LeakyReLU`: x if x > 0 else slope * x. Backward: dy if x > 0 else slope * dy.
/// With slope >= 0, y > 0 exactly when x > 0, so backward reads the output and the layer
/// runs in place; a negative slope needs the input (torch refuses it in place too).
public final class LeakyReLU: Layer {
    public let slope: Float
    public var runsInPlace: Bool { slope >= 0 }

    public init(slope: Float = 0.01) { self.slope = slope }
    public var description: String { Activation.leakyReLU(slope: slope).description }
    public func outputWidth(forInputWidth width: Int) -> Int? { width }

    public func forward(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
                        batch: Int, inputWidth: Int) {
        let slope = slope
        elementwise(input, into: output, count: batch * inputWidth) { x in x > 0 ? x : x * slope }
    }

    public func backward(input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGrad: UnsafePointer<Float>,
                         inputGrad: UnsafeMutablePointer<Float>?, batch: Int, inputWidth: Int,
                         accumulateParameterGrads: Bool) {
        guard let inputGrad else { return }
        let slope = slope
        let sign = slope >= 0 ? output : input
        elementwise(sign, outputGrad, into: inputGrad, count: batch * inputWidth) { s, dy in s > 0 ? dy : dy * slope }
    }
}

/// torch's `Tanh`. Backward: dy * (1 - y^2), from the saved output as torch does.
public final class Tanh: Layer {
    public init() {}
    public var runsInPlace: Bool { true }
    public var description: String { Activation.tanh.description }
    public func outputWidth(forInputWidth width: Int) -> Int? { width }

    public func forward(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
                        batch: Int, inputWidth: Int) {
        VectorMath.tanh(input, into: output, count: batch * inputWidth)
    }

    public func backward(input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGrad: UnsafePointer<Float>,
                         inputGrad: UnsafeMutablePointer<Float>?, batch: Int, inputWidth: Int,
                         accumulateParameterGrads: Bool) {
        guard let inputGrad else { return }
        elementwise(output, outputGrad, into: inputGrad, count: batch * inputWidth) { y, dy in dy * (1 - y * y) }
    }
}

// Elementwise loops that vectorize whether or not they run in place. A two-pointer loop
// vectorizes behind a runtime overlap check, which exact aliasing fails, sending an
// in-place call down the scalar fallback; the in-place case therefore gets its own loop
// over one pointer. Both loads are unconditional: a load under a condition would also
// stop vectorization. The helpers are private to each file that loops: debug builds
// compile file by file, and a helper in another file would not inline, leaving a closure
// call per element.

@inline(__always)
private func elementwise(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int,
                 _ f: (Float) -> Float) {
    if UnsafePointer(destination) == source {
        for i in 0..<count { destination[i] = f(destination[i]) }
    } else {
        for i in 0..<count { destination[i] = f(source[i]) }
    }
}

/// `destination[i] = f(a[i], b[i])`, where `b` may be `destination` (a gradient updated in
/// place) but `a` is distinct from both.
@inline(__always)
private func elementwise(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>,
                 count: Int, _ f: (Float, Float) -> Float) {
    if UnsafePointer(destination) == b {
        for i in 0..<count { destination[i] = f(a[i], destination[i]) }
    } else {
        for i in 0..<count { destination[i] = f(a[i], b[i]) }
    }
}
