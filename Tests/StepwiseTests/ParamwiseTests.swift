import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// Parameter-wise configuration: MMEngine's paramwise_cfg on the model of MMEngine's own
/// tests (tests/test_optim/test_optimizer/test_optimizer.py), MMCV regex
/// paramwise_options, torch and MindSpore param groups.
final class ParamwiseTests: XCTestCase {
    let registry = WrapperFixtures.registry
    let baseLR = 0.01, momentum = 0.0001, baseWD = 0.9

    /// MMEngine's ExampleModel: param1, conv1 (no bias), conv2, bn, sub.{conv1 (depth-wise),
    /// gn, param1}, in named_parameters() order.
    static func exampleModel() -> [Parameter] {
        [Parameter(name: "param1", shape: [1]),
         Parameter(name: "conv1.weight", shape: [4, 3, 1, 1]),
         Parameter(name: "conv2.weight", shape: [2, 4, 1, 1]),
         Parameter(name: "conv2.bias", shape: [2], tag: STEPWISE_PARAM_BIAS),
         Parameter(name: "bn.weight", shape: [2], tag: STEPWISE_PARAM_NORM),
         Parameter(name: "bn.bias", shape: [2], tag: STEPWISE_PARAM_NORM),
         Parameter(name: "sub.param1", shape: [1]),
         Parameter(name: "sub.conv1.weight", shape: [2, 1, 1, 1], tag: STEPWISE_PARAM_DWCONV),
         Parameter(name: "sub.conv1.bias", shape: [2], tag: STEPWISE_PARAM_BIAS),
         Parameter(name: "sub.gn.weight", shape: [2], tag: STEPWISE_PARAM_NORM),
         Parameter(name: "sub.gn.bias", shape: [2], tag: STEPWISE_PARAM_NORM)]
    }

    func build(_ paramwise: String, optimizer: String? = nil, params: [Parameter] = exampleModel()) throws -> OptimWrapper {
        let opt = optimizer ?? "{type: SGD, lr: \(baseLR), weight_decay: \(baseWD), momentum: \(momentum)}"
        let yaml = "{type: OptimWrapper, optimizer: \(opt), paramwise_cfg: \(paramwise)}"
        return try OptimWrapper(registry: registry, config: try WrapperFixtures.config(yaml), params: params)
    }

    /// (lr, weight_decay, momentum) of the group holding each parameter.
    func settings(_ w: OptimWrapper) -> [String: (lr: Double, wd: Double, momentum: Double)] {
        var out: [String: (Double, Double, Double)] = [:]
        for g in w.paramGroups {
            for p in g.params {
                out[p.name] = (g.get(role: STEPWISE_ROLE_LR) ?? .nan, g.get(role: STEPWISE_ROLE_WEIGHT_DECAY) ?? .nan,
                               g.get(role: STEPWISE_ROLE_MOMENTUM) ?? .nan)
            }
        }
        return out
    }

    func assertSettings(_ w: OptimWrapper, _ want: [String: (Double, Double)], file: StaticString = #filePath, line: UInt = #line) {
        let got = settings(w)
        XCTAssertEqual(Set(got.keys), Set(want.keys), file: file, line: line)
        for (name, (lr, wd)) in want {
            XCTAssertEqual(got[name]?.lr, lr, "\(name) lr", file: file, line: line)
            XCTAssertEqual(got[name]?.wd, wd, "\(name) weight_decay", file: file, line: line)
            XCTAssertEqual(got[name]?.momentum, momentum, "\(name) momentum", file: file, line: line)
        }
    }

    // MARK: MMEngine paramwise_cfg

    /// MMEngine's `_check_sgd_optimizer` expectations, for each multiplier alone and all
    /// together (test_default_optimizer_constructor_with_paramwise_cfg).
    func testEachMultiplierAloneAndAllTogetherAsMMEngineTests() throws {
        let all = ["bias_lr_mult": 2.0, "bias_decay_mult": 0.5, "norm_decay_mult": 0, "dwconv_decay_mult": 0.1, "flat_decay_mult": 0.3]
        var cases: [[String: Double]] = all.map { [$0.key: $0.value] }
        cases.append(all)
        // Weight decay rules in MMEngine's order, per parameter: the first one set applies.
        let decayChain: [String: [String]] = [
            "param1": ["flat_decay_mult"], "conv1.weight": [], "conv2.weight": [],
            "conv2.bias": ["bias_decay_mult", "flat_decay_mult"],
            "bn.weight": ["norm_decay_mult", "flat_decay_mult"],
            "bn.bias": ["norm_decay_mult", "bias_decay_mult", "flat_decay_mult"],
            "sub.param1": ["flat_decay_mult"],
            "sub.conv1.weight": ["dwconv_decay_mult"],
            "sub.conv1.bias": ["bias_decay_mult", "dwconv_decay_mult", "flat_decay_mult"],
            "sub.gn.weight": ["norm_decay_mult", "flat_decay_mult"],
            "sub.gn.bias": ["norm_decay_mult", "bias_decay_mult", "flat_decay_mult"],
        ]
        // bias_lr_mult: biases outside normalization layers.
        let biasLR: Set<String> = ["conv2.bias", "sub.conv1.bias"]
        for m in cases {
            let cfg = "{" + m.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
            let w = try build(cfg)
            var want: [String: (Double, Double)] = [:]
            for (name, chain) in decayChain {
                let lr = biasLR.contains(name) ? m["bias_lr_mult"].map { baseLR * $0 } ?? baseLR : baseLR
                let wd = chain.lazy.compactMap { m[$0] }.first.map { baseWD * $0 } ?? baseWD
                want[name] = (lr, wd)
            }
            assertSettings(w, want)
        }
    }

    /// test_default_optimizer_constructor_custom_key, both configurations.
    func testCustomKeysLongestMatchFirstThenAlphabeticalAsMMEngineTests() throws {
        let w = try build("{custom_keys: {param1: {lr_mult: 10}, sub: {lr_mult: 0.1, decay_mult: 0}, sub.gn: {lr_mult: 0.01}, non_exist_key: {lr_mult: 0.0}}, norm_decay_mult: 0.5}")
        assertSettings(w, [
            "param1": (baseLR * 10, baseWD), "sub.param1": (baseLR * 10, baseWD),
            "sub.gn.weight": (baseLR * 0.01, baseWD), "sub.gn.bias": (baseLR * 0.01, baseWD),
            "sub.conv1.weight": (baseLR * 0.1, 0), "sub.conv1.bias": (baseLR * 0.1, 0),
            "bn.weight": (baseLR, baseWD * 0.5), "bn.bias": (baseLR, baseWD * 0.5),
            "conv1.weight": (baseLR, baseWD), "conv2.weight": (baseLR, baseWD), "conv2.bias": (baseLR, baseWD),
        ])
        XCTAssertEqual(w.plan.reasons["sub.param1"], ["custom_keys['param1']"])

        let noWD = try build("{custom_keys: {param1: {lr_mult: 10}}}", optimizer: "{type: SGD, lr: \(baseLR), momentum: \(momentum)}")
        let s = settings(noWD)
        XCTAssertEqual(s["param1"]?.lr, baseLR * 10)
        XCTAssertEqual(s["sub.param1"]?.lr, baseLR * 10)
        XCTAssertEqual(s["conv2.bias"]?.lr, baseLR)
        XCTAssertTrue(s.values.allSatisfy { $0.wd == 0 })
    }

    func testCustomKeyTargetsAreDottedNamesAndOtherSettingsPassThrough() throws {
        // A top-level parameter is matched as ".param1", as MMEngine's f'{prefix}.{name}'.
        let w = try build("{custom_keys: {.param1: {lr_mult: 3, momentum: 0.5}}}")
        let s = settings(w)
        XCTAssertEqual(s["param1"]?.lr, baseLR * 3)
        XCTAssertEqual(s["sub.param1"]?.lr, baseLR * 3, "'sub.param1' contains '.param1' too")
        XCTAssertEqual(s["param1"]?.momentum, 0.5, "other keys of a custom key become group settings")
        XCTAssertEqual(s["conv1.weight"]?.lr, baseLR)
        let g = try XCTUnwrap(w.paramGroups.first { $0.params.contains { $0.name == "param1" } })
        XCTAssertNil(g["lr_mult"], "lr_mult and decay_mult are not optimizer hyperparameters")
    }

    func testValidationErrorsAsMMEngine() throws {
        let noWD = "{type: SGD, lr: 0.01}"
        let table: [(String, String?, String)] = [
            ("{bias_decay_mult: 1, norm_decay_mult: 1}", noWD, "base_wd should not be None"),
            ("{custom_keys: {.backbone: {decay_mult: 0.5}}}", noWD, "base_wd should not be None"),
            ("{custom_keys: [0.1, 0.0001]}", nil, "custom_keys must be a dict"),
            ("{bias_lr_mul: 2}", nil, "did you mean 'bias_lr_mult'"),
            ("{bias_lr_mult: 2}", "{type: SGD, weight_decay: 0.1}", "must set 'lr' explicitly"),
            ("{custom_keys: {conv: {lr_mult: 2, betas: [0.9, 0.99]}}}", nil, "unknown key 'betas'"),
        ]
        for (cfg, optimizer, message) in table {
            XCTAssertThrowsError(try build(cfg, optimizer: optimizer), cfg) { error in
                XCTAssertTrue("\(error)".contains(message), "\(cfg): \(error)")
            }
        }
        // flat_decay_mult without weight_decay is not validated by MMEngine: no effect.
        let w = try build("{flat_decay_mult: 0.5}", optimizer: noWD)
        XCTAssertTrue(settings(w).values.allSatisfy { $0.wd == 0 })
    }

    /// test_default_optimizer_constructor_bypass_duplicate: a shared parameter.
    func testDuplicatesAreRefusedUnlessBypassed() throws {
        let model = Self.exampleModel()
        let shared = model + [model[1]]
        XCTAssertThrowsError(try build("{bias_lr_mult: 2}", params: shared)) { error in
            XCTAssertTrue("\(error)".contains("some parameters appear in more than one parameter group"), "\(error)")
        }
        let w = try build("{bias_lr_mult: 2, bias_decay_mult: 0.5, norm_decay_mult: 0, dwconv_decay_mult: 0.1, flat_decay_mult: 0.3, bypass_duplicate: true}", params: shared)
        XCTAssertEqual(w.optimizer.params.count, model.count)
        XCTAssertEqual(w.plan.skipped.map(\.name), ["conv1.weight"])
        XCTAssertEqual(settings(w)["conv2.bias"]?.lr, baseLR * 2)
    }

    func testMergedGroupsStepExactlyLikeOneGroupPerParameter() throws {
        let cfg = try WrapperFixtures.config("{bias_lr_mult: 2, bias_decay_mult: 0.5, norm_decay_mult: 0, dwconv_decay_mult: 0.1, flat_decay_mult: 0.3}")
        let optimizer = try WrapperFixtures.config("{type: SGD, lr: 0.01, weight_decay: 0.9, momentum: 0.5}")
        var runs: [[[Float]]] = []
        for merge in [true, false] {
            let params = Self.exampleModel()
            let plan = try Paramwise.paramwiseCfg(cfg, optimizer: optimizer, params: params.map(\.spec), merge: merge)
            XCTAssertEqual(plan.groups.count, merge ? 5 : params.count, "flat, default, bias, norm, dwconv")
            let opt = try Optimizer(registry: registry, config: optimizer, params: params, paramGroups: plan.optimizerGroups)
            let w = try OptimWrapper(optimizer: opt, registry: registry, plan: plan)
            for k in 0..<3 {
                try w.updateParams(loss: 0) { f in
                    for (i, p) in params.enumerated() {
                        let g = (0..<p.count).map { Float(($0 + i + k) % 5) - 2 }
                        g.withUnsafeBufferPointer { p.accumulateGrad($0, factor: Float(f)) }
                    }
                }
            }
            runs.append(params.map(\.values))
        }
        XCTAssertEqual(runs[0], runs[1])
    }

    // MARK: MMCV / MMSelfSup regex paramwise_options

    func testRegexOptionsApplyEveryMatchInOrderAndMultiplyTheOptimizerConfig() throws {
        let yaml = #"""
        type: OptimWrapper
        optimizer:
          type: SGD
          lr: 0.1
          weight_decay: 0.0001
          momentum: 0.9
          paramwise_options:
            '(bn|gn)(\d+)?.(weight|bias)': {weight_decay: 0.0}
            'bias': {lr_mult: 2.0}
            'sub\.': {momentum: 0.5}
        """#
        let w = try OptimWrapper(registry: registry, config: try WrapperFixtures.config(yaml), params: Self.exampleModel())
        let s = settings(w)
        XCTAssertEqual(s["bn.weight"]?.wd, 0)
        XCTAssertEqual(s["bn.weight"]?.lr, 0.1)
        XCTAssertEqual(s["bn.bias"]?.wd, 0)
        XCTAssertEqual(s["bn.bias"]?.lr, 0.2, "both patterns apply")
        XCTAssertEqual(s["sub.gn.bias"]?.momentum, 0.5)
        XCTAssertEqual(s["conv2.bias"]?.lr, 0.2)
        XCTAssertEqual(s["conv2.bias"]?.wd, 0.0001)
        XCTAssertEqual(s["conv1.weight"]?.lr, 0.1)
        XCTAssertEqual(w.plan.source, .paramwiseOptions)
        XCTAssertEqual(w.plan.reasons["bn.bias"], ["'(bn|gn)(\\d+)?.(weight|bias)'", "'bias'"])

        XCTAssertThrowsError(try OptimWrapper(registry: registry, config: try WrapperFixtures.config(
            "{optimizer: {type: SGD, lr: 0.1, paramwise_options: {bias: {weight_decay_mult: 0.0}}}}"), params: Self.exampleModel())) { error in
            XCTAssertTrue("\(error)".contains("weight_decay not in optimizer_cfg"), "\(error)")
        }
        XCTAssertThrowsError(try OptimWrapper(registry: registry, config: try WrapperFixtures.config(
            "{optimizer: {type: SGD, lr: 0.1, paramwise_options: {'(bn': {weight_decay: 0.0}}}}"), params: Self.exampleModel())) { error in
            XCTAssertTrue("\(error)".contains("not a valid regular expression"), "\(error)")
        }
    }

    func testMMCVPlacementOfParamwiseCfgAndOneSourceOnly() throws {
        let w = try OptimWrapper(registry: registry, config: try WrapperFixtures.config(
            "{optimizer: {type: SGD, lr: 0.1, weight_decay: 0.01, paramwise_cfg: {norm_decay_mult: 0.0}}}"), params: Self.exampleModel())
        XCTAssertEqual(settings(w)["bn.weight"]?.wd, 0)
        XCTAssertThrowsError(try OptimWrapper(registry: registry, config: try WrapperFixtures.config(
            "{optimizer: {type: SGD, lr: 0.1, paramwise_options: {bias: {lr: 1}}}, paramwise_cfg: {bias_lr_mult: 2}}"), params: Self.exampleModel())) { error in
            XCTAssertTrue("\(error)".contains("more than one way"), "\(error)")
        }
    }

    // MARK: torch and MindSpore param groups

    func testTorchGroupsByNames() throws {
        let w = try OptimWrapper(registry: registry, config: try WrapperFixtures.config(
            "{optimizer: {type: SGD, lr: 0.1}, param_groups: [{params: [conv1.weight, conv2.weight]}, {params: [conv2.bias], lr: 0.01}]}"),
            params: Self.exampleModel())
        XCTAssertEqual(w.paramGroups.map { $0.params.map(\.name) }, [["conv1.weight", "conv2.weight"], ["conv2.bias"]])
        XCTAssertEqual(w.getLR()["lr"], [0.1, 0.01])
        XCTAssertEqual(w.plan.skipped.count, 8, "parameters in no group are not optimized, as in torch")
        let errors: [(String, String)] = [
            ("[{params: [conv1.wieght]}]", "did you mean 'conv1.weight'"),
            ("[{params: [conv1.weight]}, {params: [conv1.weight]}]", "more than one parameter group"),
            ("[{lr: 0.1}]", "has no 'params'"),
            ("[{params: 'nothing_matches'}]", "selects no parameter"),
            ("[{params: [conv1.weight], nesterov_x: true}]", "unknown key 'nesterov_x'"),
        ]
        for (groups, message) in errors {
            XCTAssertThrowsError(try OptimWrapper(registry: registry, config: try WrapperFixtures.config(
                "{optimizer: {type: SGD, lr: 0.1}, param_groups: \(groups)}"), params: Self.exampleModel()), groups) { error in
                XCTAssertTrue("\(error)".contains(message), "\(groups): \(error)")
            }
        }
    }

    func testMindSporeGroupsByFilterWithOrderParams() throws {
        // MindSpore: group_params = [{'params': conv_params, 'weight_decay': 0.01, 'grad_centralization': True},
        //                            {'params': no_conv_params, 'lr': 0.01}, {'order_params': net.trainable_params()}]
        let yaml = #"""
        optimizer:
          type: SGD
          lr: 0.1
          params:
            - {params: {contains: conv}, weight_decay: 0.01, grad_centralization: true}
            - {params: {not_contains: conv}, lr: 0.01}
            - {order_params: '.*'}
        """#
        let w = try OptimWrapper(registry: registry, config: try WrapperFixtures.config(yaml), params: Self.exampleModel())
        XCTAssertEqual(w.paramGroups[0].params.map(\.name), ["conv1.weight", "conv2.weight", "conv2.bias", "sub.conv1.weight", "sub.conv1.bias"])
        XCTAssertEqual(w.paramGroups[1].params.count, 6)
        XCTAssertEqual(w.paramGroups[0].get(role: STEPWISE_ROLE_WEIGHT_DECAY), 0.01)
        XCTAssertEqual(w.paramGroups[1].get(role: STEPWISE_ROLE_LR), 0.01)
        XCTAssertTrue(w.plan.groups[0].gradCentralization)

        let reordered = try Paramwise.paramGroups(
            [.dict(try WrapperFixtures.config("{params: [bn.bias, bn.weight]}")),
             .dict(try WrapperFixtures.config("{order_params: [bn.weight, bn.bias]}"))],
            params: Self.exampleModel().map(\.spec))
        XCTAssertEqual(reordered.groups[0].params, ["bn.weight", "bn.bias"])
        XCTAssertThrowsError(try Paramwise.paramGroups(
            [.dict(try WrapperFixtures.config("{params: [bn.bias, bn.weight]}")),
             .dict(try WrapperFixtures.config("{order_params: [bn.weight]}"))], params: Self.exampleModel().map(\.spec))) { error in
            XCTAssertTrue("\(error)".contains("every grouped parameter exactly once"), "\(error)")
        }
        XCTAssertThrowsError(try Paramwise.paramGroups(
            [.dict(try WrapperFixtures.config("{order_params: [bn.weight], lr: 0.1}"))], params: Self.exampleModel().map(\.spec))) { error in
            XCTAssertTrue("\(error)".contains("should only include the 'order_params' key"), "\(error)")
        }
    }

    /// MindSpore centralizes a gradient of rank >= 2 whose second extent is a multiple of
    /// 16: it subtracts the mean over every axis but the first. Other gradients and other
    /// groups are left alone.
    func testGradCentralizationAsMindSpore() throws {
        let params = [Parameter(name: "conv.weight", shape: [2, 16]), Parameter(name: "fc.weight", shape: [2, 3]),
                      Parameter(name: "other.weight", shape: [1, 16])]
        let w = try OptimWrapper(registry: registry, config: try WrapperFixtures.config(
            "{optimizer: {type: SGD, lr: 1.0}, param_groups: [{params: 'conv|fc', grad_centralization: true}, {params: [other.weight]}]}"),
            params: params)
        let g0 = (0..<32).map { Float($0) }, g1: [Float] = [1, 2, 3, 4, 5, 6], g2 = (0..<16).map { Float($0) }
        try w.updateParams(loss: 0, backward: WrapperFixtures.backward(params, ["conv.weight": g0, "fc.weight": g1, "other.weight": g2]))
        let row0Mean: Float = 7.5, row1Mean: Float = 23.5
        for i in 0..<32 {
            XCTAssertEqual(params[0].data[i], -(g0[i] - (i < 16 ? row0Mean : row1Mean)), "conv.weight[\(i)] centralized")
        }
        XCTAssertEqual(params[1].values, g1.map { -$0 }, "second extent 3 is not a multiple of 16")
        XCTAssertEqual(params[2].values, g2.map { -$0 }, "group without grad_centralization")
    }

    // MARK: stepwise groups

    func testParamSpecParsingAndTagInference() throws {
        let specs = try ParamSpec.parseList("fc1.weight:128x2,fc1.bias:128 bn.weight:128:norm scale:-")
        XCTAssertEqual(specs, [ParamSpec(name: "fc1.weight", shape: [128, 2]),
                               ParamSpec(name: "fc1.bias", shape: [128], tag: STEPWISE_PARAM_BIAS),
                               ParamSpec(name: "bn.weight", shape: [128], tag: STEPWISE_PARAM_NORM),
                               ParamSpec(name: "scale", shape: [])])
        for bad in ["fc1.weight", "fc1.weight:12xq", "w:3:batchnorm", ""] {
            XCTAssertThrowsError(try ParamSpec.parseList(bad), bad)
        }
        let dict = try ParamSpec.parseDict(try WrapperFixtures.config("{params: {w: {shape: [2, 3]}, b: {shape: [3], tag: bias}}}"))
        XCTAssertEqual(dict.map(\.name), ["w", "b"])
        XCTAssertEqual(dict[1].tag, STEPWISE_PARAM_BIAS)
    }

    func testGroupsReportShowsEveryParameterItsGroupAndWhy() throws {
        let config = try WrapperFixtures.config("""
            {type: AmpOptimWrapper, dtype: bfloat16, optimizer: {type: SGD, lr: 0.01, weight_decay: 0.9},
             paramwise_cfg: {bias_lr_mult: 2.0, norm_decay_mult: 0.0, bypass_duplicate: true}}
            """)
        let specs = Self.exampleModel().map(\.spec)
        let report = try GroupsReport.build(registry: registry, config: config, params: specs + [specs[0]])
        let w = try XCTUnwrap(report.wrappers.first)
        XCTAssertEqual(w.wrapperType, "AmpOptimWrapper")
        XCTAssertEqual(w.optimizerType, "SGD")
        XCTAssertEqual(w.source, .paramwiseCfg)
        XCTAssertEqual(w.params.count, 12)
        let bias = try XCTUnwrap(w.params.first { $0.spec.name == "conv2.bias" })
        XCTAssertEqual(bias.reasons, ["bias_lr_mult=2.0"])
        let group = try XCTUnwrap(w.groups.first { $0.index == bias.group })
        XCTAssertEqual(group.values.first { $0.key == "lr" }?.value, .float(0.02))
        XCTAssertEqual(w.params.last?.group, nil)
        XCTAssertEqual(w.params.last?.reasons.first?.contains("bypass_duplicate"), true)
        XCTAssertTrue(w.wrapperSettings.contains { $0.key == "dtype" })

        let multi = try WrapperFixtures.config("""
            {generator: {optimizer: {type: SGD, lr: 0.1}, paramwise_cfg: {custom_keys: {fc1: {lr_mult: 0.5}}}},
             discriminator: {type: AmpOptimWrapper, optimizer: {type: SGD, lr: 0.2}}}
            """)
        let gan = try GroupsReport.build(registry: registry, config: multi, params: try ParamSpec.parseList(
            "generator.fc1.weight:4x2,generator.fc2.weight:2x4,discriminator.fc1.weight:4x2"))
        XCTAssertEqual(gan.wrappers.map(\.name), ["generator", "discriminator"])
        XCTAssertEqual(gan.wrappers[0].params.first?.reasons, ["custom_keys['fc1']"])
        XCTAssertEqual(gan.wrappers[1].params.count, 1)
    }
}
