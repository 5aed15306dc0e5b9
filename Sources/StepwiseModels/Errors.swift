/// Stops on a misuse that would otherwise corrupt memory. Unlike `precondition`, it stays
/// in `-Ounchecked` builds (this target's), and costs one compare per call.
@inline(__always)
func require(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #file, line: UInt = #line) {
    if !condition { fatalError(message(), file: file, line: line) }
}

/// Errors from building or running the example models. Each message says what was wrong
/// and with which values, so the caller can fix the call or the config that caused it.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    /// Layer widths, tensor shapes or batch sizes that do not fit together.
    case shapeMismatch(String)
    /// A value outside the range an operation accepts.
    case invalidArgument(String)
    /// A serialized random-number-generator state that cannot be restored.
    case invalidState(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let message): "shape mismatch: \(message)"
        case .invalidArgument(let message): "invalid argument: \(message)"
        case .invalidState(let message): "invalid state: \(message)"
        }
    }
}
