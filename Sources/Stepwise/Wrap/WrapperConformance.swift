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
        try ConfigLoader.load(path: path)
    }
}
