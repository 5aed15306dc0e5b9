/// Every error the host reports: a category and a message that says what is wrong and
/// where (key, component, file).
public struct StepwiseError: Error, CustomStringConvertible, Equatable {
    public enum Category: Sendable, Equatable {
        case config       // a config names something wrong
        case plugin       // a plugin misbehaved or was refused
        case state        // saved state is malformed or does not fit
        case io
        case usage        // an API was called in a way it does not support
    }

    public var category: Category
    public var message: String

    public init(_ category: Category, _ message: String) {
        self.category = category
        self.message = message
    }

    public static func config(_ m: String) -> StepwiseError { .init(.config, m) }
    public static func plugin(_ m: String) -> StepwiseError { .init(.plugin, m) }
    public static func state(_ m: String) -> StepwiseError { .init(.state, m) }
    public static func usage(_ m: String) -> StepwiseError { .init(.usage, m) }

    public var description: String { message }
}
