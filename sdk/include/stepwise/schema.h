// Stepwise plugin ABI — hyperparameter schemas and the values built from them.
//
// Every component declares its hyperparameters. The host validates a config dict against
// the schema before any plugin code runs: unknown keys, wrong types and out-of-range
// values are rejected with a message that names the key, the component and the config
// file. The plugin then receives one resolved value per declared hyperparameter, in
// schema order, with defaults filled in, and never parses config text itself.
#ifndef STEPWISE_SCHEMA_H
#define STEPWISE_SCHEMA_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum stepwise_value_type {
    STEPWISE_TYPE_NONE = 0,         // only as a value: Python's None (allowed with STEPWISE_HP_NULLABLE)
    STEPWISE_TYPE_FLOAT = 1,        // double; an integer in a config is accepted
    STEPWISE_TYPE_INT = 2,          // int64; a float with a fractional part is refused
    STEPWISE_TYPE_BOOL = 3,
    STEPWISE_TYPE_STRING = 4,       // UTF-8; restricted to `choices` when given
    STEPWISE_TYPE_FLOAT_VECTOR = 5, // e.g. betas = [0.9, 0.999]
    STEPWISE_TYPE_INT_VECTOR = 6,   // e.g. milestones = [30, 60]
    STEPWISE_TYPE_JSON = 7,         // any config value (dict, list, ...), passed as JSON text
} stepwise_value_type;

// What a hyperparameter means to the rest of the system. Schedulers and wrappers find
// "the learning rate" or "the momentum" of any optimizer through its role, never its
// name: SGD's `momentum` and Adam's `betas[0]` are both STEPWISE_ROLE_MOMENTUM.
typedef enum stepwise_role {
    STEPWISE_ROLE_NONE = 0,
    STEPWISE_ROLE_LR = 1,
    STEPWISE_ROLE_MOMENTUM = 2,     // for a FLOAT_VECTOR (betas), element 0
    STEPWISE_ROLE_WEIGHT_DECAY = 3,
} stepwise_role;

// Flags of a hyperparameter (bitwise or).
enum {
    // `min` / `max` bound the value (each element, for vectors).
    STEPWISE_HP_HAS_MIN = 1u << 0,
    STEPWISE_HP_HAS_MAX = 1u << 1,
    STEPWISE_HP_MIN_EXCLUSIVE = 1u << 2,
    STEPWISE_HP_MAX_EXCLUSIVE = 1u << 3,
    // The config may give None (null); the value then has type STEPWISE_TYPE_NONE.
    STEPWISE_HP_NULLABLE = 1u << 4,
    // No default: a config without this key is refused ("missing required key").
    STEPWISE_HP_REQUIRED = 1u << 5,
    // Accepted for compatibility and documented as having no effect (torch's `foreach`).
    STEPWISE_HP_NO_EFFECT = 1u << 6,
    // A length in steps: multiplied by the epoch length when an epoch-based scheduler is
    // converted to an iteration-based one (MMEngine's convert_to_iter_based).
    STEPWISE_HP_PERIOD = 1u << 7,
    // A vector that may also be given as a single number (a one-element vector).
    STEPWISE_HP_SCALAR_OK = 1u << 8,
    // May be overridden per param group (optimizers). Without it, a group override of
    // this key is refused.
    STEPWISE_HP_PER_GROUP = 1u << 9,
    // A JSON list of scheduler configs that the host builds as children of this
    // scheduler (torch's SequentialLR / ChainedScheduler `schedulers`); see
    // stepwise_schedule_setup.
    STEPWISE_HP_SCHEDULERS = 1u << 10,
};

// A value: the default in a schema, or a resolved hyperparameter handed to a plugin.
// Only the member named by `type` is meaningful. Vectors and strings are lent with the
// value: static in a schema; in resolved values, valid for the lifetime of the instance
// they were handed to (the host keeps them alive until destroy).
typedef struct stepwise_value {
    size_t struct_size;
    stepwise_value_type type;
    double f;               // FLOAT
    int64_t i;              // INT
    bool b;                 // BOOL
    const char *s;          // STRING, JSON (NUL-terminated UTF-8)
    const double *fv;       // FLOAT_VECTOR
    const int64_t *iv;      // INT_VECTOR
    uint32_t count;         // element count of a vector
} stepwise_value;

// One hyperparameter of a component's schema. Static: the plugin keeps it alive for the
// life of the process.
typedef struct stepwise_hyperparam {
    size_t struct_size;
    const char *name;              // config key, e.g. "lr", "betas", "weight_decay"
    stepwise_value_type type;
    stepwise_role role;
    uint32_t flags;                // STEPWISE_HP_*
    stepwise_value default_value;  // ignored with STEPWISE_HP_REQUIRED
    double min, max;               // see STEPWISE_HP_HAS_MIN / HAS_MAX
    // For vectors: the exact element count required, or 0 for any.
    uint32_t vector_length;
    // For STRING: the allowed values, or NULL for any string.
    const char *const *choices;
    uint32_t choice_count;
    // Noun used in range errors, like torch's messages: "learning rate" gives
    // "Invalid learning rate: -0.1"; for vectors "beta parameter" gives
    // "Invalid beta parameter at index 1: 1.0". NULL: the name is used.
    const char *label;
    const char *doc;               // one line, shown by `stepwise describe`
} stepwise_hyperparam;

// Resolved hyperparameters: exactly one value per declared hyperparameter, in schema
// order. Lent to the callee for the call only, unless the header of the call says the
// values live as long as an instance.
typedef struct stepwise_values {
    size_t struct_size;
    uint32_t count;
    const stepwise_value *const *items;
} stepwise_values;

#ifdef __cplusplus
}
#endif

#endif // STEPWISE_SCHEMA_H
