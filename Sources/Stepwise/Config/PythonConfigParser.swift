/// Reads an MMEngine-style `.py` config without running Python: top-level
/// `name = value` assignments whose values are literals (`dict(...)`, `{...}`, lists,
/// tuples, strings, numbers, `True`/`False`/`None`, unary signs). Anything else is
/// refused at its line and column, so a config never silently means something else.
struct PythonConfigParser {
    private let source: SourceText
    private let tokens: [PyToken]
    private var pos = 0

    private static let keywords: Set<String> = [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
        "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
        "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
        "return", "try", "while", "with", "yield",
    ]
    private static let arithmetic: Set<String> = [
        "+", "-", "*", "/", "//", "%", "**", "@", "&", "|", "^", "<<", ">>", "~",
    ]
    private static let comparisons: Set<String> = ["<", ">", "==", "!=", "<=", ">="]
    private static let augmented: Set<String> = [
        "+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "&=", "|=", "^=", ">>=", "<<=",
    ]

    static func parse(_ source: SourceText) throws -> ConfigDict {
        var parser = PythonConfigParser(source: source, tokens: try PythonLexer.tokenize(source))
        return try parser.module()
    }

    private init(source: SourceText, tokens: [PyToken]) {
        self.source = source
        self.tokens = tokens
    }

    // MARK: Token access

    private var token: PyToken { tokens[min(pos, tokens.count - 1)] }
    private func peek(_ k: Int) -> PyToken { tokens[min(pos + k, tokens.count - 1)] }
    private mutating func advance() { pos += 1 }

    private func isOp(_ op: String, _ t: PyToken? = nil) -> Bool { (t ?? token).kind == .op(op) }
    private func isName(_ name: String, _ t: PyToken? = nil) -> Bool { (t ?? token).kind == .name(name) }

    private func unsupported(_ what: String, at t: PyToken) -> ConfigError {
        source.error(.unsupported, "unsupported Python: \(what)", at: t.offset)
    }

    private func syntax(_ message: String, at t: PyToken) -> ConfigError {
        source.error(.syntax, message, at: t.offset)
    }

    // MARK: Statements

    private mutating func module() throws -> ConfigDict {
        var config = ConfigDict(origin: ConfigOrigin(file: source.file))
        while token.kind != .end {
            if token.kind == .newline || isOp(";") { advance(); continue }
            if token.kind == .indent {
                throw syntax("unexpected indentation: config statements start at column 1", at: token)
            }
            try statement(into: &config)
            guard token.kind == .newline || token.kind == .end || isOp(";") else {
                throw diagnose(token, expected: "end of line")
            }
        }
        return config
    }

    private mutating func statement(into config: inout ConfigDict) throws {
        let t = token
        switch t.kind {
        case .name(let name):
            let next = peek(1)
            if name == "import" || (name == "from" && next.kind != .op("=")) {
                throw unsupported("import", at: t)
            }
            if ["def", "class", "if", "for", "while", "with", "try", "assert", "del", "global",
                "nonlocal", "return", "raise", "pass", "break", "continue", "async"].contains(name) {
                throw unsupported("'\(name)' statement", at: t)
            }
            if next.kind == .op("=") {
                guard !Self.keywords.contains(name) else { throw syntax("cannot assign to '\(name)'", at: t) }
                advance(); advance()
                if case .name = token.kind, isOp("=", peek(1)) {
                    throw unsupported("chained assignment", at: token)
                }
                config[name, origin: source.origin(t.offset)] = try expression(allowBareTuple: true)
                return
            }
            if case .op(let op) = next.kind {
                if Self.augmented.contains(op) { throw unsupported("augmented assignment '\(op)'", at: next) }
                if op == ":" { throw unsupported("annotated assignment", at: next) }
                if op == "," { throw unsupported("tuple unpacking", at: next) }
            }
        case .string:
            // A bare string is a docstring: harmless, and common at the top of configs.
            _ = try atom()
            if token.kind == .newline || token.kind == .end || isOp(";") { return }
            throw diagnose(token, expected: "end of line")
        default:
            break
        }
        _ = try expression(allowBareTuple: true)
        if isOp("=") { throw unsupported("assignment to something other than a plain name", at: token) }
        if !(token.kind == .newline || token.kind == .end || isOp(";")) { throw diagnose(token, expected: "end of line") }
        throw unsupported("expression statement (a config holds only 'name = value' lines)", at: t)
    }

    // MARK: Expressions

    private mutating func expression(allowBareTuple: Bool) throws -> ConfigValue {
        let first = try unary()
        guard allowBareTuple, isOp(",") else { return first }
        // `x = 1, 2` is a tuple in Python; tuples read as lists.
        var items = [first]
        while isOp(",") {
            advance()
            if token.kind == .newline || token.kind == .end || isOp(";") { break }
            items.append(try unary())
        }
        return .list(items)
    }

    private mutating func unary() throws -> ConfigValue {
        var negative = false
        var signs: [PyToken] = []
        while isOp("-") || isOp("+") {
            if isOp("-") { negative.toggle() }
            signs.append(token)
            advance()
        }
        let t = token
        if case .int(let magnitude) = t.kind {
            advance()
            // -9223372036854775808 is in range only because of its sign.
            if negative {
                guard magnitude <= UInt64(Int64.max) + 1 else { throw tooLarge(t) }
                return .int(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
            }
            guard magnitude <= UInt64(Int64.max) else { throw tooLarge(t) }
            return .int(Int64(magnitude))
        }
        let value = try atom()
        guard let sign = signs.first else { return value }
        switch value {
        case .float(let d): return .float(negative ? -d : d)
        case .int(let v):
            guard negative else { return value }
            guard v != Int64.min else { throw tooLarge(t) }
            return .int(-v)
        default:
            throw unsupported("unary '\(negative ? "-" : "+")' on \(value.typeDescription)", at: sign)
        }
    }

    private func tooLarge(_ t: PyToken) -> ConfigError {
        syntax("integer literal does not fit in 64 bits", at: t)
    }

    private mutating func atom() throws -> ConfigValue {
        let t = token
        switch t.kind {
        case .int:
            return try unary()
        case .float(let d):
            advance()
            return .float(d)
        case .string(var s):
            advance()
            // Adjacent literals concatenate: 'a' "b" -> 'ab'.
            while case .string(let more) = token.kind { s += more; advance() }
            return .string(s)
        case .reference(let text):
            advance()
            return .string(text)
        case .name(let name):
            return try named(name, t)
        case .op("["):
            return .list(try sequence(closer: "]"))
        case .op("("):
            return try parenthesized()
        case .op("{"):
            return .dict(try braceDict())
        case .op(let op) where op == "*" || op == "**":
            throw unsupported("'\(op)' unpacking", at: t)
        case .op("..."):
            throw unsupported("Ellipsis", at: t)
        default:
            throw diagnose(t, expected: "a value")
        }
    }

    private mutating func named(_ name: String, _ t: PyToken) throws -> ConfigValue {
        switch name {
        case "True": advance(); return .bool(true)
        case "False": advance(); return .bool(false)
        case "None": advance(); return .null
        case "dict" where isOp("(", peek(1)): return .dict(try dictCall())
        case "lambda": throw unsupported("lambda", at: t)
        case "not", "and", "or": throw unsupported("boolean operator '\(name)'", at: t)
        case "await", "yield": throw unsupported("'\(name)'", at: t)
        default: break
        }
        let next = peek(1)
        if isOp("(", next) { throw unsupported("function call '\(name)'", at: t) }
        if isOp(".", next) {
            var path = name
            if case .name(let attr) = peek(2).kind { path += "." + attr }
            let hint = name == "_base_" ? "; write {{\(path)}} to use a value from a base config" : ""
            throw unsupported("attribute access '\(path)'\(hint)", at: t)
        }
        if isOp("[", next) { throw unsupported("subscript '\(name)[...]'", at: t) }
        throw unsupported("name '\(name)' (values must be literals: only True, False, None and dict(...) are allowed)", at: t)
    }

    /// Elements up to `closer`; the opening bracket is the current token.
    private mutating func sequence(closer: String) throws -> [ConfigValue] {
        let open = token
        try rejectComprehension(open)
        advance()
        var items: [ConfigValue] = []
        while !isOp(closer) {
            items.append(try expression(allowBareTuple: false))
            if isOp(",") { advance(); continue }
            guard isOp(closer) else { throw diagnose(token, expected: "',' or '\(closer)'") }
        }
        advance()
        return items
    }

    private mutating func parenthesized() throws -> ConfigValue {
        let open = token
        try rejectComprehension(open)
        advance()
        if isOp(")") { advance(); return .list([]) }
        let first = try expression(allowBareTuple: false)
        if isOp(")") { advance(); return first }
        guard isOp(",") else { throw diagnose(token, expected: "',' or ')'") }
        var items = [first]
        while isOp(",") {
            advance()
            if isOp(")") { break }
            items.append(try expression(allowBareTuple: false))
        }
        guard isOp(")") else { throw diagnose(token, expected: "',' or ')'") }
        advance()
        return .list(items)
    }

    private mutating func braceDict() throws -> ConfigDict {
        let open = token
        try rejectComprehension(open)
        advance()
        var dict = ConfigDict(origin: source.origin(open.offset))
        while !isOp("}") {
            if isOp("**") { throw unsupported("'**' unpacking", at: token) }
            let keyToken = token
            let key = try expression(allowBareTuple: false)
            guard isOp(":") else {
                if isOp(",") || isOp("}") { throw unsupported("set literal", at: open) }
                throw diagnose(token, expected: "':'")
            }
            guard case .string(let k) = key, BaseReference.index(of: k) == nil else {
                throw unsupported("dict key must be a string, not \(key.typeDescription)", at: keyToken)
            }
            advance()
            // A repeated key keeps its first position and takes the last value, as in Python.
            dict[k, origin: source.origin(keyToken.offset)] = try expression(allowBareTuple: false)
            if isOp(",") { advance(); continue }
            guard isOp("}") else { throw diagnose(token, expected: "',' or '}'") }
        }
        advance()
        return dict
    }

    private mutating func dictCall() throws -> ConfigDict {
        let callee = token
        advance()
        try rejectComprehension(token)
        advance()
        var dict = ConfigDict(origin: source.origin(callee.offset))
        while !isOp(")") {
            let t = token
            if isOp("**") { throw unsupported("'**' unpacking in dict()", at: t) }
            guard case .name(let key) = t.kind, isOp("=", peek(1)) else {
                throw unsupported("positional argument to dict() (use keyword arguments: dict(key=value))", at: t)
            }
            if Self.keywords.contains(key) { throw syntax("'\(key)' is a Python keyword and cannot be an argument name", at: t) }
            if dict[key] != nil { throw syntax("keyword argument repeated: '\(key)'", at: t) }
            advance(); advance()
            dict[key, origin: source.origin(t.offset)] = try expression(allowBareTuple: false)
            if isOp(",") { advance(); continue }
            guard isOp(")") else { throw diagnose(token, expected: "',' or ')'") }
        }
        advance()
        return dict
    }

    /// `[x for x in y]` would first fail on the name `x`; name the real construct instead.
    private func rejectComprehension(_ open: PyToken) throws {
        var depth = 0
        var k = pos + 1
        while k < tokens.count {
            let t = tokens[k]
            switch t.kind {
            case .op("("), .op("["), .op("{"): depth += 1
            case .op(")"), .op("]"), .op("}"):
                if depth == 0 { return }
                depth -= 1
            case .name("for") where depth == 0: throw unsupported("comprehension", at: open)
            case .end: return
            default: break
            }
            k += 1
        }
    }

    /// Explains a token that cannot follow a complete value.
    private func diagnose(_ t: PyToken, expected: String) -> ConfigError {
        switch t.kind {
        case .op(let op) where Self.arithmetic.contains(op):
            return unsupported("arithmetic operator '\(op)'", at: t)
        case .op(let op) where Self.comparisons.contains(op):
            return unsupported("comparison '\(op)'", at: t)
        case .op("("): return unsupported("call", at: t)
        case .op("["): return unsupported("subscript", at: t)
        case .op("."): return unsupported("attribute access", at: t)
        case .op(":="): return unsupported("assignment expression ':='", at: t)
        case .name("and"), .name("or"), .name("not"):
            return unsupported("boolean operator \(t.describe)", at: t)
        case .name("in"), .name("is"): return unsupported("comparison \(t.describe)", at: t)
        case .name("if"): return unsupported("conditional expression", at: t)
        case .name("for"), .name("async"): return unsupported("comprehension", at: t)
        case .name, .int, .float, .string, .reference:
            return syntax("expected \(expected), found \(t.describe) (missing comma?)", at: t)
        default:
            return syntax("expected \(expected), found \(t.describe)", at: t)
        }
    }
}
