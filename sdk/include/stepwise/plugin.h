// Stepwise plugin ABI — the plugin entry point and component descriptors.
//
// A plugin is a shared library that exports exactly one symbol, the function
// `stepwise_plugin_entry`. The host opens it with RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE,
// calls the entry once, validates every descriptor it returns (versions, sizes, required
// functions, schemas, name clashes) and only then registers its components. A plugin
// that fails any check is reported in one line naming the file and the reason, and
// nothing of it is registered; every other plugin still loads.
//
// Minimal plugin (see sdk/examples/ for a complete one):
//
//   static const stepwise_component *const components[] = {&my_optimizer};
//   static const stepwise_plugin plugin = {
//       .struct_size = sizeof(stepwise_plugin),
//       .abi_version = STEPWISE_ABI_VERSION_INIT,
//       .id = "acme", .name = "Acme optimizers", .version = "1.0.0",
//       .component_count = 1, .components = components,
//   };
//   STEPWISE_EXPORT const stepwise_plugin *stepwise_plugin_entry(const stepwise_host *h) {
//       (void)h;
//       return &plugin;
//   }
#ifndef STEPWISE_PLUGIN_H
#define STEPWISE_PLUGIN_H

#include "base.h"
#include "communicator.h"
#include "hook.h"
#include "host.h"
#include "optimizer.h"
#include "scheduler.h"
#include "schema.h"
#include "wrapper.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum stepwise_kind {
    STEPWISE_KIND_OPTIMIZER = 1, // api: const stepwise_optimizer_api *
    STEPWISE_KIND_SCHEDULER = 2, // api: const stepwise_scheduler_api *
    STEPWISE_KIND_WRAPPER = 3,   // api: const stepwise_wrapper_api *
    STEPWISE_KIND_HOOK = 4,      // api: const stepwise_hook_api *
    STEPWISE_KIND_COMMUNICATOR = 5, // api: const stepwise_communicator_api * (ABI 1.1)
} stepwise_kind;

// One component a plugin provides. Static.
typedef struct stepwise_component {
    size_t struct_size;
    stepwise_kind kind;
    // The name configs use as `type`: letters, digits and '_', starting with a letter
    // ("Adam", "CosineAnnealingLR"). Unique per kind across every loaded plugin; the
    // qualified name "<plugin id>.<type_name>" always resolves, even when two plugins
    // clash on the short name.
    const char *type_name;
    const char *summary;   // one line, shown by `stepwise list`
    const char *reference; // where the exact update comes from (paper, reference code)
    uint32_t hyperparam_count;
    const stepwise_hyperparam *const *hyperparams;
    const void *api;       // the kind's api struct; starts with struct_size
} stepwise_component;

// What a plugin returns from its entry. Static.
typedef struct stepwise_plugin {
    size_t struct_size;
    stepwise_version abi_version; // STEPWISE_ABI_VERSION_INIT: the headers it was built with
    // Namespace of its components: lower-case letters, digits, '_' and '-' ("acme").
    const char *id;
    const char *name;        // human-readable
    const char *version;     // the plugin's own release, e.g. "1.2.0"
    const char *vendor;      // may be NULL
    const char *description; // may be NULL
    uint32_t component_count;
    const stepwise_component *const *components;
} stepwise_plugin;

#define STEPWISE_PLUGIN_SIZE_1_0 (offsetof(stepwise_plugin, components) + sizeof(void *))
#define STEPWISE_COMPONENT_SIZE_1_0 (offsetof(stepwise_component, api) + sizeof(void *))

// The one exported symbol. Returns the plugin's descriptor, or NULL when the plugin
// cannot run here (it may say why through host->log first). `host` is static. Called
// once per process. [load-thread]
#define STEPWISE_ENTRY_SYMBOL "stepwise_plugin_entry"
typedef const stepwise_plugin *(*stepwise_entry_fn)(const stepwise_host *host);

#ifdef __cplusplus
}
#endif

#endif // STEPWISE_PLUGIN_H
