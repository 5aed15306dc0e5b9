#if canImport(Glibc)
import Glibc
#endif

/// torch's `BCEWithLogitsLoss` with `reduction='mean'` (no `weight`, no `pos_weight`).
///
/// Per element, as torch 2.x writes it: (1 - y) x - log_sigmoid(x), with
/// log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|)), which never exponentiates a positive
/// number. The mean is accumulated in Float64 (torch sums float32 pairwise; both are far
/// below float32 rounding of the result for batch-sized inputs).
///
/// Gradient with respect to each logit: (sigmoid(x) - y) / count, times `gradientScale`
/// (an AMP loss scale: scaling here equals calling backward on scale * loss). It is
/// written, not accumulated, into `gradient`, which may be the model's `outputGradient`.
public enum BCEWithLogits {
    /// Mean loss against one target for every element (1 for "real", 0 for "fake").
    public static func loss(logits: UnsafePointer<Float>, target: Float, count: Int,
                            gradient: UnsafeMutablePointer<Float>? = nil, gradientScale: Float = 1) -> Float {
        compute(logits: logits, count: count, gradient: gradient, gradientScale: gradientScale) { _ in target }
    }

    /// Mean loss against per-element targets in [0, 1].
    public static func loss(logits: UnsafePointer<Float>, targets: UnsafePointer<Float>, count: Int,
                            gradient: UnsafeMutablePointer<Float>? = nil, gradientScale: Float = 1) -> Float {
        compute(logits: logits, count: count, gradient: gradient, gradientScale: gradientScale) { targets[$0] }
    }

    @inline(__always)
    private static func compute(logits: UnsafePointer<Float>, count: Int, gradient: UnsafeMutablePointer<Float>?,
                                gradientScale: Float, target: (Int) -> Float) -> Float {
        require(count > 0, "BCEWithLogits needs at least one logit")
        let gradientFactor = gradientScale / Float(count)
        var sum: Double = 0
        for i in 0..<count {
            let x = logits[i]
            let y = target(i)
            let e = expf(-Swift.abs(x))
            let logSigmoid = Swift.min(x, 0) - log1pf(e)
            sum += Double((1 - y) * x - logSigmoid)
            if let gradient {
                // sigmoid(x) from the same e = exp(-|x|), stable for either sign.
                let sigmoid = x >= 0 ? 1 / (1 + e) : e / (1 + e)
                gradient[i] = (sigmoid - y) * gradientFactor
            }
        }
        return Float(sum / Double(count))
    }
}
