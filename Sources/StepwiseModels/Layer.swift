/// A trainable tensor as an optimizer host sees it: a name, a shape, and pointers to the
/// values and their gradient, both stepped in place.
///
/// The pointers stay valid as long as this value (or the layer that made it) is alive;
/// the parameter keeps its tensors alive itself.
public struct Parameter {
    /// torch-style dotted name, e.g. "0.weight" in a `Sequential`, "weight" in a layer.
    public let name: String
    public let value: Tensor
    public let gradient: Tensor

    public init(name: String, value: Tensor, gradient: Tensor) {
        require(value.shape == gradient.shape, "parameter \(name): value and gradient shapes differ")
        self.name = name
        self.value = value
        self.gradient = gradient
    }

    public var shape: [Int] { value.shape }
    public var count: Int { value.count }
    public var data: UnsafeMutablePointer<Float> { value.data }
    public var grad: UnsafeMutablePointer<Float> { gradient.data }

    func prefixed(_ prefix: String) -> Parameter {
        Parameter(name: prefix + name, value: value, gradient: gradient)
    }
}

/// One stage of a feed-forward model over row-major [batch, width] activations.
///
/// Gradient convention, as in torch: parameter gradients *accumulate* (`+=`) across
/// backward calls until the training loop zeroes them; input gradients are *overwritten*
/// (they are per-batch temporaries). Layers never allocate in `forward`/`backward` once
/// they have seen the largest batch.
public protocol Layer: AnyObject, CustomStringConvertible {
    /// The output width for inputs of `width` features, or nil if this layer cannot take
    /// them (a `Dense` expects exactly its `inputFeatures`).
    func outputWidth(forInputWidth width: Int) -> Int?

    /// Trainable tensors, with names local to the layer ("weight", "bias").
    var parameters: [Parameter] { get }

    /// True if the layer computes elementwise and can work in place: `forward` may then get
    /// `output == input`, and `backward` may get `input == output` (the input values
    /// overwritten, so it must rely on `output` alone) and `inputGrad == outputGrad`.
    /// `Sequential` uses this to share buffers, halving its workspace.
    var runsInPlace: Bool { get }

    /// Writes `batch` rows of output. `output` aliases `input` only if `runsInPlace`.
    func forward(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
                 batch: Int, inputWidth: Int)

    /// Given the gradient of the loss with respect to `output`, accumulates parameter
    /// gradients (if `accumulateParameterGrads`) and overwrites `inputGrad` (if non-nil).
    /// `input` and `output` are those of the most recent `forward`, which must have run
    /// with the same parameters and batch.
    func backward(input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGrad: UnsafePointer<Float>,
                  inputGrad: UnsafeMutablePointer<Float>?, batch: Int, inputWidth: Int,
                  accumulateParameterGrads: Bool)
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public var runsInPlace: Bool { false }
}
