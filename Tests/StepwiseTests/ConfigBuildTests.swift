import XCTest
@testable import Stepwise

/// Building every section a whole config names: MMCV 1.x's optimizer hooks as wrappers,
/// the loop, per-wrapper schedules, hooks, and every error reported at once.
final class ConfigBuildTests: XCTestCase {
    let registry = ConfigBuildFixtures.registry
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cfgbuild-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    static let specs = "backbone.conv1.weight:4x3,backbone.bn1.weight:4:norm,backbone.bn1.bias:4:norm,head.fc.weight:2x4,head.fc.bias:2"

    /// Writes `files` (name: text) and checks the first.
    func check(_ files: [(String, String)], specs: String = specs, itersPerEpoch: Int = 5) throws -> ConfigCheckResult {
        for (name, text) in files { try text.write(toFile: "\(dir)/\(name)", atomically: true, encoding: .utf8) }
        let config = try ConfigLoader.load(path: "\(dir)/\(files[0].0)")
        let params = try ParamSpec.parseList(specs).map { Parameter(name: $0.name, shape: $0.shape, tag: $0.tag) }
        return ConfigBuild.check(config: config, registry: registry, params: params, options: .init(itersPerEpoch: itersPerEpoch))
    }

    func check(_ text: String, specs: String = specs) throws -> ConfigCheckResult {
        try check([("config.py", text)], specs: specs)
    }

    func built(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> ConfigBuild {
        let result = try check(text)
        XCTAssertEqual(result.errors.map(\.description), [], file: file, line: line)
        return try XCTUnwrap(result.build, file: file, line: line)
    }

    // MARK: Every error at once

    func testEveryErrorAtOnceEachWithFileAndLine() throws {
        let base = """
            train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12)
            optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9))
            """
        let child = """
            _base_ = './base.py'
            optim_wrapper = dict(
                optimizer=dict(lr=-0.1, momentun=0.9),
                acumulative_counts=2)
            param_scheduler = [
                dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500, foo=1),
                dict(type='MultiStepLRR', milestones=[8, 11]),
            ]
            custom_hooks = [dict(type='EMAHook', momentum=2.0), dict(type='NoSuchHook')]
            train_cfg = dict(max_iters=100)
            """
        let result = try check([("config.py", child), ("base.py", base)])
        XCTAssertNil(result.build)
        let found = result.errors.map { ($0.origin.file.hasSuffix("config.py"), $0.origin.line, $0.section) }
        XCTAssertEqual(found.map(\.1), [10, 3, 3, 4, 6, 7, 9, 9], result.errors.map(\.description).joined(separator: "\n"))
        XCTAssertTrue(found.allSatisfy(\.0), "every error is in the child file")
        XCTAssertEqual(found.map(\.2), ["train_cfg", "optim_wrapper.optimizer", "optim_wrapper.optimizer", "optim_wrapper",
                                        "param_scheduler[0]", "param_scheduler[1]", "custom_hooks[0]", "custom_hooks[1]"])
        let messages = result.errors.map(\.message)
        XCTAssertTrue(messages[0].hasPrefix("train_cfg sets both max_epochs and max_iters; keep one (a base config sets the other"), messages[0])
        XCTAssertTrue(messages[1].hasPrefix("Invalid learning rate: -0.1"), messages[1])
        XCTAssertTrue(messages[2].hasPrefix("unknown key 'momentun' for optimizer SGD; did you mean 'momentum'?"), messages[2])
        XCTAssertTrue(messages[3].hasPrefix("unknown key 'acumulative_counts' for wrapper OptimWrapper"), messages[3])
        XCTAssertTrue(messages[4].hasPrefix("unknown key 'foo' for scheduler LinearLR"), messages[4])
        XCTAssertTrue(messages[5].hasPrefix("unknown scheduler type 'MultiStepLRR'. Did you mean 'MultiStepLR'?"), messages[5])
        XCTAssertTrue(messages[6].contains("'momentum': 2.0"), messages[6])
        XCTAssertTrue(messages[7].hasPrefix("unknown hook type 'NoSuchHook'"), messages[7])
        XCTAssertTrue(result.errors[2].description.contains("config.py:3:"), "prints as file:line:col: error: message")
        XCTAssertThrowsError(try ConfigBuild.build(config: try ConfigLoader.load(path: "\(dir)/config.py"), registry: registry,
                                                   specs: try ParamSpec.parseList(Self.specs))) { error in
            XCTAssertEqual((error as? ConfigBuildError)?.diagnostics.count, 8)
        }
    }

    func testSchedulersAreCheckedAgainstTheBuiltOptimizer() throws {
        let result = try check("""
            optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
            param_scheduler = [dict(type='CosineAnnealingParamScheduler', param_name='nesterov', T_max=3)]
            train_cfg = dict(max_epochs=3)
            """)
        XCTAssertEqual(result.errors.map(\.origin.line), [2])
        XCTAssertTrue(result.errors.first?.message.contains("nesterov") ?? false, result.errors.description)
    }

    // MARK: MMCV 1.x optimizer sections

    /// (optimizer_config and friends, wrapper type, accumulative_counts, loss_scale, clip_grad, countsToEnd)
    static let mmcvHooks: [(String, String, Int64, ConfigValue?, ConfigValue?, Bool)] = [
        ("optimizer_config = dict(grad_clip=dict(max_norm=35, norm_type=2))", "OptimWrapper", 1, nil,
         .dict(ConfigDict(["max_norm": .int(35), "norm_type": .int(2)])), true),
        ("optimizer_config = dict(grad_clip=None)", "OptimWrapper", 1, nil, .null, true),
        ("optimizer_config = dict(type='GradientCumulativeOptimizerHook', cumulative_iters=4)", "OptimWrapper", 4, nil, .null, true),
        ("optimizer_config = dict(update_interval=4, grad_clip=None)", "OptimWrapper", 4, nil, .null, true),
        ("optimizer_config = dict(type='DistOptimizerHook', update_interval=1, coalesce=True, bucket_size_mb=-1, frozen_layers_cfg=dict())",
         "OptimWrapper", 1, nil, .null, true),
        ("optimizer_config = dict(type='Fp16OptimizerHook', loss_scale=512.)", "AmpOptimWrapper", 1, .float(512), .null, true),
        ("optimizer_config = dict(type='Fp16OptimizerHook')", "AmpOptimWrapper", 1, .float(512), .null, true),
        ("optimizer_config = dict(grad_clip=None)\nfp16 = dict(loss_scale='dynamic')", "AmpOptimWrapper", 1, .string("dynamic"), .null, true),
        ("optimizer_config = dict(type='GradientCumulativeOptimizerHook', cumulative_iters=2)\nfp16 = dict(loss_scale=dict(init_scale=512))",
         "AmpOptimWrapper", 2, .dict(ConfigDict(["init_scale": .int(512)])), .null, true),
        ("optimizer_config = dict(update_interval=2)\nfp16 = dict(loss_scale=512.)", "AmpOptimWrapper", 2, .float(512), .null, false),
        ("optimizer_config = dict(type='GradientCumulativeFp16OptimizerHook', cumulative_iters=2, loss_scale='dynamic')",
         "AmpOptimWrapper", 2, .string("dynamic"), .null, true),
    ]

    func testMMCVOptimizerHooksBecomeWrappers() throws {
        for (hook, type, counts, lossScale, clip, countsToEnd) in Self.mmcvHooks {
            let b = try built("optimizer = dict(type='SGD', lr=0.1)\n\(hook)\nrunner = dict(type='EpochBasedRunner', max_epochs=2)\n")
            let w = try XCTUnwrap(b.optimWrapper.wrappers.first?.wrapper)
            XCTAssertEqual(b.style, .mmcv, hook)
            XCTAssertEqual(w.typeName, type, hook)
            XCTAssertEqual(w.values["accumulative_counts"]?.int, counts, hook)
            if let lossScale { XCTAssertEqual(w.values["loss_scale"], lossScale, hook) }
            XCTAssertEqual(w.values["clip_grad"], clip, hook)
            XCTAssertEqual(b.countsToEnd, countsToEnd, hook)
            _ = try b.makeRunner(workDir: dir)
            XCTAssertEqual(w.maxCounts, countsToEnd ? 10 : nil, "\(hook): the run's length reaches the wrapper")
        }
    }

    /// (sections after `optimizer = ...`, line, message start)
    static let mmcvErrors: [(String, Int, String)] = [
        ("optimizer_config = dict(update_interval=2,\n    frozen_layers_cfg=dict(prototypes=5005))", 3,
         "optimizer_config frozen_layers_cfg (dropping some layers' gradients for their first iterations) is not supported"),
        ("optimizer_config = dict()\nfp16 = dict(type='apex', loss_scale=512.)", 3, "fp16 type ''apex'' (e.g. apex) is not supported"),
        ("optimizer_config = dict(loss_scale=1.0)\nfp16 = dict(loss_scale=512.)", 3,
         "'loss_scale' is given in both optimizer_config and fp16"),
        ("optimizer_config = dict(type='MyOptimizerHook')", 2, "optimizer_config type 'MyOptimizerHook' has no optim_wrapper equivalent"),
        ("optimizer_config = dict(grad_clip=None,\n    detect_anomalous_params=False, foo=1)", 3,
         "optimizer_config key 'foo' is not understood for OptimizerHook"),
        ("optimizer_config = 'x'", 2, "optimizer_config must be a dict, got a string"),
    ]

    func testMMCVOptimizerErrorsPointAtTheirLine() throws {
        for (sections, line, message) in Self.mmcvErrors {
            let result = try check("optimizer = dict(type='SGD', lr=0.1)\n\(sections)\nrunner = dict(type='EpochBasedRunner', max_epochs=2)\n")
            XCTAssertEqual(result.errors.count, 1, "\(sections): \(result.errors)")
            XCTAssertEqual(result.errors.first?.origin.line, line, sections)
            XCTAssertTrue(result.errors.first?.message.hasPrefix(message) ?? false, "\(sections): \(result.errors)")
        }
        let multi = try check("optimizer = dict(generator=dict(type='Adam', lr=1e-4), discriminator=dict(type='Adam', lr=4e-4))\n"
                              + "runner = dict(type='EpochBasedRunner', max_epochs=2)\n")
        XCTAssertEqual(multi.errors.first?.origin.line, 1)
        XCTAssertTrue(multi.errors.first?.message.hasPrefix("optimizer holds one optimizer per sub-model (generator, discriminator)") ?? false)
    }

    func testMMCVParamwiseSettingsInsideTheOptimizer() throws {
        let b = try built("""
            optimizer = dict(type='SGD', lr=0.1, weight_decay=1e-4, paramwise_cfg=dict(norm_decay_mult=0.))
            runner = dict(type='EpochBasedRunner', max_epochs=2)
            """)
        let groups = try XCTUnwrap(b.optimWrapper.wrappers.first?.wrapper.paramGroups)
        XCTAssertEqual(groups.map { $0.params.map(\.name) }, [["backbone.conv1.weight", "head.fc.weight", "head.fc.bias"],
                                                              ["backbone.bn1.weight", "backbone.bn1.bias"]])
        XCTAssertEqual(groups.map { $0["weight_decay"]?.double }, [1e-4, 0])
    }

    // MARK: Loops

    /// (sections, length, val interval)
    static let loops: [(String, TrainLoop.Length, Int)] = [
        ("train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=2)", .epochs(12), 2),
        ("train_cfg = dict(by_epoch=True, max_epochs=3)", .epochs(3), 1),
        ("train_cfg = dict(type='IterBasedTrainLoop', max_iters=900, val_interval=300)", .iterations(900), 300),
        ("train_cfg = dict(type='mmdet.EpochBasedTrainLoop', max_epochs=1, val_interval=0)", .epochs(1), 0),
    ]

    func testMMEngineLoops() throws {
        for (sections, length, interval) in Self.loops {
            let b = try built("optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n\(sections)\n")
            XCTAssertEqual(b.loop.length, length, sections)
            XCTAssertEqual(b.loop.valInterval, interval, sections)
            if case .iterations(let n) = length {
                XCTAssertEqual(b.scheduleLoop, ScheduleLoopShape(epochs: 1, itersPerEpoch: n), "one epoch, as IterBasedTrainLoop")
            }
        }
    }

    func testMMCVLoops() throws {
        let optimizer = "optimizer = dict(type='SGD', lr=0.1)\n"
        for (sections, length, interval) in [
            ("runner = dict(type='EpochBasedRunner', max_epochs=12)\nevaluation = dict(interval=3, metric='bbox')", TrainLoop.Length.epochs(12), 3),
            ("runner = dict(type='IterBasedRunner', max_iters=40000)", .iterations(40000), 0),
            ("total_epochs = 24\nevaluation = dict(metric='accuracy')", .epochs(24), 1),
        ] {
            let b = try built(optimizer + sections)
            XCTAssertEqual(b.loop.length, length, sections)
            XCTAssertEqual(b.loop.valInterval, interval, sections)
        }
    }

    static let loopErrors: [(String, Int, String)] = [
        ("optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))", 1,
         "the config has no train_cfg: add e.g. train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)"),
        ("optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\ntrain_cfg = dict(type='IterBasedTrainLoop', max_epochs=3)", 2,
         "train_cfg is IterBasedTrainLoop, which counts max_iters, but it sets max_epochs"),
        ("optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\ntrain_cfg = dict(max_epochs=0)", 2,
         "train_cfg.max_epochs must be a positive int, got 0"),
        ("optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\ntrain_cfg = dict(val_interval=1)", 2,
         "train_cfg needs max_epochs (an epoch-based loop) or max_iters (an iteration-based loop)"),
        ("optimizer = dict(type='SGD', lr=0.1)\noptimizer_config = dict()", 1, "the config gives no loop length"),
        ("optimizer = dict(type='SGD', lr=0.1)\ntrain_cfg = dict(max_epochs=2)", 1,
         "the config has no optim_wrapper: add e.g. optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01)) (MMEngine does not read a top-level optimizer"),
    ]

    func testLoopErrors() throws {
        for (text, line, message) in Self.loopErrors {
            let result = try check(text)
            XCTAssertEqual(result.errors.count, 1, "\(text): \(result.errors)")
            XCTAssertEqual(result.errors.first?.origin.file, "\(dir)/config.py", text)
            if line > 1 { XCTAssertEqual(result.errors.first?.origin.line, line, text) }
            XCTAssertTrue(result.errors.first?.message.hasPrefix(message) ?? false, "\(text): \(result.errors)")
        }
    }

    // MARK: Wrappers, schedules, hooks

    func testNamedWrappersWithTheirOwnOrSharedSchedules() throws {
        let specs = "generator.fc.weight:2x2,generator.fc.bias:2,discriminator.fc.weight:1x2,discriminator.fc.bias:1"
        let wrappers = """
            optim_wrapper = dict(
                generator=dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.5, 0.999))),
                discriminator=dict(type='AmpOptimWrapper', optimizer=dict(type='Adam', lr=4e-4)))
            train_cfg = dict(type='IterBasedTrainLoop', max_iters=10)

            """
        let own = try check(wrappers + """
            param_scheduler = dict(
                generator=[dict(type='LinearLR', start_factor=0.5, by_epoch=False, end=4)],
                discriminator=[])
            """, specs: specs)
        XCTAssertEqual(own.errors.map(\.description), [])
        let scheduled = try XCTUnwrap(own.build?.scheduled)
        XCTAssertEqual(scheduled.map(\.name), ["generator", "discriminator"])
        XCTAssertEqual(scheduled.map(\.labels), [["param_scheduler.generator[0]"], []])
        XCTAssertEqual(scheduled.map { $0.wrapper.typeName }, ["OptimWrapper", "AmpOptimWrapper"])

        let shared = try check(wrappers + "param_scheduler = [dict(type='ExponentialLR', gamma=0.5, by_epoch=False)]\n", specs: specs)
        XCTAssertEqual(shared.build?.scheduled.map(\.types), [["ExponentialLR"], ["ExponentialLR"]], "a list is built for each wrapper")

        let missing = try check(wrappers + "param_scheduler = dict(generator=[])\n", specs: specs)
        XCTAssertEqual(missing.errors.map(\.origin.line), [5])
        XCTAssertTrue(missing.errors.first?.message.hasPrefix("param_scheduler has a schedule per wrapper (generator) but none for 'discriminator'") ?? false)

        let unmatched = try check(wrappers, specs: "fc.weight:2x2")
        XCTAssertEqual(unmatched.errors.map(\.section), ["optim_wrapper.generator", "optim_wrapper.discriminator"])
    }

    func testSectionsOfTheOtherRunnerAreReportedAsIgnored() throws {
        let engine = try check("""
            optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
            train_cfg = dict(max_epochs=2)
            lr_config = dict(policy='step', step=[1])
            """)
        XCTAssertEqual(engine.errors.count, 0)
        XCTAssertEqual(engine.warnings.map(\.origin.line), [3])
        XCTAssertTrue(engine.warnings.first?.message.hasPrefix("lr_config is ignored: this is an MMEngine config") ?? false)
        let mmcv = try check("""
            optimizer = dict(type='SGD', lr=0.1)
            runner = dict(type='EpochBasedRunner', max_epochs=2)
            param_scheduler = [dict(type='MultiStepLR', milestones=[1])]
            """)
        XCTAssertEqual(mmcv.errors.count, 0)
        XCTAssertEqual(mmcv.warnings.map(\.origin.line), [3])
        XCTAssertEqual(mmcv.build?.scheduled.first?.types, [])
    }

    func testCustomHooks() throws {
        let b = try built("""
            optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
            train_cfg = dict(max_epochs=2)
            custom_hooks = [dict(type='EMAHook', momentum=1e-3, priority='ABOVE_NORMAL'),
                            dict(type='EarlyStoppingHook', monitor='loss', rule='less')]
            """)
        XCTAssertEqual(b.hooks.map(\.name), ["EMAHook", "EarlyStoppingHook"])
        XCTAssertEqual(b.hooks.map(\.priority), [40, 100], "EarlyStoppingHook is LOWEST by default, as in MMEngine")
        let notAList = try check("optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\ntrain_cfg = dict(max_epochs=2)\n"
                                 + "custom_hooks = dict(type='EMAHook')\n")
        XCTAssertEqual(notAList.errors.map(\.origin.line), [3])
    }

    func testWithoutAnEpochLengthTheBuildWarns() throws {
        try "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\ntrain_cfg = dict(max_epochs=2)\n"
            .write(toFile: "\(dir)/c.py", atomically: true, encoding: .utf8)
        let result = ConfigBuild.check(config: try ConfigLoader.load(path: "\(dir)/c.py"), registry: registry,
                                       params: [Parameter(name: "w", shape: [2])])
        XCTAssertEqual(result.build?.scheduleLoop, ScheduleLoopShape(epochs: 2, itersPerEpoch: 1))
        XCTAssertEqual(result.warnings.count, 1)
        XCTAssertTrue(result.warnings.first?.message.hasPrefix("the epoch length is not known") ?? false)
    }

    // MARK: Pieces

    func testOriginsByKeyPath() throws {
        let config = try ConfigLoader.parse(string: "a = dict(b=1, c=[dict(d=2), 3])\ne = 4\n", format: .python, origin: "x.py")
        let flat = ConfigOrigins.flatten(config).map { ($0.path, $0.origin?.line, $0.origin?.column) }
        XCTAssertEqual(flat.map(\.0), ["a", "a.b", "a.c", "a.c.0", "a.c.0.d", "e"])
        XCTAssertEqual(flat.map(\.1), [1, 1, 1, 1, 1, 2])
        XCTAssertEqual(flat.map(\.2), [1, 10, 15, 18, 23, 1])
    }

    func testLocationsInMessagesBecomeTheDiagnosticsOrigin() {
        let sink = DiagnosticSink(config: ConfigDict([], origin: ConfigOrigin(file: "cfg/a.py")))
        let (origin, rest) = sink.locate("unknown key 'x' for optimizer SGD in cfg/a.py:3:7; did you mean 'y'?")
        XCTAssertEqual(origin, ConfigOrigin(file: "cfg/a.py", line: 3, column: 7))
        XCTAssertEqual(rest, "unknown key 'x' for optimizer SGD; did you mean 'y'?")
        let (o2, r2) = sink.locate("Invalid lr (key 'lr' of optimizer SGD in cfg/a.py:12)")
        XCTAssertEqual(o2, ConfigOrigin(file: "cfg/a.py", line: 12))
        XCTAssertEqual(r2, "Invalid lr (key 'lr' of optimizer SGD)")
        let short = DiagnosticSink(config: ConfigDict([], origin: ConfigOrigin(file: "x")))
        XCTAssertEqual(short.locate("x:1").0, ConfigOrigin(file: "x", line: 1), "a location at the very start")
        let (o3, r3) = sink.locate("no location here")
        XCTAssertNil(o3)
        XCTAssertEqual(r3, "no location here")
    }
}
