import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// Helpers the schedule tests share: compiling C files into shared libraries, and a
/// registry that also knows Adam's and AdamW's schemas while no optimizer plugin in the
/// build provides them (schedulers only read an optimizer's schema: roles and defaults).
enum ScheduleSupport {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Compiles `source` (C) into a shared library in a fresh temporary folder.
    static func compile(_ source: String, name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stepwise-sched-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let c = dir.appendingPathComponent("\(name).c"), so = dir.appendingPathComponent("lib\(name).so")
        try source.write(to: c, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["cc", "-std=c11", "-O1", "-shared", "-fPIC", "-I", packageRoot.appendingPathComponent("sdk/include").path,
                       c.path, "-o", so.path]
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw StepwiseError.plugin("cc failed: " + String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        return so.path
    }

    /// The bundled plugins, plus schema stand-ins for Adam, AdamW and Adagrad (no momentum)
    /// when absent.
    static let registry: PluginRegistry = {
        let bundled = PluginRegistry.load(.init(includeEnvironment: false))
        guard (try? bundled.component(.optimizer, type: "Adam")) == nil else { return bundled }
        guard let path = try? compile(adamSchemas, name: "adamschemas") else { return bundled }
        return PluginRegistry.load(.init(includeEnvironment: false, files: [path]))
    }()

    /// torch's Adam, AdamW and Adagrad keys, defaults and roles; `step` does nothing.
    static let adamSchemas = """
        #include <stepwise/stepwise.h>
        #include <stdlib.h>
        #define F(v) {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_FLOAT, .f = (v)}
        static const double betas_default[2] = {0.9, 0.999};
        static const stepwise_hyperparam lr = {sizeof(stepwise_hyperparam), "lr", STEPWISE_TYPE_FLOAT,
            STEPWISE_ROLE_LR, STEPWISE_HP_PER_GROUP, F(1e-3), .doc = "lr"};
        static const stepwise_hyperparam betas = {sizeof(stepwise_hyperparam), "betas", STEPWISE_TYPE_FLOAT_VECTOR,
            STEPWISE_ROLE_MOMENTUM, STEPWISE_HP_PER_GROUP,
            {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_FLOAT_VECTOR, .fv = betas_default, .count = 2},
            .vector_length = 2, .doc = "betas"};
        static const stepwise_hyperparam eps = {sizeof(stepwise_hyperparam), "eps", STEPWISE_TYPE_FLOAT,
            STEPWISE_ROLE_NONE, STEPWISE_HP_PER_GROUP, F(1e-8), .doc = "eps"};
        static const stepwise_hyperparam wd0 = {sizeof(stepwise_hyperparam), "weight_decay", STEPWISE_TYPE_FLOAT,
            STEPWISE_ROLE_WEIGHT_DECAY, STEPWISE_HP_PER_GROUP, F(0.0), .doc = "weight decay"};
        static const stepwise_hyperparam wd1 = {sizeof(stepwise_hyperparam), "weight_decay", STEPWISE_TYPE_FLOAT,
            STEPWISE_ROLE_WEIGHT_DECAY, STEPWISE_HP_PER_GROUP, F(1e-2), .doc = "weight decay"};
        static const stepwise_hyperparam *const adam_hp[] = {&lr, &betas, &eps, &wd0};
        static const stepwise_hyperparam *const adamw_hp[] = {&lr, &betas, &eps, &wd1};
        static const stepwise_hyperparam *const adagrad_hp[] = {&lr, &eps, &wd0};
        static stepwise_status create(const stepwise_host *h, const stepwise_values *v, void **out, stepwise_error **e) {
            (void)h; (void)v; (void)e; *out = malloc(1); return STEPWISE_OK;
        }
        static void destroy(void *p) { free(p); }
        static stepwise_status step(void *i, const stepwise_group *g, const stepwise_closure *c,
                                    stepwise_step_info *info, stepwise_error **e) {
            (void)i; (void)g; (void)c; (void)info; (void)e; return STEPWISE_OK;
        }
        static const stepwise_optimizer_api api = {.struct_size = sizeof(stepwise_optimizer_api),
            .create = create, .destroy = destroy, .step = step};
        static const stepwise_component adam = {sizeof(stepwise_component), STEPWISE_KIND_OPTIMIZER, "Adam",
            "schema stand-in", "torch.optim.Adam", 4, adam_hp, &api};
        static const stepwise_component adamw = {sizeof(stepwise_component), STEPWISE_KIND_OPTIMIZER, "AdamW",
            "schema stand-in", "torch.optim.AdamW", 4, adamw_hp, &api};
        static const stepwise_component adagrad = {sizeof(stepwise_component), STEPWISE_KIND_OPTIMIZER, "Adagrad",
            "schema stand-in", "torch.optim.Adagrad", 3, adagrad_hp, &api};
        static const stepwise_component *const components[] = {&adam, &adamw, &adagrad};
        static const stepwise_plugin plugin = {sizeof(stepwise_plugin), STEPWISE_ABI_VERSION_INIT, "schematest",
            "Adam schemas for schedule tests", "1.0.0", 0, 0, 3, components};
        STEPWISE_EXPORT const stepwise_plugin *stepwise_plugin_entry(const stepwise_host *h) { (void)h; return &plugin; }
        """
}

final class ScheduleSupportTests: XCTestCase {
    func testRegistryKnowsAdamMomentumAsBetasZero() throws {
        let adam = try ScheduleSupport.registry.component(.optimizer, type: "Adam")
        let groups = ResolvedGroupValues(groups: [try adam.resolve(ConfigDict(["type": .string("Adam"), "betas": .list([.float(0.8), .float(0.99)])]))])
        let momentum = try XCTUnwrap(groups.slot(role: STEPWISE_ROLE_MOMENTUM))
        XCTAssertEqual(momentum.key, "momentum")
        XCTAssertEqual(groups.value(momentum, group: 0), 0.8)
        groups.setValue(momentum, group: 0, 0.7)
        XCTAssertEqual(groups.groups[0]["betas"], .list([.float(0.7), .float(0.99)]))
        XCTAssertEqual(try groups.slot(named: "betas[1]").map { groups.value($0, group: 0) }, 0.99)
    }
}
