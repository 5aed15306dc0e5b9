/// Where a config value was written: a file and, when the reader knows it, a line and
/// column (1-based). Errors and `stepwise config show` print it.
public struct ConfigOrigin: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?

    public init(file: String, line: Int? = nil, column: Int? = nil) {
        self.file = file; self.line = line; self.column = column
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        if let column { s += ":\(column)" }
        return s
    }
}

/// One value model for every config source (YAML, JSON, MMEngine-style `.py`, command
/// line strings): Python's literal types. Dicts keep their key order and each entry
/// remembers where it was written.
public indirect enum ConfigValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case list([ConfigValue])
    case dict(ConfigDict)

    /// A short type name for messages: "a float", "a list", ...
    public var typeDescription: String {
        switch self {
        case .null: "None"
        case .bool: "a bool"
        case .int: "an int"
        case .float: "a float"
        case .string: "a string"
        case .list: "a list"
        case .dict: "a dict"
        }
    }

    public var dict: ConfigDict? { if case .dict(let d) = self { d } else { nil } }
    public var list: [ConfigValue]? { if case .list(let l) = self { l } else { nil } }
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var int: Int64? { if case .int(let i) = self { i } else { nil } }
    /// Ints read as floats (a config's `lr: 1` is a float hyperparameter).
    public var double: Double? {
        switch self {
        case .float(let f): f
        case .int(let i): Double(i)
        default: nil
        }
    }
}

/// An ordered dict of config entries.
public struct ConfigDict: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: ConfigValue
        public var origin: ConfigOrigin?
        public init(key: String, value: ConfigValue, origin: ConfigOrigin? = nil) {
            self.key = key; self.value = value; self.origin = origin
        }
        // Where a value came from does not change what it is.
        public static func == (a: Entry, b: Entry) -> Bool { a.key == b.key && a.value == b.value }
    }

    public private(set) var entries: [Entry] = []
    /// Where the dict itself was written (the file, for a top-level config).
    public var origin: ConfigOrigin?

    public init(_ entries: [Entry] = [], origin: ConfigOrigin? = nil) {
        self.origin = origin
        for e in entries { self[e.key, origin: e.origin] = e.value }
    }

    public init(_ pairs: KeyValuePairs<String, ConfigValue>) {
        for (k, v) in pairs { self[k] = v }
    }

    public var keys: [String] { entries.map(\.key) }
    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    public subscript(key: String) -> ConfigValue? {
        get { entries.first { $0.key == key }?.value }
        set { self[key, origin: nil] = newValue }
    }

    /// Sets (or with nil removes) a key, keeping its position when it exists.
    public subscript(key: String, origin origin: ConfigOrigin?) -> ConfigValue? {
        get { self[key] }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue {
                    entries[i].value = newValue
                    if let origin { entries[i].origin = origin }
                } else {
                    entries.remove(at: i)
                }
            } else if let newValue {
                entries.append(Entry(key: key, value: newValue, origin: origin))
            }
        }
    }

    public func origin(of key: String) -> ConfigOrigin? {
        entries.first { $0.key == key }?.origin ?? origin
    }

    public static func == (a: ConfigDict, b: ConfigDict) -> Bool { a.entries == b.entries }
}
