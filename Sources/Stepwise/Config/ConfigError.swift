import Foundation

/// A config could not be read, inherited, merged or overridden. Prints as
/// `file:line:col: message`, the form editors and terminals turn into links.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// What went wrong, for callers (and tests) that branch on it; the message is for people.
    public enum Kind: String, Sendable {
        /// The file is missing, unreadable or has an unknown extension.
        case io
        /// The text is not valid YAML / JSON / Python.
        case syntax
        /// Valid Python, but not one of the literal forms a `.py` config may use.
        case unsupported
        /// `_base_` problems: a missing base, a cycle, a key defined by two bases.
        case inheritance
        /// A `{{_base_.x}}` reference that cannot be resolved.
        case reference
        /// A child value cannot be merged into its base (or an override into the config).
        case merge
        /// A value has the wrong type for where it is used (e.g. `_base_ = 3`).
        case type
    }

    public var kind: Kind
    public var file: String
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(_ kind: Kind, _ message: String, at origin: ConfigOrigin) {
        self.kind = kind
        self.file = origin.file
        self.line = origin.line
        self.column = origin.column
        self.message = message
    }

    public var origin: ConfigOrigin { ConfigOrigin(file: file, line: line, column: column) }
    public var description: String { "\(origin): \(message)" }
    public var errorDescription: String? { description }
}
