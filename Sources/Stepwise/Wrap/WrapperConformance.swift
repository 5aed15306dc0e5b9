import Foundation

/// Cases of kind "optim_wrapper" (conformance/FORMAT.md): an optimizer inside an
/// OptimWrapper / AmpOptimWrapper, fed per-iteration gradients of the unscaled loss
/// `sum(param * g)`. Computes, per iteration, the parameters, whether the optimizer
/// stepped, the loss scale after the iteration (AMP) and the clipping norm (when the
/// wrapper clipped by norm and the norm was finite).
public struct WrapperConformance: ConformanceKind {
    public let kind = "optim_wrapper"

    public init() {}

    // Parameters and norms are float32 values; loss scales are doubles.
    public func expectedIsFloat32(path: [String]) -> Bool { !path.contains(".loss_scale") }

    public func run(_ c: ConformanceCase, registry: PluginRegistry) throws -> JSONValue {
        let json = c.json
        guard let config = json["optim_wrapper"]?.configValue.dict else {
            throw StepwiseError.config("\(c.fileName): 'optim_wrapper' must be a config dict")
        }
        guard json["params"]?.object != nil, let steps = json["steps"]?.array, let expected = json["expected"]?.array else {
            throw StepwiseError.config("\(c.fileName): an optim_wrapper case needs 'params', 'steps' and 'expected'")
        }
        let params = try c.parameters()
        let groups = try c.paramGroups()
        let wrapper = try OptimWrapper(registry: registry, config: config, params: params, paramGroups: groups)
        // As the Runner: initialize_count_status(model, 0, max_iters).
        try wrapper.initializeCountStatus(initCounts: 0, maxCounts: json["max_iters"]?.int ?? steps.count)

        var computed: [JSONValue] = []
        for (k, step) in steps.enumerated() {
            let entries = step["grads"]?.object ?? []
            let grads = try entries.map { name, g -> (String, [Float]) in
                guard let values = g.array else { throw StepwiseError.config("\(c.fileName): steps[\(k)].grads.\(name) must be a list") }
                return (name, try c.floats(values, "steps[\(k)].grads.\(name)"))
            }
            // The backward of factor * sum(p * g): float32(factor) * g, added to .grad.
            let report = try wrapper.updateParams(loss: 0) { factor in
                let f = Float(factor)
                for p in params {
                    guard let g = grads.first(where: { $0.0 == p.name })?.1 else { continue }
                    g.withUnsafeBufferPointer { p.accumulateGrad($0, factor: f) }
                }
            }
            var entry: [(String, JSONValue)] = [
                ("params", .object(params.map { ($0.name, .floats($0.values)) })),
                ("stepped", .bool(report.step?.stepped ?? false)),
            ]
            if k < expected.count, expected[k]["loss_scale"] != nil { entry.append(("loss_scale", .double(wrapper.lossScale))) }
            if let norm = report.step?.gradNorm { entry.append(("grad_norm", .float(Float(norm)))) }
            computed.append(.object(entry))
        }
        return .array(computed)
    }
}
