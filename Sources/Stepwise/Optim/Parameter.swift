import Foundation
import StepwiseABI

/// A trainable tensor the host owns: float32 data and gradient buffers, 64-byte aligned,
/// with a stable name and the kind of layer that owns it (for paramwise settings).
public final class Parameter: @unchecked Sendable {
    public let name: String
    public let shape: [Int]
    public let tag: stepwise_param_tag
    public let data: UnsafeMutableBufferPointer<Float>
    public let grad: UnsafeMutableBufferPointer<Float>
    /// False when the parameter has no gradient this step (torch: `p.grad is None`).
    public var hasGrad = false
    /// Keeps borrowed storage alive; nil when this parameter owns its buffers.
    private let owner: AnyObject?

    public var count: Int { data.count }

    public init(name: String, shape: [Int], tag: stepwise_param_tag = STEPWISE_PARAM_WEIGHT,
                values: [Float]? = nil) {
        let n = shape.reduce(1, *)
        self.name = name
        self.shape = shape
        self.tag = tag
        data = alignedFloats(n)
        grad = alignedFloats(n)
        owner = nil
        if let values {
            precondition(values.count == n, "parameter \(name): \(values.count) values for shape \(shape)")
            _ = data.initialize(from: values)
        }
    }

    /// A parameter over storage someone else owns (a model's weight and gradient
    /// tensors), stepped in place. `owner` is kept alive as long as the parameter.
    public init(name: String, shape: [Int], tag: stepwise_param_tag = STEPWISE_PARAM_WEIGHT,
                data: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>, owner: AnyObject) {
        self.name = name
        self.shape = shape
        self.tag = tag
        let n = shape.reduce(1, *)
        self.data = UnsafeMutableBufferPointer(start: data, count: n)
        self.grad = UnsafeMutableBufferPointer(start: grad, count: n)
        self.owner = owner
    }

    deinit {
        guard owner == nil else { return }
        free(data.baseAddress)
        free(grad.baseAddress)
    }

    /// Copies `values` into the gradient and marks it present.
    public func setGrad(_ values: [Float]) {
        precondition(values.count == count, "gradient of \(name): \(values.count) values for \(count)")
        _ = grad.initialize(from: values)
        hasGrad = true
    }

    public func zeroGrad() {
        grad.update(repeating: 0)
    }

    public var values: [Float] { Array(data) }
}

/// Zero-filled, 64-byte aligned float storage (one cache line, AVX-512 friendly).
func alignedFloats(_ n: Int) -> UnsafeMutableBufferPointer<Float> {
    var raw: UnsafeMutableRawPointer? = nil
    let bytes = max(64, (n * 4 + 63) / 64 * 64)
    guard posix_memalign(&raw, 64, bytes) == 0, let raw else { fatalError("out of memory allocating \(bytes) bytes") }
    memset(raw, 0, bytes)
    return UnsafeMutableBufferPointer(start: raw.assumingMemoryBound(to: Float.self), count: n)
}
