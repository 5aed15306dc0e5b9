import COpenBLAS
import StepwiseKernels

/// The fast path of a `Sequential` made of Dense layers, each optionally followed by a
/// ReLU or a LeakyReLU with slope >= 0: a matrix product per layer plus one fused pass.
///
/// Layer by layer, a Dense then its activation cost: a bias broadcast, the product, an
/// activation pass, and under emulated bfloat16 a rounding pass over the next layer's input
/// and over each gradient. Here each layer is `cblas_sgemm` plus one C epilogue that adds
/// the bias, applies the activation and writes the next layer's bf16-rounded operand;
/// backward, one epilogue applies the activation's derivative, sums the bias gradient and
/// writes the rounded gradient. Products with an inner dimension of 1 or 2 (a 2-D input,
/// a 1- or 2-wide output's input gradient) skip sgemm, whose call overhead and packing
/// cost more than the arithmetic, and are computed inside the epilogue that consumes them.
///
/// Numerics match the layer-by-layer path up to the order of float additions: the same
/// operands are rounded the same way (X, W and dY for each product; bias gradients and
/// everything elementwise in float32), as in `Dense`. Only float32 and emulated bfloat16
/// run here; other precisions (native sbgemm, float16) take the layer-by-layer path.
final class FusedMLP {
    struct Stage {
        let dense: Dense
        /// SK_ACT_* of the activation after the Dense, and its slope.
        let activation: Int32
        let slope: Float
        var inputs: Int { dense.inputFeatures }
        var outputs: Int { dense.outputFeatures }
    }

    enum Mode: Equatable { case float32, bfloat16 }

    /// Products whose inner dimension is at most this are computed in the epilogues.
    static let thinProduct = 2

    let stages: [Stage]
    private let input = Scratch()
    /// Per stage: its output (after the activation), the gradient with respect to its
    /// pre-activation, and, under bf16, the rounded operands of its products.
    private let outputs: [Scratch]
    private let gradients: [Scratch]
    private let roundedInputs: [Scratch]
    private let roundedWeights: [Scratch]
    private let roundedGradients: [Scratch]
    /// Per stage with a thin input: W (rounded under bf16) transposed to [in, out].
    private let transposedWeights: [Scratch]
    private let inputGradient = Scratch()
    private(set) var batch = 0
    private(set) var mode: Mode = .float32

    /// The fused plan for `layers`, or nil if they are not Dense (+ ReLU/LeakyReLU) pairs.
    init?(layers: [any Layer]) {
        var stages: [Stage] = []
        var index = 0
        while index < layers.count {
            guard let dense = layers[index] as? Dense else { return nil }
            index += 1
            var activation = Int32(SK_ACT_IDENTITY), slope: Float = 0
            if index < layers.count {
                if layers[index] is ReLU {
                    activation = Int32(SK_ACT_RELU)
                    index += 1
                } else if let leaky = layers[index] as? LeakyReLU {
                    // A negative slope needs the input for backward; the epilogue reads the output.
                    guard leaky.slope >= 0 else { return nil }
                    activation = Int32(SK_ACT_LEAKY_RELU)
                    slope = leaky.slope
                    index += 1
                } else if !(layers[index] is Dense) {
                    return nil
                }
            }
            stages.append(Stage(dense: dense, activation: activation, slope: slope))
        }
        self.stages = stages
        outputs = stages.map { _ in Scratch() }
        gradients = stages.map { _ in Scratch() }
        roundedInputs = stages.map { _ in Scratch() }
        roundedWeights = stages.map { _ in Scratch() }
        roundedGradients = stages.map { _ in Scratch() }
        transposedWeights = stages.map { _ in Scratch() }
    }

    /// The mode the layers' current precision allows, nil for the layer-by-layer path.
    var currentMode: Mode? {
        var result: Mode?
        for stage in stages {
            let mode: Mode
            switch stage.dense.kernel {
            case .sgemm: mode = .float32
            case .emulated(.bfloat16): mode = .bfloat16
            default: return nil
            }
            if let result, result != mode { return nil }
            result = mode
        }
        return result
    }

    /// The buffer `backward` accepts as the output gradient in place (see Sequential).
    var outputGradient: UnsafeMutablePointer<Float> { gradients[stages.count - 1].data }

    func forward(_ source: UnsafePointer<Float>, batch: Int, mode: Mode) -> UnsafeMutablePointer<Float> {
        self.batch = batch
        self.mode = mode
        let low = mode == .bfloat16
        let x0 = input.reserve(batch * stages[0].inputs)
        x0.update(from: source, count: batch * stages[0].inputs)
        if low {
            sk_round_bfloat16(x0, roundedInputs[0].reserve(batch * stages[0].inputs), Int64(batch * stages[0].inputs))
        }
        for (s, stage) in stages.enumerated() {
            let (n, o) = (stage.inputs, stage.outputs)
            let x = low ? UnsafePointer(roundedInputs[s].data) : activation(before: s)
            var w = UnsafePointer(stage.dense.weight.data)
            if low {
                // Once per forward pass, which under AMP is once per optimizer step; backward reuses it.
                let rounded = roundedWeights[s].reserve(o * n)
                sk_round_bfloat16(w, rounded, Int64(o * n))
                w = UnsafePointer(rounded)
            }
            let y = outputs[s].reserve(batch * o)
            let next = low && s + 1 < stages.count ? roundedInputs[s + 1].reserve(batch * o) : nil
            let bias = stage.dense.bias.map { UnsafePointer($0.data) }
            if n <= Self.thinProduct {
                let wt = transposedWeights[s].reserve(n * o)
                for j in 0..<o { for p in 0..<n { wt[p * o + j] = w[j * n + p] } }
                sk_dense_forward_epilogue(y, x, wt, Int64(n), bias, Int64(batch), Int64(o),
                                          stage.activation, stage.slope, next)
            } else {
                // Y[batch, out] = X[batch, in] * W[out, in]^T; NT measured as fast as NN here.
                sgemm(GEMMShape(transA: false, transB: true, m: batch, n: o, k: n, lda: n, ldb: n, ldc: o),
                      x, w, beta: 0, y)
                sk_dense_forward_epilogue(y, nil, nil, 0, bias, Int64(batch), Int64(o),
                                          stage.activation, stage.slope, next)
            }
            // The epilogues never reallocate what `reserve` returned for this batch.
            _ = gradients[s].reserve(batch * o)
            if low { _ = roundedGradients[s].reserve(batch * o) }
        }
        return outputs[stages.count - 1].data
    }

    /// Backpropagates `outputGrad` ([batch, last width]); see `Sequential.backward`.
    func backward(outputGrad: UnsafePointer<Float>, inputGrad: Bool, parameterGrads: Bool) -> UnsafeMutablePointer<Float>? {
        let low = mode == .bfloat16
        // The upstream gradient: a buffer, or a thin product the next epilogue computes.
        var upstream: UnsafePointer<Float>? = outputGrad
        var thin: (a: UnsafePointer<Float>, bt: UnsafePointer<Float>, k: Int)?
        for s in stride(from: stages.count - 1, through: 0, by: -1) {
            let stage = stages[s]
            let (n, o) = (stage.inputs, stage.outputs)
            let dpre = gradients[s].data
            let rounded = low ? roundedGradients[s].data : nil
            let db = parameterGrads ? stage.dense.biasGrad?.data : nil
            sk_dense_backward_epilogue(thin == nil ? upstream : nil, thin?.a, thin?.bt, Int64(thin?.k ?? 0),
                                       outputs[s].data, stage.activation, stage.slope, dpre, db, rounded,
                                       Int64(batch), Int64(o))
            let dy = UnsafePointer(rounded ?? dpre)
            if parameterGrads {
                // dW[out, in] += dY[batch, out]^T * X[batch, in]; TN measured fastest for K = batch.
                let x = low ? UnsafePointer(roundedInputs[s].data) : activation(before: s)
                sgemm(GEMMShape(transA: true, transB: false, m: o, n: n, k: batch, lda: o, ldb: n, ldc: n),
                      dy, x, beta: 1, stage.dense.weightGrad.data)
            }
            let w = UnsafePointer(low ? roundedWeights[s].data : stage.dense.weight.data)
            if s > 0 && o <= Self.thinProduct {
                // dX = dY * W, with W [out, in] already the [k, cols] operand the epilogue takes.
                thin = (dy, w, o)
                upstream = nil
            } else if s > 0 || inputGrad {
                let dx = s > 0 ? gradients[s - 1].data : inputGradient.reserve(batch * n)
                // dX[batch, in] = dY[batch, out] * W[out, in]
                sgemm(GEMMShape(transA: false, transB: false, m: batch, n: n, k: o, lda: o, ldb: n, ldc: n),
                      dy, w, beta: 0, dx)
                thin = nil
                upstream = UnsafePointer(dx)
            }
        }
        return inputGrad ? inputGradient.data : nil
    }

    private func activation(before stage: Int) -> UnsafePointer<Float> {
        UnsafePointer(stage == 0 ? input.data : outputs[stage - 1].data)
    }
}
