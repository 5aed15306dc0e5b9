/// A chain of layers, torch's `nn.Sequential`, with its own preallocated workspace.
///
/// The workspace holds the intermediate activations and gradients for the largest batch
/// seen so far, so a training loop at a fixed batch size allocates on its first step only.
/// Activations that run in place share their input's buffer, and gradients alternate
/// between two buffers, which keeps a GAN's two MLPs within the L2 cache. Pointers it
/// returns (`forward`'s output, `outputGradient`, `backward`'s input gradient) stay valid
/// until the next call with a larger batch; `backward` overwrites the workspace's gradient
/// buffers, `outputGradient` included, so pass it either that buffer or memory of your own.
///
/// `backward` uses the activations of the most recent `forward`. To push two batches
/// through one model before stepping (a discriminator on real, then on fake data), run
/// forward then backward for each: parameter gradients accumulate, as torch's do.
public final class Sequential {
    public let layers: [any Layer]
    /// widths[i] is the input width of layers[i]; the last entry is the output width.
    public let widths: [Int]

    private let namedParameters: [Parameter]
    /// Buffers and, per layer boundary, the buffer holding its activation or gradient.
    private let activationBuffers: [(scratch: Scratch, width: Int)]
    private let activationSlot: [Int]
    private let gradientBuffers: [(scratch: Scratch, width: Int)]
    private let gradientSlot: [Int]
    private var batch = 0
    /// The fused Dense + activation path (see FusedMLP), if the layers fit its pattern.
    private let fused: FusedMLP?
    /// True when the last forward pass ran fused, so backward must too.
    private(set) var ranFused = false

    public init(inputWidth: Int, layers: [any Layer]) throws(ModelError) {
        guard inputWidth > 0 else { throw .invalidArgument("Sequential input width must be positive, got \(inputWidth)") }
        guard !layers.isEmpty else { throw .invalidArgument("Sequential needs at least one layer") }
        var widths = [inputWidth]
        for (index, layer) in layers.enumerated() {
            guard let width = layer.outputWidth(forInputWidth: widths[index]) else {
                throw .shapeMismatch("layer \(index) \(layer) cannot take inputs of width \(widths[index])")
            }
            widths.append(width)
        }
        self.layers = layers
        self.widths = widths
        namedParameters = layers.enumerated().flatMap { index, layer in
            layer.parameters.map { $0.prefixed("\(index).") }
        }
        // Boundary 0 is a copy of the caller's input; an in-place layer writes over its
        // input's buffer; any other layer gets a fresh one.
        var activationWidths = [inputWidth], activationSlot = [0]
        for (index, layer) in layers.enumerated() {
            if layer.runsInPlace && widths[index + 1] == widths[index] {
                activationSlot.append(activationSlot[index])
            } else {
                activationSlot.append(activationWidths.count)
                activationWidths.append(widths[index + 1])
            }
        }
        // Walking down from the output, a layer that cannot run in place reads one buffer
        // and writes the other.
        var gradientSlot = [Int](repeating: 0, count: widths.count)
        var gradientWidths = [0, 0]
        for index in stride(from: layers.count, through: 0, by: -1) {
            if index < layers.count {
                gradientSlot[index] = layers[index].runsInPlace ? gradientSlot[index + 1] : 1 - gradientSlot[index + 1]
            }
            gradientWidths[gradientSlot[index]] = max(gradientWidths[gradientSlot[index]], widths[index])
        }
        self.activationSlot = activationSlot
        self.gradientSlot = gradientSlot
        activationBuffers = activationWidths.map { (Scratch(), $0) }
        gradientBuffers = gradientWidths.map { (Scratch(), $0) }
        fused = FusedMLP(layers: layers)
    }

    private func activation(_ boundary: Int) -> UnsafeMutablePointer<Float> {
        activationBuffers[activationSlot[boundary]].scratch.data
    }

    private func gradient(_ boundary: Int) -> UnsafeMutablePointer<Float> {
        gradientBuffers[gradientSlot[boundary]].scratch.data
    }

    /// A multilayer perceptron: Dense layers through `widths` (e.g. [2, 128, 128, 2]) with
    /// `activation` after each hidden layer and `outputActivation`, if any, after the last.
    /// Layers are initialised in order like torch's `nn.Linear`, drawing from `rng`.
    public static func mlp(widths: [Int], activation: Activation, outputActivation: Activation? = nil,
                           precision: MatmulPrecision = .float32,
                           using rng: inout Xoshiro256StarStar) throws(ModelError) -> Sequential {
        guard widths.count >= 2 else {
            throw .invalidArgument("an MLP needs at least an input and an output width, got \(widths)")
        }
        var layers: [any Layer] = []
        for index in 0..<(widths.count - 1) {
            layers.append(try Dense(inputFeatures: widths[index], outputFeatures: widths[index + 1],
                                    precision: precision, using: &rng))
            if index < widths.count - 2 {
                layers.append(activation.makeLayer())
            } else if let outputActivation {
                layers.append(outputActivation.makeLayer())
            }
        }
        return try Sequential(inputWidth: widths[0], layers: layers)
    }

    public var inputWidth: Int { widths[0] }
    public var outputWidth: Int { widths[widths.count - 1] }

    /// Parameters in layer order, named like torch's `named_parameters()` of an
    /// `nn.Sequential` ("0.weight", "0.bias", "2.weight", ...), after `prefix`.
    public func parameters(prefix: String = "") -> [Parameter] {
        prefix.isEmpty ? namedParameters : namedParameters.map { $0.prefixed(prefix) }
    }

    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.count } }

    /// Sets every parameter gradient to zero (no allocation: safe to call every step).
    public func zeroGrad() {
        for parameter in namedParameters { parameter.gradient.fill(0) }
    }

    /// The precision of every Dense layer's products (reads the first one's).
    public var precision: MatmulPrecision {
        get { layers.lazy.compactMap { $0 as? Dense }.first?.precision ?? .float32 }
        set { for case let dense as Dense in layers { dense.precision = newValue } }
    }

    /// Allocates the workspace for batches up to `maxBatch` now rather than on first use.
    public func reserve(batch maxBatch: Int) {
        for buffer in activationBuffers { buffer.scratch.reserve(maxBatch * buffer.width) }
        for buffer in gradientBuffers { buffer.scratch.reserve(maxBatch * buffer.width) }
    }

    /// Runs `batch` rows of `input` ([batch, inputWidth], copied, so the caller may reuse
    /// it at once) through every layer. Returns the [batch, outputWidth] output.
    @discardableResult
    public func forward(_ input: UnsafePointer<Float>, batch: Int) -> UnsafeMutablePointer<Float> {
        require(batch > 0, "forward needs a positive batch, got \(batch)")
        self.batch = batch
        if let fused, let mode = fused.currentMode {
            ranFused = true
            return fused.forward(input, batch: batch, mode: mode)
        }
        ranFused = false
        reserve(batch: batch)
        activation(0).update(from: input, count: batch * inputWidth)
        for (index, layer) in layers.enumerated() {
            layer.forward(activation(index), into: activation(index + 1), batch: batch, inputWidth: widths[index])
        }
        return activation(layers.count)
    }

    /// `forward` on a [batch, inputWidth] tensor.
    @discardableResult
    public func forward(_ input: Tensor) throws(ModelError) -> UnsafeMutablePointer<Float> {
        guard input.shape.count == 2, input.columns == inputWidth else {
            throw .shapeMismatch("model takes [batch, \(inputWidth)] inputs, got \(input.shape)")
        }
        return forward(input.data, batch: input.rows)
    }

    /// A [batch, outputWidth] buffer for the loss gradient of the last forward batch, which
    /// `backward` accepts as its `outputGrad`. Read it after `forward`: a forward pass with
    /// a larger batch than any before moves it.
    public var outputGradient: UnsafeMutablePointer<Float> {
        require(batch > 0, "outputGradient read before the first forward pass; its size is not known yet")
        if ranFused, let fused { return fused.outputGradient }
        return gradient(layers.count)
    }

    /// Backpropagates `outputGrad` ([batch, outputWidth], for the last forward batch).
    /// Parameter gradients accumulate unless `parameterGrads` is false (a frozen model, such
    /// as the discriminator during a generator step, which skips their products). Returns
    /// the gradient with respect to the input if `inputGrad`, else nil.
    @discardableResult
    public func backward(outputGrad: UnsafePointer<Float>, inputGrad: Bool = false,
                         parameterGrads: Bool = true) -> UnsafeMutablePointer<Float>? {
        require(batch > 0, "backward called before forward")
        if ranFused, let fused {
            return fused.backward(outputGrad: outputGrad, inputGrad: inputGrad, parameterGrads: parameterGrads)
        }
        var upstream = outputGrad
        for index in stride(from: layers.count - 1, through: 0, by: -1) {
            let needsInputGrad = index > 0 || inputGrad
            let destination = needsInputGrad ? gradient(index) : nil
            layers[index].backward(input: activation(index), output: activation(index + 1),
                                   outputGrad: upstream, inputGrad: destination, batch: batch,
                                   inputWidth: widths[index], accumulateParameterGrads: parameterGrads)
            guard let destination else { break }
            upstream = UnsafePointer(destination)
        }
        return inputGrad ? gradient(0) : nil
    }

    public var description: String {
        "Sequential(\n" + layers.enumerated().map { "  (\($0)): \($1)" }.joined(separator: "\n") + "\n)"
    }
}
