/// A row-major Float32 buffer with a shape, owning 64-byte aligned storage.
///
/// A class because its storage has identity: layers hand out pointers into it (parameters
/// to an optimizer host, activations to the next layer), and those must stay put. The
/// storage never moves or grows after `init`.
public final class Tensor {
    public let shape: [Int]
    public let count: Int
    /// The first element; valid for `count` elements for the tensor's whole lifetime.
    public let data: UnsafeMutablePointer<Float>

    /// Cache-line (and AVX-512 vector) alignment, so vector loops and sgemm never split a
    /// line at the start of a buffer.
    public static let alignment = 64

    /// A zero-filled tensor.
    public init(shape: [Int]) {
        require(shape.allSatisfy { $0 >= 0 }, "tensor shape \(shape) has a negative dimension")
        self.shape = shape
        count = shape.reduce(1, *)
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: Tensor.alignment)
        data = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        data.initialize(repeating: 0, count: max(count, 1))
    }

    /// A tensor holding `values` in row-major order.
    public convenience init(shape: [Int], values: [Float]) throws(ModelError) {
        let expected = shape.reduce(1, *)
        guard values.count == expected else {
            throw .shapeMismatch("tensor of shape \(shape) needs \(expected) values, got \(values.count)")
        }
        self.init(shape: shape)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { data.update(from: base, count: expected) }
        }
    }

    deinit { data.deallocate() }

    /// The first dimension (the batch) of a tensor with two or more; 1 for a vector.
    public var rows: Int { shape.count >= 2 ? shape[0] : 1 }
    /// Elements per row: the product of the dimensions after the first; a vector's length.
    public var columns: Int { shape.count >= 2 ? count / max(shape[0], 1) : count }

    public subscript(row: Int, column: Int) -> Float {
        get { data[row * columns + column] }
        set { data[row * columns + column] = newValue }
    }

    public subscript(index: Int) -> Float {
        get { data[index] }
        set { data[index] = newValue }
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }

    public func copy(from source: UnsafePointer<Float>) { data.update(from: source, count: count) }

    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }
}

/// A growable scratch buffer of floats for per-batch activations and gradients.
///
/// It reallocates only when asked for more than it holds, so a training loop with a fixed
/// batch size allocates once, on its first step.
final class Scratch {
    private(set) var capacity = 0
    private(set) var data: UnsafeMutablePointer<Float>

    init() {
        data = UnsafeMutableRawPointer.allocate(byteCount: Tensor.alignment, alignment: Tensor.alignment)
            .bindMemory(to: Float.self, capacity: Tensor.alignment / MemoryLayout<Float>.stride)
    }

    deinit { data.deallocate() }

    /// Ensures room for `count` floats; the contents are undefined after growing.
    @discardableResult
    func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            data.deallocate()
            // Rounded up to whole cache lines so a later, slightly larger batch reuses it.
            let rounded = (count + 15) & ~15
            data = UnsafeMutableRawPointer.allocate(
                byteCount: rounded * MemoryLayout<Float>.stride, alignment: Tensor.alignment
            ).bindMemory(to: Float.self, capacity: rounded)
            data.initialize(repeating: 0, count: rounded)
            capacity = rounded
        }
        return data
    }
}
