import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// The host path end to end: bundled plugin -> registry -> config -> optimizer -> step.
final class OptimizerHostTests: XCTestCase {
    static let registry = PluginRegistry.load(.init(includeEnvironment: false))

    func testBundledSGDStepsLikeTorchOnAGoldenCase() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/conformance/optimizers/sgd_nesterov_wd.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let opt = json["optimizer"] as! [String: Any]
        var config = ConfigDict()
        for key in opt.keys.sorted() {
            let v = opt[key]!
            if let s = v as? String { config[key] = .string(s) }
            else if let b = v as? Bool { config[key] = .bool(b) }
            else if let n = v as? NSNumber { config[key] = .float(n.doubleValue) }
        }
        let params = json["params"] as! [String: [String: Any]]
        let p = params.keys.sorted().map { name in
            Parameter(name: name, shape: params[name]!["shape"] as! [Int],
                      values: (params[name]!["data"] as! [NSNumber]).map { $0.floatValue })
        }
        let optimizer = try Optimizer(registry: Self.registry, config: config, params: p)
        let steps = json["steps"] as! [[String: Any]]
        let expected = json["expected"] as! [[String: [NSNumber]]]
        for (k, step) in steps.enumerated() {
            let grads = step["grads"] as! [String: [NSNumber]]
            for param in p {
                if let g = grads[param.name] { param.setGrad(g.map { $0.floatValue }) } else { param.hasGrad = false }
            }
            try optimizer.step()
            for param in p {
                let want = expected[k][param.name]!.map { $0.floatValue }
                for (got, w) in zip(param.values, want) {
                    XCTAssertEqual(got, w, accuracy: 1e-7 + 1e-5 * abs(w), "step \(k) \(param.name)")
                }
            }
        }
        let state = try optimizer.stateDict()
        XCTAssertEqual(state.initialized.count, p.count)
        XCTAssertTrue(state.tensors.allSatisfy { $0.key.hasSuffix(".momentum_buffer") })
    }

    func testNesterovWithoutMomentumIsRejectedByThePluginCheck() {
        let config = ConfigDict(["type": .string("SGD"), "lr": .float(0.1), "nesterov": .bool(true)])
        XCTAssertThrowsError(try Optimizer(registry: Self.registry, config: config, params: [])) { error in
            XCTAssertTrue("\(error)".contains("Nesterov momentum requires a momentum and zero dampening"), "\(error)")
        }
    }
}
