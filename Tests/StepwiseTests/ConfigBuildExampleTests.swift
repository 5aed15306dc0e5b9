import XCTest
import StepwiseABI
@testable import Stepwise

enum ConfigBuildFixtures {
    static let registry = PluginRegistry.load(.init(includeEnvironment: false))

    /// A file under configs/examples of this repository.
    static func example(_ path: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("configs/examples/\(path)").path
    }

    /// Every iteration's per-group lr and momentum as the runner's schedulers set them
    /// (nothing is stepped: schedules do not depend on the gradients).
    static func schedule(_ build: ConfigBuild) throws -> (lr: [[Double]], momentum: [[Double]]) {
        let runner = try build.makeRunner(workDir: NSTemporaryDirectory())
        let wrapper = try XCTUnwrap(build.optimWrapper.wrappers.first?.wrapper)
        var lr: [[Double]] = [], momentum: [[Double]] = []
        runner.trainStep = { _ in
            lr.append(wrapper.paramGroups.map { $0.get(role: STEPWISE_ROLE_LR) ?? .nan })
            momentum.append(wrapper.paramGroups.map { $0.get(role: STEPWISE_ROLE_MOMENTUM) ?? .nan })
            return []
        }
        try runner.run()
        return (lr, momentum)
    }

    static func close(_ a: Double, _ b: Double, rel: Double = 1e-9) -> Bool {
        abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)
    }
}

/// The shipped example configs load, check clean over their parameter specs, and produce
/// the schedules their comments describe (values computed by hand from those comments).
final class ConfigBuildExampleTests: XCTestCase {
    let registry = ConfigBuildFixtures.registry

    func checked(_ name: String, params: String, itersPerEpoch: Int) throws -> ConfigBuild {
        let config = try ConfigLoader.load(path: ConfigBuildFixtures.example(name))
        let specs = try ParamSpec.parseDict(try ConfigLoader.load(path: ConfigBuildFixtures.example("params/\(params)")))
        let result = ConfigBuild.check(config: config, registry: registry,
                                       params: specs.map { Parameter(name: $0.name, shape: $0.shape, tag: $0.tag) },
                                       options: .init(itersPerEpoch: itersPerEpoch))
        XCTAssertEqual(result.diagnostics.map(\.description), [], "\(name) must check clean")
        return try XCTUnwrap(result.build, name)
    }

    func group(_ w: OptimWrapper, of param: String) throws -> ParamGroup {
        try XCTUnwrap(w.paramGroups.first { $0.params.contains { $0.name == param } }, param)
    }

    func testSimCLRLarsCosineWithLinearWarmup() throws {
        let n = 10
        let build = try checked("simclr_resnet50_16xb256-lars-coslr-200e_in1k.py", params: "simclr_resnet_tiny.yaml", itersPerEpoch: n)
        XCTAssertEqual(build.style, .mmcv)
        XCTAssertEqual(build.loop.length, .epochs(200))
        let w = try XCTUnwrap(build.optimWrapper.wrappers.first?.wrapper)
        XCTAssertEqual(w.optimizer.component.typeName, "LARS")
        for (name, decay, excluded) in [("backbone.conv1.weight", 1e-6, false), ("backbone.bn1.weight", 0, true),
                                        ("backbone.layer1.0.bn2.bias", 0, true), ("neck.fc0.bias", 0, true),
                                        ("neck.fc1.weight", 1e-6, false)] {
            let g = try group(w, of: name)
            XCTAssertEqual(g["weight_decay"]?.double, decay, name)
            XCTAssertEqual(g["lars_exclude"]?.bool, excluded, name)
        }
        let (lr, momentum) = try ConfigBuildFixtures.schedule(build)
        XCTAssertEqual(lr.count, 200 * n)
        func regular(_ epoch: Int) -> Double { 2.4 * (1 + cos(Double.pi * Double(epoch) / 200)) }
        func warm(_ i: Int) -> Double { regular(i / n) * (1 - (1 - Double(i) / Double(10 * n)) * (1 - 1e-4)) }
        let expected: [(Int, Double)] = [
            (0, 4.8e-4), (1, warm(1)), (55, warm(55)), (99, warm(99)), (100, regular(10)), (101, regular(10)),
            (1000, 2.4), (1999, regular(199)),
        ]
        for (i, value) in expected {
            for g in lr[i] { XCTAssertTrue(ConfigBuildFixtures.close(g, value, rel: 1e-12), "iteration \(i): \(g) vs \(value)") }
        }
        XCTAssertTrue(ConfigBuildFixtures.close(regular(10), 4.77045, rel: 1e-6), "the comment's value")
        XCTAssertTrue(ConfigBuildFixtures.close(regular(199), 0.000296, rel: 1e-2), "the comment's value")
        XCTAssertTrue(momentum.allSatisfy { $0.allSatisfy { $0 == 0.9 } })
    }

    func testMMDetectionSGDMultiStepWithWarmupAndClip() throws {
        let n = 600
        let build = try checked("faster-rcnn_r50_fpn_sgd-multistep-clip_1x_coco.py", params: "faster_rcnn_tiny.yaml", itersPerEpoch: n)
        XCTAssertEqual(build.style, .mmengine)
        XCTAssertEqual(build.loop, TrainLoop(length: .epochs(12), valInterval: 1, origin: build.loop.origin))
        let w = try XCTUnwrap(build.optimWrapper.wrappers.first?.wrapper)
        XCTAssertEqual(w.optimizer.component.typeName, "SGD")
        XCTAssertEqual(w.values["clip_grad"], .dict(ConfigDict(["max_norm": .int(35), "norm_type": .int(2)])))
        XCTAssertEqual(w.paramGroups.count, 1)
        XCTAssertEqual(w.paramGroups[0]["weight_decay"]?.double, 1e-4)
        XCTAssertEqual(build.hooks.map(\.name), ["EMAHook"])
        XCTAssertEqual(build.hooks.first?.priority, 49)

        let (lr, momentum) = try ConfigBuildFixtures.schedule(build)
        XCTAssertEqual(lr.count, 12 * n)
        let expected: [(Int, Double)] = [
            (0, 2e-5), (250, 0.01003002004008016), (498, 0.02 * (0.001 + 0.999 * 498 / 499)), (499, 0.02), (500, 0.02),
            (8 * n - 1, 0.02),
            (8 * n, 0.002), (11 * n - 1, 0.002), (11 * n, 0.0002), (12 * n - 1, 0.0002),
        ]
        for (i, value) in expected {
            XCTAssertTrue(ConfigBuildFixtures.close(lr[i][0], value), "iteration \(i): \(lr[i][0]) vs \(value)")
        }
        XCTAssertTrue(momentum.allSatisfy { $0 == [0.9] })
    }

    func testViTAdamWLayerwiseCosine() throws {
        let n = 10
        let build = try checked("vit-tiny-p16_adamw-layerwise-cosine-100e_in1k.py", params: "vit_tiny.yaml", itersPerEpoch: n)
        let w = try XCTUnwrap(build.optimWrapper.wrappers.first?.wrapper)
        XCTAssertEqual(w.optimizer.component.typeName, "AdamW")
        XCTAssertEqual(w.values["clip_grad"], .dict(ConfigDict(["max_norm": .float(5)])))
        // (parameter, base lr from the comment, weight decay)
        let table: [(String, Double, Double)] = [
            ("head.layers.head.weight", 1e-3, 0.05), ("head.layers.head.bias", 1e-3, 0), ("backbone.ln1.weight", 1e-3, 0),
            ("backbone.layers.3.attn.qkv.weight", 6.5e-4, 0.05), ("backbone.layers.2.ffn.layers.1.weight", 4.225e-4, 0.05),
            ("backbone.layers.1.ln1.bias", 2.74625e-4, 0.05), ("backbone.layers.0.attn.proj.weight", 1.7850625e-4, 0.05),
            ("backbone.patch_embed.projection.weight", 1.16029062e-4, 0.05), ("backbone.cls_token", 1.16029062e-4, 0),
            ("backbone.pos_embed", 1.16029062e-4, 0),
        ]
        let (lr, momentum) = try ConfigBuildFixtures.schedule(build)
        XCTAssertEqual(lr.count, 100 * n)
        for (name, base, decay) in table {
            let g = try group(w, of: name)
            XCTAssertEqual(g["weight_decay"]?.double, decay, name)
            let column = lr.map { $0[g.index] }
            XCTAssertTrue(ConfigBuildFixtures.close(column[5 * n], base, rel: 1e-8), "\(name): base lr \(column[5 * n]) vs \(base)")
            let cosine: (Int) -> Double = { 1e-6 + (column[5 * n] - 1e-6) * (1 + cos(Double.pi * Double($0 - 5 * n) / Double(95 * n))) / 2 }
            let expected: [(Int, Double)] = [
                (0, column[5 * n] * 1e-3), (21, column[5 * n] * (0.001 + 0.999 * 21 / 49)), (49, column[5 * n]),
                (525, (column[5 * n] + 1e-6) / 2), (700, cosine(700)), (999, cosine(999)),
            ]
            for (i, value) in expected {
                XCTAssertTrue(ConfigBuildFixtures.close(column[i], value), "\(name) at iteration \(i): \(column[i]) vs \(value)")
            }
        }
        XCTAssertTrue(momentum.allSatisfy { $0.allSatisfy { $0 == 0.9 } }, "beta1 stays 0.9")
    }

    /// `stepwise config check` over each example's own parameter spec, and every
    /// equivalence config, find nothing to report.
    func testEveryShippedConfigChecksClean() throws {
        let dir = ConfigBuildFixtures.example("")
        let files = try FileManager.default.subpathsOfDirectory(atPath: dir)
            .filter { ($0.hasSuffix(".py") || $0.hasSuffix(".yaml")) && !$0.hasPrefix("_base_") && !$0.hasPrefix("params") }
            .sorted()
        XCTAssertEqual(files.count, 12)
        let fallback = try ParamSpec.parseList(ConfigEquivalenceTests.spec)
        for file in files {
            let config = try ConfigLoader.load(path: dir + "/" + file)
            let result = ConfigBuild.check(config: config, registry: registry,
                                           params: fallback.map { Parameter(name: $0.name, shape: $0.shape, tag: $0.tag) },
                                           options: .init(itersPerEpoch: 600))
            XCTAssertEqual(result.diagnostics.map(\.description), [], file)
        }
    }
}
