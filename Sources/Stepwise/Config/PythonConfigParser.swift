/// Reads an MMEngine-style `.py` config without running Python: top-level
/// `name = value` assignments whose values are literals (`dict(...)`, `{...}`, lists,
/// tuples, strings, numbers, `True`/`False`/`None`), names assigned earlier in the file,
/// `**name` inside dicts, and arithmetic on them (`lr = base_lr * 8 / 256`), evaluated
/// as Python evaluates them (see `PythonArithmetic`). Anything else is refused at its
/// line and column, so a config never silently means something else.
struct PythonConfigParser {
    private let source: SourceText
    private let tokens: [PyToken]
    private var pos = 0
    /// What each name assigned so far holds, for later statements (Python's module namespace).
    private var names: [String: PyOperand] = [:]

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
                let value = try expression(allowBareTuple: true)
                config[name, origin: source.origin(t.offset)] = value.value
                names[name] = value
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
    //
    // Python's grammar, cut down to what configs use:
    //   expression := sum (',' sum)*          (a bare tuple, where allowed)
    //   sum        := term (('+' | '-') term)*
    //   term       := factor (('*' | '/' | '//' | '%') factor)*
    //   factor     := ('+' | '-') factor | power
    //   power      := atom ['**' factor]

    private mutating func expression(allowBareTuple: Bool) throws -> PyOperand {
        let first = try sum()
        guard allowBareTuple, isOp(",") else { return first }
        // `x = 1, 2` is a tuple in Python; tuples read as lists.
        var items = [first.value]
        while isOp(",") {
            advance()
            if token.kind == .newline || token.kind == .end || isOp(";") { break }
            items.append(try sum().value)
        }
        return PyOperand(value: .list(items), isTuple: true)
    }

    private mutating func sum() throws -> PyOperand {
        var left = try term()
        while isOp("+") || isOp("-") {
            let op = token
            advance()
            left = try apply(op, left, try term())
        }
        return left
    }

    private mutating func term() throws -> PyOperand {
        var left = try factor()
        while isOp("*") || isOp("/") || isOp("//") || isOp("%") {
            let op = token
            advance()
            left = try apply(op, left, try factor())
        }
        return left
    }

    private mutating func factor() throws -> PyOperand {
        guard isOp("-") || isOp("+") else { return try power() }
        let sign = token
        advance()
        // -9223372036854775808 is in range only because of its sign.
        if isOp("-", sign), case .int(let magnitude) = token.kind, magnitude == UInt64(Int64.max) + 1, !isOp("**", peek(1)) {
            advance()
            return PyOperand(value: .int(.min))
        }
        let operand = try factor()
        guard case .op(let op) = sign.kind else { return operand }
        do { return try PythonArithmetic.unary(op, operand) } catch let f as PythonArithmetic.Failure {
            throw source.error(f.kind, f.message, at: sign.offset)
        }
    }

    private mutating func power() throws -> PyOperand {
        let base = try atom()
        guard isOp("**") else { return base }
        let op = token
        advance()
        return try apply(op, base, try factor())
    }

    private func apply(_ op: PyToken, _ a: PyOperand, _ b: PyOperand) throws -> PyOperand {
        guard case .op(let symbol) = op.kind else { return a }
        do { return try PythonArithmetic.binary(symbol, a, b) } catch let f as PythonArithmetic.Failure {
            throw source.error(f.kind, f.message, at: op.offset)
        }
    }

    private func tooLarge(_ t: PyToken) -> ConfigError {
        syntax("integer literal does not fit in 64 bits", at: t)
    }

    private mutating func atom() throws -> PyOperand {
        let t = token
        switch t.kind {
        case .int(let magnitude):
            advance()
            guard magnitude <= UInt64(Int64.max) else { throw tooLarge(t) }
            return PyOperand(value: .int(Int64(magnitude)))
        case .float(let d):
            advance()
            return PyOperand(value: .float(d))
        case .string(var s):
            advance()
            // Adjacent literals concatenate: 'a' "b" -> 'ab'.
            while case .string(let more) = token.kind { s += more; advance() }
            return PyOperand(value: .string(s))
        case .reference(let text):
            advance()
            return PyOperand(value: .string(text))
        case .name(let name):
            return try named(name, t)
        case .op("["):
            return PyOperand(value: .list(try sequence(closer: "]")))
        case .op("("):
            return try parenthesized()
        case .op("{"):
            return PyOperand(value: .dict(try braceDict()))
        case .op(let op) where op == "*" || op == "**":
            throw unsupported("'\(op)' unpacking", at: t)
        case .op("..."):
            throw unsupported("Ellipsis", at: t)
        default:
            throw diagnose(t, expected: "a value")
        }
    }

    private mutating func named(_ name: String, _ t: PyToken) throws -> PyOperand {
        switch name {
        case "True": advance(); return PyOperand(value: .bool(true))
        case "False": advance(); return PyOperand(value: .bool(false))
        case "None": advance(); return PyOperand(value: .null)
        case "dict" where isOp("(", peek(1)): return PyOperand(value: .dict(try dictCall()))
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
        if isOp(":=", next) { throw unsupported("assignment expression ':='", at: next) }
        guard let value = names[name] else {
            throw source.error(.reference, "name '\(name)' is not defined: a config may use only names assigned earlier "
                                   + "in the same file (a base config's values are written {{_base_.\(name)}})", at: t.offset)
        }
        advance()
        return value
    }

    /// Elements up to `closer`; the opening bracket is the current token.
    private mutating func sequence(closer: String) throws -> [ConfigValue] {
        let open = token
        try rejectComprehension(open)
        advance()
        var items: [ConfigValue] = []
        while !isOp(closer) {
            items.append(try expression(allowBareTuple: false).value)
            if isOp(",") { advance(); continue }
            guard isOp(closer) else { throw diagnose(token, expected: "',' or '\(closer)'") }
        }
        advance()
        return items
    }

    private mutating func parenthesized() throws -> PyOperand {
        let open = token
        try rejectComprehension(open)
        advance()
        if isOp(")") { advance(); return PyOperand(value: .list([]), isTuple: true) }
        let first = try expression(allowBareTuple: false)
        if isOp(")") { advance(); return first }
        guard isOp(",") else { throw diagnose(token, expected: "',' or ')'") }
        var items = [first.value]
        while isOp(",") {
            advance()
            if isOp(")") { break }
            items.append(try expression(allowBareTuple: false).value)
        }
        guard isOp(")") else { throw diagnose(token, expected: "',' or ')'") }
        advance()
        return PyOperand(value: .list(items), isTuple: true)
    }

    /// `**name` inside a dict display or `dict(...)`: the dict an earlier name holds.
    private mutating func unpacked(in what: String) throws -> ConfigDict {
        let star = token
        advance()
        let operand = try factor()
        guard case .dict(let d) = operand.value else {
            throw source.error(.type, "'**' in \(what) needs a dict, not \(operand.value.typeDescription)", at: star.offset)
        }
        return d
    }

    private mutating func braceDict() throws -> ConfigDict {
        let open = token
        try rejectComprehension(open)
        advance()
        var dict = ConfigDict(origin: source.origin(open.offset))
        while !isOp("}") {
            if isOp("**") {
                // {**base, 'k': v}: later entries win, as in Python.
                for e in try unpacked(in: "a dict display").entries { dict[e.key, origin: e.origin] = e.value }
            } else {
                let keyToken = token
                let key = try expression(allowBareTuple: false).value
                guard isOp(":") else {
                    if isOp(",") || isOp("}") { throw unsupported("set literal", at: open) }
                    throw diagnose(token, expected: "':'")
                }
                guard case .string(let k) = key, BaseReference.index(of: k) == nil else {
                    throw unsupported("dict key must be a string, not \(key.typeDescription)", at: keyToken)
                }
                advance()
                // A repeated key keeps its first position and takes the last value, as in Python.
                dict[k, origin: source.origin(keyToken.offset)] = try expression(allowBareTuple: false).value
            }
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
            if isOp("**") {
                for e in try unpacked(in: "dict()").entries {
                    // Python: dict() got multiple values for keyword argument 'k'.
                    if dict[e.key] != nil { throw syntax("keyword argument repeated: '\(e.key)' (also in the '**' dict)", at: t) }
                    dict[e.key, origin: e.origin] = e.value
                }
            } else {
                guard case .name(let key) = t.kind, isOp("=", peek(1)) else {
                    throw unsupported("positional argument to dict() (use keyword arguments: dict(key=value))", at: t)
                }
                if Self.keywords.contains(key) { throw syntax("'\(key)' is a Python keyword and cannot be an argument name", at: t) }
                if dict[key] != nil { throw syntax("keyword argument repeated: '\(key)'", at: t) }
                advance(); advance()
                dict[key, origin: source.origin(t.offset)] = try expression(allowBareTuple: false).value
            }
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
