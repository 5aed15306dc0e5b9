import Foundation
import StepwiseABI

/// Cases of kind "optimizer": one optimizer driven with given gradients (`steps`) or over
/// a test problem through a closure (`problem`, for LBFGS); `expected` holds the
/// parameters after each step (and `loss`, what a closure step returned).
public struct OptimizerConformance: ConformanceKind {
    public let kind = "optimizer"

    public init() {}

    // Everything in an optimizer case's `expected` is a tensor value or a float32 loss.
    public func expectedIsFloat32(path: [String]) -> Bool { true }

    public func run(_ c: ConformanceCase, registry: PluginRegistry) throws -> JSONValue {
        let json = c.json
        guard let config = json["optimizer"]?.configValue.dict else {
            throw StepwiseError.config("\(c.fileName): 'optimizer' must be a config dict")
        }
        let params = try c.parameters()
        let groups = try c.paramGroups()
        let optimizer = try Optimizer(registry: registry, config: config, params: params, paramGroups: groups)
        guard let expected = json["expected"]?.array else {
            throw StepwiseError.config("\(c.fileName): 'expected' must be a list, one entry per step")
        }

        var computed: [JSONValue] = []
        if let steps = json["steps"]?.array {
            for (k, step) in steps.enumerated() {
                let grads = step["grads"]?.object ?? []
                for p in params {
                    if let g = grads.first(where: { $0.0 == p.name })?.1.array {
                        p.setGrad(try c.floats(g, "steps[\(k)].grads.\(p.name)"))
                    } else {
                        p.hasGrad = false
                    }
                }
                try optimizer.step()
                computed.append(snapshot(params, loss: nil, like: k < expected.count ? expected[k] : nil))
            }
        } else if let problem = json["problem"] {
            guard problem["name"]?.string == "rosenbrock", let count = problem["steps"]?.int,
                  params.count == 1, let x = params.first else {
                throw StepwiseError.config("\(c.fileName): unsupported problem \(problem.render()) (supported: rosenbrock over one parameter)")
            }
            for k in 0..<count {
                let result = try optimizer.step { Rosenbrock.evaluate(x) }
                computed.append(snapshot(params, loss: result.loss, like: k < expected.count ? expected[k] : nil))
            }
        } else {
            throw StepwiseError.config("\(c.fileName): an optimizer case needs 'steps' or 'problem'")
        }
        return .array(computed)
    }

    /// The parameters (and loss) after a step, keyed and ordered like the expected entry.
    private func snapshot(_ params: [Parameter], loss: Double?, like expected: JSONValue?) -> JSONValue {
        var all: [(String, JSONValue)] = params.map { ($0.name, .floats($0.values)) }
        if let loss { all.append(("loss", .float(Float(loss)))) }
        guard let keys = expected?.object?.map(\.0) else { return .object(all) }
        return .object(keys.compactMap { key in all.first { $0.0 == key } })
    }
}

/// FORMAT.md's Rosenbrock problem over one parameter x, evaluated like torch in float32:
/// loss = Σ 100(b − a²)² + (1 − a)² with a = x[0::2], b = x[1::2], and its gradient as
/// autograd computes it (pow backward as grad·(2·base)).
enum Rosenbrock {
    static func evaluate(_ x: Parameter) -> Double {
        let n = x.count / 2
        var loss: Float = 0
        var grad = [Float](repeating: 0, count: x.count)
        for i in 0..<n {
            let a = x.data[2 * i], b = x.data[2 * i + 1]
            let r = b - a * a          // b - a**2
            let s: Float = 1 - a       // 1 - a
            let term = 100 * (r * r) + s * s
            loss = i == 0 ? term : loss + term
            let gr: Float = 100 * (2 * r)  // d/dr of 100 r²
            grad[2 * i + 1] = gr
            grad[2 * i] = (-gr) * (2 * a) + (-(2 * s))
        }
        x.setGrad(grad)
        return Double(loss)
    }
}

extension JSONValue {
    /// The config model's view of a case's JSON: integers without a fraction or exponent
    /// are ints, other numbers floats, arrays lists (tuples), objects dicts in order.
    var configValue: ConfigValue {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let t):
            if !t.contains(where: { ".eE".contains($0) }), let i = Int64(t) { return .int(i) }
            return .float(Double(t) ?? .nan)
        case .string(let s): return .string(s)
        case .array(let items): return .list(items.map(\.configValue))
        case .object(let entries): return .dict(ConfigDict(entries.map { ConfigDict.Entry(key: $0.0, value: $0.1.configValue) }))
        }
    }
}
