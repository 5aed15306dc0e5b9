// Signum: sign-SGD with momentum, as a complete Stepwise optimizer plugin in one C file.
//
//   m_t = β m_{t-1} + (1 − β) g_t          (m_0 = 0)
//   θ_t = θ_{t-1} (1 − γ λ) − γ sign(m_t)   (decoupled weight decay λ)
//
// Source: Bernstein et al., "signSGD: Compressed Optimisation for Non-Convex Problems",
// ICML 2018 (Signum, Algorithm 1), with AdamW-style decoupled weight decay.
//
// Build it anywhere, against the headers only:
//   cc -std=c11 -O2 -shared -fPIC -I<stepwise>/sdk/include signum.c -o libsignum.so
// Drop libsignum.so into a folder listed in STEPWISE_PLUGIN_PATH, then use it from a
// config as {type: Signum, lr: 0.001, momentum: 0.9}.
#include <stepwise/stepwise.h>

#include <stdlib.h>

enum { LR, MOMENTUM, WEIGHT_DECAY, HYPERPARAM_COUNT };
enum { SLOT_MOMENTUM_BUFFER, SLOT_COUNT };

static const stepwise_hyperparam lr = {
    .struct_size = sizeof(stepwise_hyperparam),
    .name = "lr",
    .type = STEPWISE_TYPE_FLOAT,
    .role = STEPWISE_ROLE_LR,
    .flags = STEPWISE_HP_HAS_MIN | STEPWISE_HP_PER_GROUP,
    .default_value = {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_FLOAT, .f = 1e-3},
    .min = 0.0,
    .label = "learning rate",
    .doc = "step size γ",
};
static const stepwise_hyperparam momentum = {
    .struct_size = sizeof(stepwise_hyperparam),
    .name = "momentum",
    .type = STEPWISE_TYPE_FLOAT,
    .role = STEPWISE_ROLE_MOMENTUM,
    .flags = STEPWISE_HP_HAS_MIN | STEPWISE_HP_HAS_MAX | STEPWISE_HP_MAX_EXCLUSIVE | STEPWISE_HP_PER_GROUP,
    .default_value = {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_FLOAT, .f = 0.9},
    .min = 0.0,
    .max = 1.0,
    .label = "momentum value",
    .doc = "momentum coefficient β of the buffer whose sign is the step",
};
static const stepwise_hyperparam weight_decay = {
    .struct_size = sizeof(stepwise_hyperparam),
    .name = "weight_decay",
    .type = STEPWISE_TYPE_FLOAT,
    .role = STEPWISE_ROLE_WEIGHT_DECAY,
    .flags = STEPWISE_HP_HAS_MIN | STEPWISE_HP_PER_GROUP,
    .default_value = {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_FLOAT, .f = 0.0},
    .min = 0.0,
    .label = "weight_decay value",
    .doc = "decoupled weight decay λ",
};
static const stepwise_hyperparam *const hyperparams[HYPERPARAM_COUNT] = {&lr, &momentum, &weight_decay};

static const stepwise_slot momentum_buffer = {
    .struct_size = sizeof(stepwise_slot),
    .name = "momentum_buffer",
    .kind = STEPWISE_SLOT_TENSOR,
    .doc = "exponential moving average m of the gradients",
};
static const stepwise_slot *const slots[SLOT_COUNT] = {&momentum_buffer};

// Signum keeps nothing per instance beyond its host table; the state lives in slots.
typedef struct signum {
    const stepwise_host *host;
} signum;

static stepwise_status signum_create(const stepwise_host *host, const stepwise_values *values,
                                     void **instance, stepwise_error **error) {
    (void)values;
    signum *self = calloc(1, sizeof *self);
    if (!self) {
        *error = host->error_new(host, STEPWISE_OUT_OF_MEMORY, "Signum: out of memory");
        return STEPWISE_OUT_OF_MEMORY;
    }
    self->host = host;
    *instance = self;
    return STEPWISE_OK;
}

static void signum_destroy(void *instance) { free(instance); }

static stepwise_status signum_step(void *instance, const stepwise_group *group,
                                   const stepwise_closure *closure, stepwise_step_info *info,
                                   stepwise_error **error) {
    (void)instance; (void)closure; (void)info; (void)error;
    // Per-group values are current: a scheduler may have changed lr since the last step.
    const float gamma = (float)group->values->items[LR]->f;
    const float beta = (float)group->values->items[MOMENTUM]->f;
    const float decay = 1.0f - gamma * (float)group->values->items[WEIGHT_DECAY]->f;
    for (uint32_t t = 0; t < group->param_count; t++) {
        const stepwise_param *p = group->params[t];
        if (!p->grad) continue; // no gradient this step: untouched, as in torch
        float *m = p->slots[SLOT_MOMENTUM_BUFFER];
        for (int64_t i = 0; i < p->numel; i++) {
            // The host zero-fills fresh slots, so m_0 = 0 needs no special case.
            m[i] = beta * m[i] + (1.0f - beta) * p->grad[i];
            const float sign = (m[i] > 0.0f) - (m[i] < 0.0f);
            p->data[i] = p->data[i] * decay - gamma * sign;
        }
    }
    return STEPWISE_OK;
}

static const stepwise_optimizer_api signum_api = {
    .struct_size = sizeof(stepwise_optimizer_api),
    .flags = 0,
    .slot_count = SLOT_COUNT,
    .slots = slots,
    .check = NULL, // every rule is a range in the schema
    .create = signum_create,
    .destroy = signum_destroy,
    .slot_shape = NULL, // the buffer has the parameter's shape
    .step = signum_step,
    .save_state = NULL, // no state beyond the slots
    .load_state = NULL,
    .state_version = 0,
};

static const stepwise_component signum_component = {
    .struct_size = sizeof(stepwise_component),
    .kind = STEPWISE_KIND_OPTIMIZER,
    .type_name = "Signum",
    .summary = "Sign-SGD with momentum (Signum) and decoupled weight decay",
    .reference = "Bernstein et al., signSGD, ICML 2018, Algorithm 1 (Signum)",
    .hyperparam_count = HYPERPARAM_COUNT,
    .hyperparams = hyperparams,
    .api = &signum_api,
};

static const stepwise_component *const components[] = {&signum_component};

static const stepwise_plugin plugin = {
    .struct_size = sizeof(stepwise_plugin),
    .abi_version = STEPWISE_ABI_VERSION_INIT,
    .id = "example",
    .name = "Stepwise SDK example",
    .version = "1.0.0",
    .vendor = "Stepwise",
    .description = "Signum, to show how a plugin is written",
    .component_count = 1,
    .components = components,
};

STEPWISE_EXPORT const stepwise_plugin *stepwise_plugin_entry(const stepwise_host *host) {
    (void)host;
    return &plugin;
}
