import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// The precision matrix products run at: float32, or an AMP-style low precision.
public enum MatmulPrecision: String, Sendable, CaseIterable {
    case float32
    case bfloat16
    case float16

    var format: LowPrecisionFormat? {
        switch self {
        case .float32: nil
        case .bfloat16: .bfloat16
        case .float16: .float16
        }
    }
}

/// `cblas_sbgemm`'s C signature (bfloat16 operands, float32 accumulator and output).
typealias SBGEMMFunction = @convention(c) (
    CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint, blasint, blasint,
    Float, UnsafePointer<UInt16>?, blasint, UnsafePointer<UInt16>?, blasint,
    Float, UnsafeMutablePointer<Float>?, blasint
) -> Void

/// How a product at a given precision is computed on this machine.
///
/// The Debian OpenBLAS 0.3.21 here declares `cblas_sbgemm` in `cblas.h` but is built
/// without it (`nm -D` shows no `sbgemm`), so linking against it would fail. The symbol is
/// looked up at run time instead: if a future OpenBLAS exports it, bfloat16 products use
/// it; otherwise they are emulated. Float16 is always emulated (no `shgemm` in 0.3.21).
public enum GEMMBackend: Equatable, Sendable, CustomStringConvertible {
    /// Plain `cblas_sgemm`.
    case float32
    /// Inputs rounded to the format (round-to-nearest-even), then `cblas_sgemm`: products
    /// and sums in float32, as bf16/fp16 matrix units with a float32 accumulator do.
    case emulated(LowPrecisionFormat)
    /// OpenBLAS's own `cblas_sbgemm`, found with `dlsym(RTLD_DEFAULT, ...)`.
    case nativeBFloat16

    /// The backend products at `precision` use in this process.
    public static func resolve(_ precision: MatmulPrecision) -> GEMMBackend {
        switch precision {
        case .float32: .float32
        case .bfloat16: nativeSBGEMM == nil ? .emulated(.bfloat16) : .nativeBFloat16
        case .float16: .emulated(.float16)
        }
    }

    public var description: String {
        switch self {
        case .float32:
            "float32 (cblas_sgemm)"
        case .emulated(let format):
            "\(format) emulated: inputs rounded to \(format) (round-to-nearest-even), "
                + "products and sums in float32 via cblas_sgemm"
                + (format == .bfloat16 ? "; this OpenBLAS exports no cblas_sbgemm" : "")
        case .nativeBFloat16:
            "bfloat16 native: cblas_sbgemm (bfloat16 inputs, float32 accumulation)"
        }
    }

    // RTLD_DEFAULT is the null handle on glibc. The result never changes after the first
    // read, which `static let` makes thread-safe.
    static let nativeSBGEMM: SBGEMMFunction? = {
        guard let symbol = dlsym(nil, "cblas_sbgemm") else { return nil }
        return unsafeBitCast(symbol, to: SBGEMMFunction.self)
    }()
}

/// A matrix operand converted for a low-precision product: rounded float32 values for the
/// emulated path, bfloat16 bit patterns for `cblas_sbgemm`. Owns its storage and grows it
/// only when an operand is larger than any before.
final class LowPrecisionOperand {
    private let rounded = Scratch()
    private var halves = UnsafeMutablePointer<UInt16>.allocate(capacity: 32)
    private var halfCapacity = 32

    deinit { halves.deallocate() }

    func load(_ source: UnsafePointer<Float>, count: Int, kernel: GEMMKernel) {
        switch kernel {
        case .sgemm:
            fatalError("float32 products take their operands unconverted")
        case .emulated(let format):
            LowPrecision.round(source, into: rounded.reserve(count), count: count, format: format)
        case .sbgemm:
            if count > halfCapacity {
                halves.deallocate()
                halfCapacity = (count + 31) & ~31
                halves = UnsafeMutablePointer<UInt16>.allocate(capacity: halfCapacity)
            }
            LowPrecision.encode(source, into: halves, count: count, format: .bfloat16)
        }
    }

    var floats: UnsafePointer<Float> { UnsafePointer(rounded.data) }
    var bfloat16: UnsafePointer<UInt16> { UnsafePointer(halves) }
}

/// The resolved kernel for a backend; `sbgemm` carries the function so tests can inject one.
enum GEMMKernel {
    case sgemm
    case emulated(LowPrecisionFormat)
    case sbgemm(SBGEMMFunction)

    init(_ backend: GEMMBackend) {
        switch backend {
        case .float32: self = .sgemm
        case .emulated(let format): self = .emulated(format)
        case .nativeBFloat16:
            if let function = GEMMBackend.nativeSBGEMM { self = .sbgemm(function) } else { self = .emulated(.bfloat16) }
        }
    }
}

/// Row-major C = alpha * op(A) op(B) + beta * C. `transA`/`transB` say whether the stored
/// matrix is transposed; leading dimensions are the stored row lengths.
struct GEMMShape {
    var transA: Bool, transB: Bool
    var m: Int, n: Int, k: Int
    var lda: Int, ldb: Int, ldc: Int

    /// Elements of A and B as stored (first to last, gaps between rows included), which is
    /// what an operand conversion must cover.
    var aCount: Int { span(rows: transA ? k : m, columns: transA ? m : k, stride: lda) }
    var bCount: Int { span(rows: transB ? n : k, columns: transB ? k : n, stride: ldb) }

    private func span(rows: Int, columns: Int, stride: Int) -> Int {
        rows == 0 || columns == 0 ? 0 : (rows - 1) * stride + columns
    }
}

@inline(__always)
func sgemm(_ s: GEMMShape, alpha: Float = 1, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
           beta: Float, _ c: UnsafeMutablePointer<Float>) {
    cblas_sgemm(CblasRowMajor, s.transA ? CblasTrans : CblasNoTrans, s.transB ? CblasTrans : CblasNoTrans,
                blasint(s.m), blasint(s.n), blasint(s.k), alpha, a, blasint(s.lda), b, blasint(s.ldb),
                beta, c, blasint(s.ldc))
}

/// The product of two operands already loaded for `kernel`.
func gemm(_ s: GEMMShape, kernel: GEMMKernel, alpha: Float = 1, _ a: LowPrecisionOperand, _ b: LowPrecisionOperand,
          beta: Float, _ c: UnsafeMutablePointer<Float>) {
    switch kernel {
    case .sgemm:
        fatalError("float32 products take their operands unconverted")
    case .emulated:
        sgemm(s, alpha: alpha, a.floats, b.floats, beta: beta, c)
    case .sbgemm(let function):
        function(CblasRowMajor, s.transA ? CblasTrans : CblasNoTrans, s.transB ? CblasTrans : CblasNoTrans,
                 blasint(s.m), blasint(s.n), blasint(s.k), alpha, a.bfloat16, blasint(s.lda), b.bfloat16,
                 blasint(s.ldb), beta, c, blasint(s.ldc))
    }
}

/// A reusable matrix multiplier at a fixed precision, for code outside the layers (a
/// mixed-precision wrapper, a benchmark). Holds scratch for converted operands, so after
/// the first call at a given size it does not allocate. Not thread-safe: one per thread.
public final class MatrixMultiplier {
    public let precision: MatmulPrecision
    public let backend: GEMMBackend
    let kernel: GEMMKernel
    private let a = LowPrecisionOperand()
    private let b = LowPrecisionOperand()

    public init(precision: MatmulPrecision) {
        self.precision = precision
        backend = GEMMBackend.resolve(precision)
        kernel = GEMMKernel(backend)
    }

    /// Routes bfloat16 products to `sbgemm` regardless of what this OpenBLAS exports.
    init(injecting sbgemm: SBGEMMFunction) {
        precision = .bfloat16
        backend = .nativeBFloat16
        kernel = .sbgemm(sbgemm)
    }

    /// Row-major C[m, n] = alpha * op(A) * op(B) + beta * C, with op(A) m x k and op(B)
    /// k x n; lda/ldb/ldc are the stored row lengths (cblas convention).
    public func multiply(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
                         alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                         beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let shape = GEMMShape(transA: transposeA, transB: transposeB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc)
        if case .sgemm = kernel {
            sgemm(shape, alpha: alpha, a, b, beta: beta, c)
            return
        }
        self.a.load(a, count: shape.aCount, kernel: kernel)
        self.b.load(b, count: shape.bCount, kernel: kernel)
        gemm(shape, kernel: kernel, alpha: alpha, self.a, self.b, beta: beta, c)
    }
}
