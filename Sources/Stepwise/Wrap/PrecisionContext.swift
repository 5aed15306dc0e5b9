import Foundation

/// What model code needs to run its math in low precision under an AmpOptimWrapper, as
/// torch's autocast provides it: the parameters stay float32 *master weights* that the
/// optimizer updates; the model computes with half-precision copies of them and casts its
/// activations. The context hands out those copies, refreshed lazily after each step,
/// and the casts (round to nearest, ties to even; overflow gives infinity, which the loss
/// scaler then detects).
///
///     try wrapper.optimContext { ctx in
///         let w = ctx.roundedWeights(of: fc1.weight)   // bf16 values as float32
///         ...                                           // matmul, then ctx.cast(&out)
///     }
///
/// With dtype float32 (a plain OptimWrapper) every cast is the identity.
public final class PrecisionContext: @unchecked Sendable {
    public let dtype: Precision
    /// True inside `OptimWrapper.optimContext`: model code should compute in `dtype`.
    public private(set) var isActive = false
    /// Bumped whenever the master weights change (an optimizer step, a state load).
    public private(set) var version = 0

    private final class Copy {
        var version = -1
        // The identifier of a freed parameter can be reused; the weak owner tells.
        weak var owner: Parameter?
        let bits: UnsafeMutableBufferPointer<UInt16>
        let rounded: UnsafeMutableBufferPointer<Float>
        init(count: Int) {
            bits = .allocate(capacity: max(count, 1))
            rounded = .allocate(capacity: max(count, 1))
        }
        deinit { bits.deallocate(); rounded.deallocate() }
    }
    private var copies: [ObjectIdentifier: Copy] = [:]

    public init(dtype: Precision) { self.dtype = dtype }

    /// Whether model code should compute in low precision right now.
    public var isLowPrecision: Bool { isActive && dtype != .float32 }

    /// Runs `body` with the context active (torch: inside `autocast`).
    public func withAutocast<R>(_ body: () throws -> R) rethrows -> R {
        let was = isActive
        isActive = true
        defer { isActive = was }
        return try body()
    }

    /// Marks every copy stale; the wrapper calls it after each optimizer step. Call it
    /// after changing master weights yourself (loading a checkpoint, EMA swaps).
    public func invalidate() { version += 1 }

    /// `x` cast to the context's precision and back (float32: unchanged).
    @inline(__always)
    public func cast(_ x: Float) -> Float { HalfPrecision.round(x, to: dtype) }

    /// Casts a buffer of activations (or gradients) in place.
    public func cast(_ values: UnsafeMutableBufferPointer<Float>) { HalfPrecision.round(values, to: dtype) }

    /// The parameter's master weights rounded to the low precision, as float32: the
    /// operand of a low-precision product emulated in float32. Valid until the next
    /// step (the next call after an invalidation refreshes it in place).
    public func roundedWeights(of parameter: Parameter) -> UnsafeBufferPointer<Float> {
        guard dtype != .float32 else { return UnsafeBufferPointer(parameter.data) }
        return UnsafeBufferPointer(copy(of: parameter).rounded)
    }

    /// The parameter's master weights as bfloat16 / float16 bit patterns (for kernels
    /// such as OpenBLAS's `cblas_sbgemm`), or nil with dtype float32.
    public func halfBits(of parameter: Parameter) -> UnsafeBufferPointer<UInt16>? {
        guard dtype != .float32 else { return nil }
        return UnsafeBufferPointer(copy(of: parameter).bits)
    }

    private func copy(of parameter: Parameter) -> Copy {
        let key = ObjectIdentifier(parameter)
        let copy: Copy
        if let existing = copies[key], existing.owner === parameter {
            copy = existing
        } else {
            copy = Copy(count: parameter.count)
            copy.owner = parameter
            copies[key] = copy
        }
        if copy.version != version {
            let source = UnsafeBufferPointer(parameter.data)
            HalfPrecision.encode(source, into: copy.bits, as: dtype)
            HalfPrecision.decode(UnsafeBufferPointer(rebasing: copy.bits[0..<source.count]), into: copy.rounded, as: dtype)
            copy.version = version
        }
        return copy
    }
}
