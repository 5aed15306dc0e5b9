/// A fully connected layer, torch's `nn.Linear`: y = x W^T + b, with W stored [out, in]
/// (torch's layout, so a torch state dict loads as is) and b [out].
///
/// Forward and both backward products are single `cblas_sgemm` calls on the row-major
/// buffers; the bias is written into the output first and the product added to it. At a
/// low `precision`, X, W and dY are rounded (or converted for `cblas_sbgemm`) first;
/// backward reuses the X and W prepared by the forward pass, like torch autocast's cast
/// cache, which is sound because parameters do not change between a forward pass and its
/// backward pass. Bias addition and bias gradients stay float32.
public final class Dense: Layer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public let weight: Tensor
    public let bias: Tensor?
    public let weightGrad: Tensor
    public let biasGrad: Tensor?

    /// The precision of the matrix products; an AMP wrapper switches it per region.
    public var precision: MatmulPrecision {
        didSet {
            kernel = GEMMKernel(GEMMBackend.resolve(precision))
            preparedBatch = nil
        }
    }
    var kernel: GEMMKernel

    private let preparedInput = LowPrecisionOperand()
    private let preparedWeight = LowPrecisionOperand()
    private let preparedOutputGrad = LowPrecisionOperand()
    /// The batch whose X and W the low-precision operands hold, nil if stale.
    private var preparedBatch: Int?

    /// A layer initialised like torch's `nn.Linear` (see `Initializers.torchLinearDefault`).
    public init(inputFeatures: Int, outputFeatures: Int, bias: Bool = true,
                precision: MatmulPrecision = .float32, using rng: inout Xoshiro256StarStar) throws(ModelError) {
        guard inputFeatures > 0, outputFeatures > 0 else {
            throw .invalidArgument("Dense needs positive widths, got in=\(inputFeatures) out=\(outputFeatures)")
        }
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        weight = Tensor(shape: [outputFeatures, inputFeatures])
        weightGrad = Tensor(shape: [outputFeatures, inputFeatures])
        self.bias = bias ? Tensor(shape: [outputFeatures]) : nil
        biasGrad = bias ? Tensor(shape: [outputFeatures]) : nil
        self.precision = precision
        kernel = GEMMKernel(GEMMBackend.resolve(precision))
        Initializers.torchLinearDefault(weight: weight, bias: self.bias, fanIn: inputFeatures, using: &rng)
    }

    /// A layer with given weights ([out, in], row-major) and optional bias ([out]).
    public init(weight: [[Float]], bias: [Float]?, precision: MatmulPrecision = .float32) throws(ModelError) {
        guard let first = weight.first, !first.isEmpty, weight.allSatisfy({ $0.count == first.count }) else {
            throw .shapeMismatch("Dense weight must be a non-empty [out][in] array with equal rows")
        }
        if let bias, bias.count != weight.count {
            throw .shapeMismatch("Dense bias has \(bias.count) values for \(weight.count) outputs")
        }
        inputFeatures = first.count
        outputFeatures = weight.count
        self.weight = try Tensor(shape: [outputFeatures, inputFeatures], values: weight.flatMap { $0 })
        weightGrad = Tensor(shape: [outputFeatures, inputFeatures])
        self.bias = try bias.map { values throws(ModelError) in try Tensor(shape: [values.count], values: values) }
        biasGrad = bias.map { Tensor(shape: [$0.count]) }
        self.precision = precision
        kernel = GEMMKernel(GEMMBackend.resolve(precision))
    }

    public var description: String {
        "Dense(in_features=\(inputFeatures), out_features=\(outputFeatures), bias=\(bias != nil))"
    }

    public func outputWidth(forInputWidth width: Int) -> Int? {
        width == inputFeatures ? outputFeatures : nil
    }

    public var parameters: [Parameter] {
        var result = [Parameter(name: "weight", value: weight, gradient: weightGrad)]
        if let bias, let biasGrad { result.append(Parameter(name: "bias", value: bias, gradient: biasGrad)) }
        return result
    }

    /// Sets every parameter gradient to zero.
    public func zeroGrad() {
        weightGrad.fill(0)
        biasGrad?.fill(0)
    }

    public func forward(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
                        batch: Int, inputWidth: Int) {
        require(inputWidth == inputFeatures, "\(self) got inputs of width \(inputWidth)")
        let (n, o) = (inputFeatures, outputFeatures)
        var beta: Float = 0
        if let bias {
            for row in 0..<batch { (output + row * o).update(from: bias.data, count: o) }
            beta = 1
        }
        // Y[batch, out] = X[batch, in] * W[out, in]^T (+ Y holding the bias).
        let shape = GEMMShape(transA: false, transB: true, m: batch, n: o, k: n, lda: n, ldb: n, ldc: o)
        if case .sgemm = kernel {
            sgemm(shape, input, weight.data, beta: beta, output)
            preparedBatch = nil
        } else {
            preparedInput.load(input, count: batch * n, kernel: kernel)
            preparedWeight.load(weight.data, count: o * n, kernel: kernel)
            gemm(shape, kernel: kernel, preparedInput, preparedWeight, beta: beta, output)
            preparedBatch = batch
        }
    }

    public func backward(input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGrad: UnsafePointer<Float>,
                         inputGrad: UnsafeMutablePointer<Float>?, batch: Int, inputWidth: Int,
                         accumulateParameterGrads: Bool) {
        require(inputWidth == inputFeatures, "\(self) got inputs of width \(inputWidth)")
        let (n, o) = (inputFeatures, outputFeatures)
        // dW[out, in] += dY[batch, out]^T * X[batch, in]
        let weightShape = GEMMShape(transA: true, transB: false, m: o, n: n, k: batch, lda: o, ldb: n, ldc: n)
        // dX[batch, in] = dY[batch, out] * W[out, in]
        let inputShape = GEMMShape(transA: false, transB: false, m: batch, n: n, k: o, lda: o, ldb: n, ldc: n)

        if case .sgemm = kernel {
            if accumulateParameterGrads { sgemm(weightShape, outputGrad, input, beta: 1, weightGrad.data) }
            if let inputGrad { sgemm(inputShape, outputGrad, weight.data, beta: 0, inputGrad) }
        } else {
            if preparedBatch != batch {
                preparedInput.load(input, count: batch * n, kernel: kernel)
                preparedWeight.load(weight.data, count: o * n, kernel: kernel)
                preparedBatch = batch
            }
            preparedOutputGrad.load(outputGrad, count: batch * o, kernel: kernel)
            if accumulateParameterGrads {
                gemm(weightShape, kernel: kernel, preparedOutputGrad, preparedInput, beta: 1, weightGrad.data)
            }
            if let inputGrad {
                gemm(inputShape, kernel: kernel, preparedOutputGrad, preparedWeight, beta: 0, inputGrad)
            }
        }

        if accumulateParameterGrads, let biasGrad {
            // db[out] += column sums of dY; rows outer so the inner loop is contiguous.
            let db = biasGrad.data
            for row in 0..<batch {
                let dy = outputGrad + row * o
                for j in 0..<o { db[j] += dy[j] }
            }
        }
    }
}
