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
