import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// The communicator kind of ABI 1.1, through a third-party C plugin built here: a world
/// of `size` identical ranks simulated in one process (a sum over the ranks is the buffer
/// times `size`), so the host's data-parallel machinery runs through the ABI without MPI.
final class CommunicatorPluginTests: XCTestCase {
    static let source = """
        #include <stepwise/stepwise.h>
        #include <stdlib.h>
        #include <string.h>
        #ifndef MINOR
        #define MINOR STEPWISE_ABI_MINOR
        #endif
        static const stepwise_hyperparam size_hp = {.struct_size = sizeof(stepwise_hyperparam), .name = "size",
            .type = STEPWISE_TYPE_INT, .flags = STEPWISE_HP_HAS_MIN, .min = 1,
            .default_value = {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_INT, .i = 1},
            .doc = "ranks simulated"};
        static const stepwise_hyperparam *const hps[] = {&size_hp};
        typedef struct { int size; } world;
        static stepwise_status create(const stepwise_host *h, const stepwise_values *v, void **out, stepwise_error **e) {
            (void)h; (void)e; world *w = malloc(sizeof *w); w->size = (int)v->items[0]->i; *out = w; return STEPWISE_OK;
        }
        static void destroy(void *w) { free(w); }
        static int32_t rank(void *w) { (void)w; return 0; }
        static int32_t size(void *w) { return ((world *)w)->size; }
        static stepwise_status all_reduce(void *w, void *b, int64_t n, stepwise_dtype t, stepwise_reduce_op op, stepwise_error **e) {
            (void)op; (void)e; int s = ((world *)w)->size;
            for (int64_t i = 0; i < n; i++) {
                if (t == STEPWISE_F32) ((float *)b)[i] *= (float)s; else ((double *)b)[i] *= s;
            }
            return STEPWISE_OK;
        }
        static stepwise_status start(void *w, void *b, int64_t n, stepwise_dtype t, stepwise_reduce_op op,
                                     stepwise_comm_request **r, stepwise_error **e) {
            *r = (stepwise_comm_request *)w; return all_reduce(w, b, n, t, op, e);
        }
        static stepwise_status wait(void *w, stepwise_comm_request *r, stepwise_error **e) { (void)w; (void)r; (void)e; return STEPWISE_OK; }
        static stepwise_status all_gather(void *w, const void *s, int64_t n, void *r, const int64_t *c, stepwise_dtype t, stepwise_error **e) {
            (void)e; (void)c; size_t bytes = (size_t)n * (t == STEPWISE_F32 ? 4 : 8);
            for (int k = 0; k < ((world *)w)->size; k++) memcpy((char *)r + k * bytes, s, bytes);
            return STEPWISE_OK;
        }
        static stepwise_status broadcast(void *w, void *b, int64_t n, stepwise_dtype t, int32_t root, stepwise_error **e) {
            (void)w; (void)b; (void)n; (void)t; (void)root; (void)e; return STEPWISE_OK;
        }
        static stepwise_status barrier(void *w, stepwise_error **e) { (void)w; (void)e; return STEPWISE_OK; }
        static const stepwise_communicator_api api = {.struct_size = sizeof(stepwise_communicator_api),
            .create = create, .destroy = destroy, .rank = rank, .size = size, .all_reduce = all_reduce,
        #ifndef NO_WAIT
            .wait = wait,
        #endif
            .all_reduce_start = start, .all_gather = all_gather, .broadcast = broadcast,
        #ifndef NO_BARRIER
            .barrier = barrier,
        #endif
        };
        static const stepwise_component world_component = {.struct_size = sizeof(stepwise_component),
            .kind = STEPWISE_KIND_COMMUNICATOR, .type_name = "simulated", .summary = "identical ranks in one process",
            .hyperparam_count = 1, .hyperparams = hps, .api = &api};
        static const stepwise_component *const components[] = {&world_component};
        static const stepwise_plugin plugin = {.struct_size = sizeof(stepwise_plugin), .abi_version = {1, MINOR},
            .id = "sim", .name = "simulated world", .version = "1.0", .component_count = 1, .components = components};
        STEPWISE_EXPORT const stepwise_plugin *stepwise_plugin_entry(const stepwise_host *h) { (void)h; return &plugin; }
        """

    func testABrokenCommunicatorIsReportedInOneLine() throws {
        let cases: [(name: String, defines: [String], reason: String)] = [
            ("libnobarrier.so", ["NO_BARRIER"], "communicator 'simulated' has no 'barrier' function (required)"),
            ("libnowait.so", ["NO_WAIT"], "communicator 'simulated' has all_reduce_start but no 'wait' function"),
            ("libold.so", ["MINOR=0"], "communicator 'simulated' needs Stepwise ABI 1.1, but the plugin says it was built for ABI 1.0"),
        ]
        let dir = PluginBuilder.folder()
        for c in cases { try PluginBuilder.build(Self.source, into: dir, name: c.name, defines: c.defines) }
        let registry = PluginRegistry.load(.init(includeEnvironment: false, directories: [dir]))
        let lines = registry.diagnostics.map(\.description)
        for c in cases {
            let line = lines.first { $0.hasPrefix("\(dir)/\(c.name): ") }
            XCTAssertTrue(line?.contains(c.reason) == true, "\(c.name): \(line ?? "not reported; got \(lines)")")
        }
        XCTAssertThrowsError(try registry.component(.communicator, type: "simulated"))
        XCTAssertNoThrow(try registry.component(.communicator, type: "mpi"), "the bundled communicator still loads")
    }

    func testGradientsAreAveragedThroughThePluginsCollectives() throws {
        let dir = PluginBuilder.folder()
        try PluginBuilder.build(Self.source, into: dir, name: "libsim.so")
        let registry = PluginRegistry.load(.init(includeEnvironment: false, directories: [dir]))
        let world = try PluginCommunicator(registry: registry, config: try WrapperFixtures.config("{type: simulated, size: 4}"))
        XCTAssertEqual(world.size, 4)

        // Four identical ranks: the plugin's sum is 4 g, the host's average g again. A host
        // that skipped the plugin would leave g / 4.
        let params = WrapperFixtures.params()
        for (k, p) in params.enumerated() { p.setGrad((0..<p.count).map { Float(k + 1) * Float($0 + 1) }) }
        let expected = params.map { Array($0.grad) }
        let sync = GradientAllReduce(communicator: world, bucketBytes: 16)
        XCTAssertFalse(try sync.synchronize(params, lossNonFinite: false))
        XCTAssertEqual(params.map { Array($0.grad) }, expected)
        XCTAssertGreaterThan(sync.calls, 1, "buckets of 16 bytes: several collectives")

        // A bad key names itself; an unknown backend suggests the bundled one.
        XCTAssertThrowsError(try PluginCommunicator(registry: registry, config: try WrapperFixtures.config("{type: simulated, size: 0}"))) {
            XCTAssertTrue("\($0)".contains("'size'"), "\($0)")
        }
        XCTAssertThrowsError(try PluginCommunicator(registry: registry, config: DistributedEnvironment.backendConfig(
            try WrapperFixtures.config("{dist_cfg: {backend: mpl}}")))) {
            XCTAssertTrue("\($0)".contains("Did you mean 'mpi'?"), "\($0)")
        }
    }

    func testDistCfgBackendBecomesTheCommunicatorType() throws {
        XCTAssertEqual(DistributedEnvironment.backendConfig(nil)["type"]?.string, "mpi")
        let config = DistributedEnvironment.backendConfig(try WrapperFixtures.config("{dist_cfg: {backend: simulated, size: 2}}"))
        XCTAssertEqual(config["type"]?.string, "simulated")
        XCTAssertNil(config["backend"])
        XCTAssertEqual(config["size"]?.int, 2)
    }
}
