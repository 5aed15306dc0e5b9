// A small, well-behaved Stepwise plugin with one component of each kind, used by the
// validator's tests. Compiled plain it passes `stepwise validate` at strictness 10;
// compiled with one -DFAULT_<NAME> it breaks exactly one rule of the ABI, and the test
// table in Tests/StepwiseTests/ValidatorTests.swift names the check that must catch it.
//
//   Toy        optimizer: heavy-ball SGD, a `velocity` slot, a step counter and a short
//              gradient-magnitude history as streamed state, REJECTS_NON_FINITE
//   ToyStep    scheduler: lr = base * gamma^(iterations / step_size), counter as state
//   ToyAccum   wrapper:   gradient accumulation and norm clipping, update count as state
//   ToyCounter hook:      counts iterations and sums a parameter, as state
#define _POSIX_C_SOURCE 200809L
#include <stepwise/stepwise.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// ---- state streams: loop until done, as the ABI requires ---------------------------

static int write_all(const stepwise_ostream *s, const void *buffer, uint64_t n) {
#ifdef FAULT_CHUNKED_SAVE
    s->write(s, buffer, n); // assumes one call writes everything
    return 1;
#else
    const char *p = buffer;
    while (n > 0) {
        int64_t w = s->write(s, p, n);
        if (w <= 0) return 0;
        p += w;
        n -= (uint64_t)w;
    }
    return 1;
#endif
}

static int read_all(const stepwise_istream *s, void *buffer, uint64_t n) {
#ifdef FAULT_CHUNKED_LOAD
    return s->read(s, buffer, n) == (int64_t)n; // assumes one call reads everything
#else
    char *p = buffer;
    while (n > 0) {
        int64_t r = s->read(s, p, n);
        if (r <= 0) return 0;
        p += r;
        n -= (uint64_t)r;
    }
    return 1;
#endif
}

static int at_end(const stepwise_istream *s) {
    char c;
    return s->read(s, &c, 1) == 0;
}

static stepwise_status fail(const stepwise_host *h, stepwise_error **e, stepwise_status st, const char *msg) {
    if (e) *e = h->error_new(h, st, msg);
    return st;
}

// ---- Toy: the optimizer ---------------------------------------------------------------

enum { LR, MOMENTUM };

static const stepwise_hyperparam opt_lr = {
    .struct_size = sizeof(stepwise_hyperparam), .name = "lr", .type = STEPWISE_TYPE_FLOAT,
    .role = STEPWISE_ROLE_LR, .flags = STEPWISE_HP_HAS_MIN | STEPWISE_HP_PER_GROUP,
#ifdef FAULT_BAD_DEFAULT
    .default_value = {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_FLOAT, .f = -1.0},
#else
    .default_value = {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_FLOAT, .f = 0.1},
#endif
    .min = 0.0, .label = "learning rate", .doc = "step size"};
static const stepwise_hyperparam opt_momentum = {
    .struct_size = sizeof(stepwise_hyperparam), .name = "momentum", .type = STEPWISE_TYPE_FLOAT,
    .role = STEPWISE_ROLE_MOMENTUM,
    .flags = STEPWISE_HP_HAS_MIN | STEPWISE_HP_HAS_MAX | STEPWISE_HP_MAX_EXCLUSIVE | STEPWISE_HP_PER_GROUP,
    .default_value = {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_FLOAT, .f = 0.5},
    .min = 0.0, .max = 1.0, .doc = "heavy-ball momentum"};
static const stepwise_hyperparam *const opt_hps[] = {&opt_lr, &opt_momentum};

static const stepwise_slot velocity = {.struct_size = sizeof(stepwise_slot), .name = "velocity",
                                       .kind = STEPWISE_SLOT_TENSOR, .doc = "heavy-ball velocity"};
static const stepwise_slot *const opt_slots[] = {&velocity};

#define HISTORY 4
typedef struct toy_opt {
    const stepwise_host *host;
    uint64_t steps;
    uint64_t saves;
    uint32_t history_len;
    double history[HISTORY];
} toy_opt;

#ifdef FAULT_SHARED_STATE
static uint64_t shared_steps; // one counter for every instance
#define STEPS(t) shared_steps
#else
#define STEPS(t) ((t)->steps)
#endif

static stepwise_status opt_create(const stepwise_host *h, const stepwise_values *v, void **instance, stepwise_error **e) {
#ifdef FAULT_DEFAULTS_REFUSED
    (void)v;
    (void)instance;
    return fail(h, e, STEPWISE_INVALID_ARGUMENT, "Toy refuses everything");
#else
#ifdef FAULT_CREATE_REFUSES_VALID
    if (v->items[LR]->f > 0.5) return fail(h, e, STEPWISE_INVALID_ARGUMENT, "Toy: lr above 0.5 is not supported");
#else
    (void)v;
#endif
    toy_opt *t = calloc(1, sizeof *t);
    if (!t) return fail(h, e, STEPWISE_OUT_OF_MEMORY, "Toy: out of memory");
#ifdef FAULT_OVERFLOW_IN_CREATE
    volatile size_t past = 24; // not a constant, so the compiler keeps the memset call
    memset(t, 0x5a, sizeof *t + past); // past the end of its own allocation
    memset(t, 0, sizeof *t);
#endif
    t->host = h;
#ifdef FAULT_SHARED_STATE
    shared_steps = 0;
#endif
    *instance = t;
#ifdef FAULT_OUT_PARAM_OVERFLOW
    instance[1] = t; // past the end of the out-parameter
#endif
    return STEPWISE_OK;
#endif
}

static void opt_destroy(void *instance) { free(instance); }

static stepwise_status opt_step(void *instance, const stepwise_group *g, const stepwise_closure *c,
                                stepwise_step_info *info, stepwise_error **e) {
    (void)c;
    (void)info;
    toy_opt *t = instance;
#ifdef FAULT_SEGV_IN_STEP
    volatile int *nowhere = NULL;
    *nowhere = 1;
#endif
#ifdef FAULT_HANG_IN_STEP
    for (volatile int spin = 1; spin;) {}
#endif
    const float lr = (float)g->values->items[LR]->f;
    const float mu = (float)g->values->items[MOMENTUM]->f;
#ifndef FAULT_NON_FINITE_APPLIED
    // Check first, so a refused step changes nothing.
    for (uint32_t k = 0; k < g->param_count; k++) {
        const stepwise_param *p = g->params[k];
        if (!p->grad) continue;
        for (int64_t i = 0; i < p->numel; i++) {
#ifdef FAULT_INF_NOT_CHECKED
            if (isnan(p->grad[i]))
#else
            if (!isfinite(p->grad[i]))
#endif
                return fail(t->host, e, STEPWISE_NON_FINITE, "Toy: a gradient is NaN or infinite; nothing was changed");
        }
    }
#endif
    STEPS(t) += 1;
    // Bias correction of the early steps, so the step count matters.
    const float scale = 1.0f - powf(0.5f, (float)STEPS(t));
    double magnitude = 0;
    for (uint32_t k = 0; k < g->param_count; k++) {
        const stepwise_param *p = g->params[k];
        if (!p->grad) {
#ifdef FAULT_TOUCHES_NO_GRAD
            for (int64_t i = 0; i < p->numel; i++) p->data[i] *= 0.999f;
#endif
            continue;
        }
        float *v = p->slots[0];
        const int fresh = (p->flags & STEPWISE_PARAM_STATE_FRESH) != 0;
        for (int64_t i = 0; i < p->numel; i++) {
            v[i] = fresh ? p->grad[i] : mu * v[i] + p->grad[i];
#ifdef FAULT_DIVERGES
            p->data[i] += lr * scale * v[i];
#else
            p->data[i] -= lr * scale * v[i];
#endif
            magnitude += fabsf(p->grad[i]);
        }
#ifdef FAULT_GRAD_WRITE
        memset(p->grad, 0, (size_t)p->numel * sizeof(float));
#endif
#ifdef FAULT_WRITE_PAST_END
        p->data[p->numel] = 0.0f;
#endif
#ifdef FAULT_NONDETERMINISTIC
        static unsigned calls;
        p->data[0] += 1e-6f * (float)(++calls);
#endif
    }
    if (t->history_len == HISTORY) memmove(t->history, t->history + 1, (HISTORY - 1) * sizeof(double));
    else t->history_len++;
    t->history[t->history_len - 1] = magnitude;
    return STEPWISE_OK;
}

static stepwise_status opt_save(void *instance, const stepwise_ostream *s, stepwise_error **e) {
    toy_opt *t = instance;
    uint32_t header[2] = {0x4f594f54u /* "TOYO" */, 1};
    uint64_t steps = STEPS(t);
#ifdef FAULT_SAVE_NOT_REPRODUCIBLE
    steps += ++t->saves; // each save differs
#endif
    if (!write_all(s, header, sizeof header) || !write_all(s, &steps, sizeof steps) ||
        !write_all(s, &t->history_len, sizeof t->history_len) ||
        !write_all(s, t->history, t->history_len * sizeof(double)))
        return fail(t->host, e, STEPWISE_IO_ERROR, "Toy: the stream refused a write");
    return STEPWISE_OK;
}

static stepwise_status opt_load(void *instance, const stepwise_istream *s, stepwise_error **e) {
    toy_opt *t = instance;
    uint32_t header[2];
    uint64_t steps;
    uint32_t n;
#ifdef FAULT_ACCEPTS_GARBAGE
    if (read_all(s, header, sizeof header) && read_all(s, &steps, sizeof steps)) STEPS(t) = steps;
    return STEPWISE_OK;
#elif defined(FAULT_HUGE_ALLOC_ON_LOAD)
    // Trusts its input: no magic check, and whatever count the bytes say, it allocates.
    if (!read_all(s, header, sizeof header) || !read_all(s, &steps, sizeof steps) || !read_all(s, &n, sizeof n))
        return fail(t->host, e, STEPWISE_BAD_STATE, "Toy: state is truncated");
    double *history = malloc((size_t)n * sizeof(double) * 4);
    history[0] = 0; // NULL when the allocation failed
    for (uint32_t i = 0; i < n; i++)
        if (!read_all(s, &history[i], sizeof(double))) {
            free(history);
            return fail(t->host, e, STEPWISE_BAD_STATE, "Toy: state is truncated");
        }
    if (!at_end(s)) {
        free(history);
        return fail(t->host, e, STEPWISE_BAD_STATE, "Toy: state has trailing bytes");
    }
    STEPS(t) = steps;
    t->history_len = n < HISTORY ? n : HISTORY;
    memcpy(t->history, history, t->history_len * sizeof(double));
    free(history);
    return STEPWISE_OK;
#else
    double history[HISTORY];
    if (!read_all(s, header, sizeof header) || header[0] != 0x4f594f54u || header[1] != 1)
        return fail(t->host, e, STEPWISE_BAD_STATE, "Toy: not a Toy state of version 1");
    if (!read_all(s, &steps, sizeof steps) || !read_all(s, &n, sizeof n))
        return fail(t->host, e, STEPWISE_BAD_STATE, "Toy: state is truncated");
#ifdef FAULT_PARTIAL_LOAD
    STEPS(t) = steps; // applied before the rest is checked
#endif
    if (n > HISTORY) return fail(t->host, e, STEPWISE_BAD_STATE, "Toy: history longer than 4 entries");
    if (!read_all(s, history, n * sizeof(double))) return fail(t->host, e, STEPWISE_BAD_STATE, "Toy: state is truncated");
    if (!at_end(s)) return fail(t->host, e, STEPWISE_BAD_STATE, "Toy: state has trailing bytes");
#ifndef FAULT_LOAD_IGNORES_STATE
    STEPS(t) = steps;
#endif
    t->history_len = n;
    memcpy(t->history, history, n * sizeof(double));
    return STEPWISE_OK;
#endif
}

static const stepwise_optimizer_api opt_api = {
    .struct_size = sizeof(stepwise_optimizer_api), .flags = STEPWISE_OPT_REJECTS_NON_FINITE,
    .slot_count = 1, .slots = opt_slots, .create = opt_create, .destroy = opt_destroy, .step = opt_step,
    .save_state = opt_save, .load_state = opt_load, .state_version = 1};

static const stepwise_component opt_component = {
#ifdef FAULT_STRUCT_SIZE
    .struct_size = sizeof(stepwise_component) + 16,
#else
    .struct_size = sizeof(stepwise_component),
#endif
    .kind = STEPWISE_KIND_OPTIMIZER, .type_name = "Toy", .summary = "Heavy-ball SGD for the validator's tests",
    .reference = "Polyak 1964", .hyperparam_count = 2, .hyperparams = opt_hps, .api = &opt_api};

// ---- ToyStep: the scheduler -------------------------------------------------------------

static const stepwise_hyperparam sched_step = {
    .struct_size = sizeof(stepwise_hyperparam), .name = "step_size", .type = STEPWISE_TYPE_INT,
    .flags = STEPWISE_HP_HAS_MIN, .default_value = {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_INT, .i = 3},
    .min = 1, .doc = "iterations between decays"};
static const stepwise_hyperparam sched_gamma = {
    .struct_size = sizeof(stepwise_hyperparam), .name = "gamma", .type = STEPWISE_TYPE_FLOAT,
    .flags = STEPWISE_HP_HAS_MIN | STEPWISE_HP_MIN_EXCLUSIVE | STEPWISE_HP_HAS_MAX,
    .default_value = {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_FLOAT, .f = 0.5},
    .min = 0, .max = 1, .doc = "decay factor"};
static const stepwise_hyperparam *const sched_hps[] = {&sched_step, &sched_gamma};

typedef struct toy_sched {
    const stepwise_host *host;
    int64_t step_size;
    double gamma;
    uint64_t count;
} toy_sched;

static stepwise_status sched_create(const stepwise_host *h, const stepwise_values *v, const stepwise_schedule_setup *setup,
                                    void **instance, stepwise_error **e) {
    (void)setup;
    toy_sched *t = calloc(1, sizeof *t);
    if (!t) return fail(h, e, STEPWISE_OUT_OF_MEMORY, "ToyStep: out of memory");
    t->host = h;
    t->step_size = v->items[0]->i;
    t->gamma = v->items[1]->f;
    *instance = t;
    return STEPWISE_OK;
}

static void sched_destroy(void *instance) { free(instance); }

static stepwise_status sched_tick(void *instance, const stepwise_schedule_tick *tick, stepwise_error **e) {
    (void)e;
    toy_sched *t = instance;
    if (tick->event == STEPWISE_TICK_AFTER_ITER) t->count++;
    else if (tick->event != STEPWISE_TICK_START) return STEPWISE_OK;
    for (uint32_t g = 0; g < tick->group_count; g++) {
        tick->values[g] = tick->base_values[g] * pow(t->gamma, (double)(t->count / (uint64_t)t->step_size));
#ifdef FAULT_SCHED_NONDETERMINISTIC
        static unsigned calls;
        tick->values[g] += 1e-9 * (double)(++calls);
#endif
    }
    return STEPWISE_OK;
}

static stepwise_status sched_save(void *instance, const stepwise_ostream *s, stepwise_error **e) {
    toy_sched *t = instance;
    uint32_t header[2] = {0x53594f54u /* "TOYS" */, 1};
    if (!write_all(s, header, sizeof header) || !write_all(s, &t->count, sizeof t->count))
        return fail(t->host, e, STEPWISE_IO_ERROR, "ToyStep: the stream refused a write");
    return STEPWISE_OK;
}

static stepwise_status sched_load(void *instance, const stepwise_istream *s, stepwise_error **e) {
    toy_sched *t = instance;
    uint32_t header[2];
    uint64_t count;
    if (!read_all(s, header, sizeof header) || header[0] != 0x53594f54u || header[1] != 1)
        return fail(t->host, e, STEPWISE_BAD_STATE, "ToyStep: not a ToyStep state of version 1");
    if (!read_all(s, &count, sizeof count)) return fail(t->host, e, STEPWISE_BAD_STATE, "ToyStep: state is truncated");
    if (!at_end(s)) return fail(t->host, e, STEPWISE_BAD_STATE, "ToyStep: state has trailing bytes");
#ifdef FAULT_SCHED_LOAD_DROPS_COUNT
    t->count = 0;
#else
    t->count = count;
#endif
    return STEPWISE_OK;
}

static const stepwise_scheduler_api sched_api = {
    .struct_size = sizeof(stepwise_scheduler_api), .target = STEPWISE_TARGET_LR, .dialect = STEPWISE_DIALECT_MMENGINE,
    .create = sched_create, .destroy = sched_destroy, .tick = sched_tick, .save_state = sched_save,
    .load_state = sched_load, .state_version = 1};

static const stepwise_component sched_component = {
    .struct_size = sizeof(stepwise_component), .kind = STEPWISE_KIND_SCHEDULER, .type_name = "ToyStep",
    .summary = "Step decay for the validator's tests", .hyperparam_count = 2, .hyperparams = sched_hps,
    .api = &sched_api};

// ---- ToyAccum: the wrapper ----------------------------------------------------------------

static const stepwise_hyperparam wrap_counts = {
    .struct_size = sizeof(stepwise_hyperparam), .name = "accumulative_counts", .type = STEPWISE_TYPE_INT,
    .flags = STEPWISE_HP_HAS_MIN, .default_value = {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_INT, .i = 2},
    .min = 1, .doc = "iterations per update"};
static const stepwise_hyperparam wrap_norm = {
    .struct_size = sizeof(stepwise_hyperparam), .name = "max_norm", .type = STEPWISE_TYPE_FLOAT,
    .flags = STEPWISE_HP_HAS_MIN | STEPWISE_HP_MIN_EXCLUSIVE,
    .default_value = {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_FLOAT, .f = 1.0},
    .min = 0, .doc = "clip the total gradient norm to this"};
static const stepwise_hyperparam *const wrap_hps[] = {&wrap_counts, &wrap_norm};

typedef struct toy_wrap {
    const stepwise_host *host;
    int64_t counts, max_iters;
    double max_norm;
    uint64_t updates;
} toy_wrap;

static stepwise_status wrap_create(const stepwise_host *h, const stepwise_values *v, const stepwise_wrapper_setup *setup,
                                   void **instance, stepwise_error **e) {
    toy_wrap *t = calloc(1, sizeof *t);
    if (!t) return fail(h, e, STEPWISE_OUT_OF_MEMORY, "ToyAccum: out of memory");
    t->host = h;
    t->counts = v->items[0]->i;
    t->max_norm = v->items[1]->f;
    t->max_iters = setup->max_iters;
    *instance = t;
    return STEPWISE_OK;
}

static void wrap_destroy(void *instance) { free(instance); }

static double wrap_loss_factor(void *instance, int64_t iter) {
    toy_wrap *t = instance;
    int64_t full = t->max_iters > 0 ? t->max_iters / t->counts * t->counts : INT64_MAX;
    return iter >= full ? 1.0 / (double)(t->max_iters - full) : 1.0 / (double)t->counts;
}

static bool wrap_should_update(void *instance, int64_t iter) {
    toy_wrap *t = instance;
    return (iter + 1) % t->counts == 0 || iter + 1 == t->max_iters;
}

static stepwise_status wrap_pre_step(void *instance, const stepwise_grad_set *grads, stepwise_pre_step_info *info,
                                     stepwise_error **e) {
    (void)e;
    toy_wrap *t = instance;
    double sum = 0;
    for (uint32_t g = 0; g < grads->group_count; g++)
        for (uint32_t k = 0; k < grads->groups[g]->param_count; k++) {
            const stepwise_param *p = grads->groups[g]->params[k];
            if (p->grad)
                for (int64_t i = 0; i < p->numel; i++) sum += (double)p->grad[i] * p->grad[i];
        }
    double norm = sqrt(sum);
    if (!isfinite(norm)) {
        info->found_non_finite = true;
#ifdef FAULT_WRAPPER_NAN_NORM
        info->has_grad_norm = true;
        info->grad_norm = norm;
        return STEPWISE_OK;
#else
        return STEPWISE_SKIPPED;
#endif
    }
    if (norm > t->max_norm) {
        float scale = (float)(t->max_norm / (norm + 1e-6));
        for (uint32_t g = 0; g < grads->group_count; g++)
            for (uint32_t k = 0; k < grads->groups[g]->param_count; k++) {
                const stepwise_param *p = grads->groups[g]->params[k];
                if (p->grad)
                    for (int64_t i = 0; i < p->numel; i++) p->grad[i] *= scale;
            }
    }
    info->has_grad_norm = true;
    info->grad_norm = norm;
    return STEPWISE_OK;
}

static stepwise_status wrap_post_step(void *instance, bool stepped, stepwise_error **e) {
    (void)e;
    toy_wrap *t = instance;
    if (stepped) t->updates++;
    return STEPWISE_OK;
}

static stepwise_status wrap_save(void *instance, const stepwise_ostream *s, stepwise_error **e) {
    toy_wrap *t = instance;
    uint32_t header[2] = {0x57594f54u /* "TOYW" */, 1};
    if (!write_all(s, header, sizeof header) || !write_all(s, &t->updates, sizeof t->updates))
        return fail(t->host, e, STEPWISE_IO_ERROR, "ToyAccum: the stream refused a write");
    return STEPWISE_OK;
}

static stepwise_status wrap_load(void *instance, const stepwise_istream *s, stepwise_error **e) {
    toy_wrap *t = instance;
    uint32_t header[2];
    uint64_t updates;
    if (!read_all(s, header, sizeof header) || header[0] != 0x57594f54u || header[1] != 1)
        return fail(t->host, e, STEPWISE_BAD_STATE, "ToyAccum: not a ToyAccum state of version 1");
    if (!read_all(s, &updates, sizeof updates)) return fail(t->host, e, STEPWISE_BAD_STATE, "ToyAccum: state is truncated");
    if (!at_end(s)) return fail(t->host, e, STEPWISE_BAD_STATE, "ToyAccum: state has trailing bytes");
    t->updates = updates;
    return STEPWISE_OK;
}

static const stepwise_wrapper_api wrap_api = {
    .struct_size = sizeof(stepwise_wrapper_api), .create = wrap_create, .destroy = wrap_destroy,
    .loss_factor = wrap_loss_factor, .should_update = wrap_should_update, .pre_step = wrap_pre_step,
    .post_step = wrap_post_step, .save_state = wrap_save, .load_state = wrap_load, .state_version = 1};

static const stepwise_component wrap_component = {
    .struct_size = sizeof(stepwise_component), .kind = STEPWISE_KIND_WRAPPER, .type_name = "ToyAccum",
    .summary = "Accumulation and clipping for the validator's tests", .hyperparam_count = 2, .hyperparams = wrap_hps,
    .api = &wrap_api};

// ---- ToyCounter: the hook -------------------------------------------------------------------

static const stepwise_hyperparam hook_interval = {
    .struct_size = sizeof(stepwise_hyperparam), .name = "interval", .type = STEPWISE_TYPE_INT,
    .flags = STEPWISE_HP_HAS_MIN, .default_value = {.struct_size = sizeof(stepwise_value), .type = STEPWISE_TYPE_INT, .i = 1},
    .min = 1, .doc = "sum every this many iterations"};
static const stepwise_hyperparam *const hook_hps[] = {&hook_interval};

typedef struct toy_hook {
    const stepwise_host *host;
    int64_t interval;
    uint64_t iters;
    double sum, last_loss;
} toy_hook;

static stepwise_status hook_create(const stepwise_host *h, const stepwise_values *v, void **instance, stepwise_error **e) {
    toy_hook *t = calloc(1, sizeof *t);
    if (!t) return fail(h, e, STEPWISE_OUT_OF_MEMORY, "ToyCounter: out of memory");
    t->host = h;
    t->interval = v->items[0]->i;
    *instance = t;
    return STEPWISE_OK;
}

static void hook_destroy(void *instance) { free(instance); }

static stepwise_status hook_on_event(void *instance, stepwise_hook_point point, const stepwise_runner_view *view,
                                     stepwise_error **e) {
    toy_hook *t = instance;
    if (point == STEPWISE_HOOK_AFTER_TRAIN_ITER) {
        t->iters++;
        stepwise_param p = {.struct_size = sizeof p};
        if (t->iters % (uint64_t)t->interval == 0 && view->param_count > 0) {
            if (!view->param_at(view, 0, &p)) return fail(t->host, e, STEPWISE_INTERNAL, "ToyCounter: no parameter 0");
            t->sum += p.data[0];
        }
    } else if (point == STEPWISE_HOOK_AFTER_VAL_EPOCH) {
        for (uint32_t i = 0; i < view->scalar_count; i++)
            if (strcmp(view->scalars[i]->name, "loss") == 0) t->last_loss = view->scalars[i]->value;
    }
    return STEPWISE_OK;
}

static stepwise_status hook_save(void *instance, const stepwise_ostream *s, stepwise_error **e) {
    toy_hook *t = instance;
    uint32_t header[2] = {0x48594f54u /* "TOYH" */, 1};
    if (!write_all(s, header, sizeof header) || !write_all(s, &t->iters, sizeof t->iters) ||
        !write_all(s, &t->sum, sizeof t->sum) || !write_all(s, &t->last_loss, sizeof t->last_loss))
        return fail(t->host, e, STEPWISE_IO_ERROR, "ToyCounter: the stream refused a write");
    return STEPWISE_OK;
}

static stepwise_status hook_load(void *instance, const stepwise_istream *s, stepwise_error **e) {
    toy_hook *t = instance;
    uint32_t header[2];
    uint64_t iters;
    double sum, last;
    if (!read_all(s, header, sizeof header) || header[0] != 0x48594f54u || header[1] != 1)
        return fail(t->host, e, STEPWISE_BAD_STATE, "ToyCounter: not a ToyCounter state of version 1");
    if (!read_all(s, &iters, sizeof iters) || !read_all(s, &sum, sizeof sum) || !read_all(s, &last, sizeof last))
        return fail(t->host, e, STEPWISE_BAD_STATE, "ToyCounter: state is truncated");
#ifndef FAULT_HOOK_TRAILING
    if (!at_end(s)) return fail(t->host, e, STEPWISE_BAD_STATE, "ToyCounter: state has trailing bytes");
#endif
    t->iters = iters;
    t->sum = sum;
    t->last_loss = last;
    return STEPWISE_OK;
}

static const stepwise_hook_api hook_api = {
    .struct_size = sizeof(stepwise_hook_api),
    .points = STEPWISE_HOOK_MASK(STEPWISE_HOOK_AFTER_TRAIN_ITER) | STEPWISE_HOOK_MASK(STEPWISE_HOOK_AFTER_VAL_EPOCH),
    .default_priority = 50, .create = hook_create, .destroy = hook_destroy, .on_event = hook_on_event,
    .save_state = hook_save, .load_state = hook_load, .state_version = 1};

static const stepwise_component hook_component = {
    .struct_size = sizeof(stepwise_component), .kind = STEPWISE_KIND_HOOK, .type_name = "ToyCounter",
    .summary = "Counts iterations for the validator's tests", .hyperparam_count = 1, .hyperparams = hook_hps,
    .api = &hook_api};

// ---- the plugin -----------------------------------------------------------------------------

static const stepwise_component *const components[] = {&opt_component, &sched_component, &wrap_component,
                                                       &hook_component};
static const stepwise_plugin plugin = {
    .struct_size = sizeof(stepwise_plugin), .abi_version = STEPWISE_ABI_VERSION_INIT, .id = "toy",
    .name = "Validator test plugin", .version = "1.0.0", .component_count = 4, .components = components};

STEPWISE_EXPORT const stepwise_plugin *stepwise_plugin_entry(const stepwise_host *host) {
    (void)host;
#ifdef FAULT_SLOW_SCAN
    struct timespec pause = {0, 150 * 1000 * 1000}; // heavy work at load time
    nanosleep(&pause, NULL);
#endif
    return &plugin;
}
