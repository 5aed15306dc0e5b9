import Foundation

/// Runs conformance cases of kind "optim_wrapper" (conformance/FORMAT.md): an optimizer
/// inside an OptimWrapper / AmpOptimWrapper, fed per-iteration gradients of the unscaled
/// loss `sum(param * g)`, checked after every iteration for the parameters, whether the
/// optimizer stepped, the loss scale and the clipping norm.
public enum WrapperConformance {
    public static let kind = "optim_wrapper"

    /// Every mismatch of one case, as lines a person can read ("iter 3: w[2] = ...");
    /// empty when the case passes.
    public static func run(_ c: ConfigDict, registry: PluginRegistry) throws -> [String] {
        let name = c["name"]?.string ?? "?"
        guard let config = c["optim_wrapper"]?.dict else { throw StepwiseError.config("case \(name) has no optim_wrapper dict") }
        guard let paramDict = c["params"]?.dict, let steps = c["steps"]?.list, let expected = c["expected"]?.list else {
            throw StepwiseError.config("case \(name) needs params, steps and expected")
        }
        let tolerance = c["tolerance"]?.dict
        let rtol = tolerance?["rtol"]?.double ?? 1e-5, atol = tolerance?["atol"]?.double ?? 1e-7
        func close(_ got: Double, _ want: Double) -> Bool {
            got == want || abs(got - want) <= atol + rtol * abs(want)
        }

        let params = try paramDict.entries.map { e -> Parameter in
            guard let d = e.value.dict, let shape = d["shape"]?.list?.compactMap(\.int), let data = d["data"]?.list else {
                throw StepwiseError.config("case \(name): param '\(e.key)' needs shape and data")
            }
            return Parameter(name: e.key, shape: shape.map(Int.init), values: data.map { Float($0.double ?? .nan) })
        }
        let groups = c["param_groups"]?.list?.compactMap(\.dict)
        let wrapper = try OptimWrapper(registry: registry, config: config, params: params, paramGroups: groups)
        let maxIters = Int(c["max_iters"]?.int ?? Int64(steps.count))
        try wrapper.initializeCountStatus(initCounts: 0, maxCounts: maxIters)

        var failures: [String] = []
        for (k, stepValue) in steps.enumerated() {
            guard k < expected.count, let want = expected[k].dict else { break }
            let grads = stepValue.dict?["grads"]?.dict ?? ConfigDict()
            let report = try wrapper.updateParams(loss: 0) { factor in
                let f = Float(factor)
                for p in params {
                    guard let g = grads[p.name]?.list else { continue }
                    let values = g.map { Float($0.double ?? .nan) }
                    values.withUnsafeBufferPointer { p.accumulateGrad($0, factor: f) }
                }
            }
            let step = report.step
            if let s = want["stepped"]?.bool, s != (step?.stepped ?? false) {
                failures.append("iter \(k): stepped = \(step?.stepped ?? false), expected \(s)")
            }
            if let scale = want["loss_scale"]?.double, !close(wrapper.lossScale, scale) {
                failures.append("iter \(k): loss_scale = \(wrapper.lossScale), expected \(scale)")
            }
            let norm = step?.gradNorm
            if let wantNorm = want["grad_norm"]?.double {
                if let norm {
                    if !close(Double(Float(norm)), wantNorm) { failures.append("iter \(k): grad_norm = \(Float(norm)), expected \(wantNorm)") }
                } else {
                    failures.append("iter \(k): no grad_norm, expected \(wantNorm)")
                }
            } else if let norm {
                failures.append("iter \(k): grad_norm = \(norm), expected none")
            }
            for p in params {
                guard let values = want["params"]?.dict?[p.name]?.list else { continue }
                for (i, v) in values.enumerated() where i < p.count {
                    let w = Double(Float(v.double ?? .nan))
                    let got = Double(p.data[i])
                    if !close(got, w) {
                        failures.append("iter \(k): \(p.name)[\(i)] = \(Float(got)), expected \(Float(w))")
                        break
                    }
                }
            }
        }
        return failures
    }

    /// Reads a case file (JSON) into config values.
    public static func load(_ path: String) throws -> ConfigDict {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw StepwiseError(.io, "cannot read \(path): \(error.localizedDescription)")
        }
        var reader = JSONReader(Array(data))
        guard let value = reader.document(), var dict = value.dict else {
            throw StepwiseError.config("\(path) is not a JSON object (error near byte \(reader.position))")
        }
        dict.origin = ConfigOrigin(file: path)
        return dict
    }
}

/// JSON text to config values: integers stay ints, numbers with a fraction or an
/// exponent are floats, objects keep their key order.
struct JSONReader {
    private let bytes: [UInt8]
    private(set) var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() -> ConfigValue? {
        guard let v = value(depth: 0) else { return nil }
        skipSpace()
        return position == bytes.count ? v : nil
    }

    private mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func take(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard position + w.count <= bytes.count, Array(bytes[position..<position + w.count]) == w else { return false }
        position += w.count
        return true
    }

    private mutating func value(depth: Int) -> ConfigValue? {
        guard depth < 128 else { return nil }
        skipSpace()
        guard position < bytes.count else { return nil }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            position += 1
            var d = ConfigDict()
            skipSpace()
            if take("}") { return .dict(d) }
            while true {
                skipSpace()
                guard let key = string() else { return nil }
                skipSpace()
                guard take(":"), let v = value(depth: depth + 1) else { return nil }
                d[key] = v
                skipSpace()
                if take(",") { continue }
                return take("}") ? .dict(d) : nil
            }
        case UInt8(ascii: "["):
            position += 1
            var items: [ConfigValue] = []
            skipSpace()
            if take("]") { return .list(items) }
            while true {
                guard let v = value(depth: depth + 1) else { return nil }
                items.append(v)
                skipSpace()
                if take(",") { continue }
                return take("]") ? .list(items) : nil
            }
        case UInt8(ascii: "\""):
            return string().map(ConfigValue.string)
        default:
            if take("true") { return .bool(true) }
            if take("false") { return .bool(false) }
            if take("null") { return .null }
            return number()
        }
    }

    private mutating func number() -> ConfigValue? {
        let start = position
        while position < bytes.count, Set("+-0123456789.eE".utf8).contains(bytes[position]) { position += 1 }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if !text.contains(where: { ".eE".contains($0) }), let i = Int64(text) { return .int(i) }
        return Double(text).map(ConfigValue.float)
    }

    private mutating func string() -> String? {
        guard take("\"") else { return nil }
        var out: [UInt8] = []
        while position < bytes.count {
            let c = bytes[position]
            position += 1
            if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            guard c == UInt8(ascii: "\\") else { out.append(c); continue }
            guard position < bytes.count else { return nil }
            let e = bytes[position]
            position += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard position + 4 <= bytes.count,
                      let code = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16),
                      let scalar = Unicode.Scalar(code) else { return nil }
                position += 4
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: out.append(e)
            }
        }
        return nil
    }
}
