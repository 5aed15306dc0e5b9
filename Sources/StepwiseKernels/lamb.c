#include "StepwiseKernels.h"
#include "vector.h"
#include <float.h>
#include <math.h>

// Traffic. With the trust ratio a correct LAMB step over tensors larger than the caches
// needs three passes, because each waits for a reduction over everything before it: the
// clip factor needs ‖g‖ of the whole group before any moment can be written, and the
// trust ratio needs ‖u‖ of the whole tensor before p can be. So g is read twice and p read
// in the last pass at least; the last pass gets u either by recomputing it from m and v
// (reads 8 B) or from a stored copy (4 B written + 4 B read). It uses the stored copy, in
// a plugin-owned scratch buffer (not state: never checkpointed):
//   clip:     read g                            4 B
//   moments:  read p g m v, write m v u        28 B   (p: ‖p'‖ and the L2 term λθ)
//   apply:    read p u, write p                12 B
// 44 B/param either way, the minimum, and what `stepwise bench` holds this kernel to; the
// copy costs 4 B/param of memory. u is written with streaming stores: an ordinary store
// first reads the line it overwrites (32 B for the moments pass), and that version measured
// ~10% slower than recomputing at 10M and 100M, while streaming measured 9-13% faster, and
// faster at 1M too (two threads, the variants alternated in one process).
//
// Compute. Evaluating u takes three divisions and one square root (~2.6 cycles per element
// with AVX-512), which kept both passes divider-bound when each evaluated it; now only the
// moments pass does. Two of the divisions are by per-step constants (the bias
// corrections), and a division by a constant can be a multiplication without changing a
// bit, see sk_lamb_divc.

// x / c for a float constant c, as x * (1/c) in double rounded once to float. This is the
// correctly rounded quotient, bit for bit, when the quotient is a normal float: a quotient
// of two floats is never a midpoint between floats (c·mid would need more than 24
// significant bits) and lies at least 2^-49 (relative) away from one, while the double
// product errs by under 2^-52. A subnormal quotient can tie exactly only when c >= 2
// (c = odd·2^b with b >= 1), so the bias corrections (in (0, 1]) are safe everywhere and
// the clip factor (>= 1) falls back to a true division where the quotient may be
// subnormal.
static inline __attribute__((always_inline)) float sk_lamb_divc(float x, double r) {
    return (float)((double)x * r);
}

typedef float sk_f16 __attribute__((ext_vector_type(16)));
typedef double sk_d16 __attribute__((ext_vector_type(16)));
typedef int sk_i16 __attribute__((ext_vector_type(16)));

// The sixteen-element pieces are macros, not functions: a vector in a function signature
// would change the ABI between the clones (see vector.h).
#define SK_DIVC16(x, r) __builtin_convertvector(__builtin_convertvector((x), sk_d16) * (r), sk_f16)
#define SK_LOAD16(ptr) ({ sk_f16 sk_l_; __builtin_memcpy(&sk_l_, (ptr), sizeof sk_l_); sk_l_; })
#define SK_STORE16(ptr, x) do { sk_f16 sk_s_ = (x); __builtin_memcpy((ptr), &sk_s_, sizeof sk_s_); } while (0)

void sk_lamb_prepare(double lr, double beta1, double beta2, double eps, double weight_decay,
                     bool bias_correction, bool grad_averaging, bool decoupled, double wd_scale,
                     double step, float clip, sk_lamb_args *out) {
    double bc1 = bias_correction ? sk_bias_correction(beta1, step) : 1.0;
    double bc2 = bias_correction ? sk_bias_correction(beta2, step) : 1.0;
    double beta3 = grad_averaging ? 1.0 - beta1 : 1.0;
    float bc1f = (float)bc1, bc2s = (float)pow(bc2, 0.5);
    *out = (sk_lamb_args){
        .clip = clip, .w1 = (float)beta3, .beta1 = (float)beta1, .beta3 = (float)beta3,
        .beta2 = (float)beta2, .c2 = (float)(1.0 - beta2), .bc1 = bc1f,
        .bc2_sqrt = bc2s, .eps = (float)eps,
        .weight_decay = weight_decay != 0.0 && !decoupled ? (float)weight_decay : 0.0f,
        .wd_neg = weight_decay != 0.0 && decoupled ? (float)(-wd_scale * weight_decay) : 0.0f,
        .neg_lr = (float)(-lr), .trust = 1.0f,
        // timm lerps exactly when beta3 == 1 - beta1, i.e. with grad averaging.
        .averaging = grad_averaging, .decoupled = decoupled && weight_decay != 0.0, .apply = false,
        // The reciprocals of the float constants (see sk_lamb_divc), and the gradient size
        // below which g / clip may be subnormal (with a margin: only ever too cautious).
        .r_clip = 1.0 / (double)clip, .r_bc1 = 1.0 / (double)bc1f, .r_bc2_sqrt = 1.0 / (double)bc2s,
        .clip_tiny = (float)((double)FLT_MIN * (double)clip * 2.0),
    };
}

float sk_lamb_trust_ratio(float weight_norm, float update_norm, bool trust_clip) {
    float ratio = weight_norm > 0.0f ? (update_norm > 0.0f ? weight_norm / update_norm : 1.0f) : 1.0f;
    return trust_clip && ratio > 1.0f ? 1.0f : ratio;
}

// ---- one element (the scalar tails; the vector bodies below mirror it op for op) -------

static inline float lamb_clipped(float gi, const sk_lamb_args *a) {
    if (a->clip == 1.0f) return gi;
    return __builtin_fabsf(gi) < a->clip_tiny ? gi / a->clip : sk_lamb_divc(gi, a->r_clip);
}

// The update direction u and the decayed parameter p' for element i; LAMB_UPDATE16 gives
// the same bits (see sk_lamb_divc).
static inline float lamb_update(float pi, float mi, float vi, const sk_lamb_args *a, float *q) {
    float u = sk_lamb_divc(mi, a->r_bc1) / (sk_lamb_divc(sk_sqrtf(vi), a->r_bc2_sqrt) + a->eps);
    *q = a->decoupled ? pi + a->wd_neg * pi : pi;
    return a->weight_decay != 0.0f ? u + a->weight_decay * pi : u;
}

// One element of the moments pass: updates m and v, returns the update u and writes the
// decayed parameter to *q.
static inline float lamb_element(float pi, float gi, float *m, float *v, const sk_lamb_args *a, float *q) {
    float gc = lamb_clipped(gi, a);
    float mi = a->averaging ? sk_lerp(*m, gc, a->w1) : *m * a->beta1 + a->beta3 * gc;
    float vi = *v * a->beta2 + (a->c2 * gc) * gc;
    *m = mi;
    *v = vi;
    return lamb_update(pi, mi, vi, a, q);
}

// ---- sixteen elements: lamb_clipped, lamb_update and lamb_element, op for op ----------

// Rare (gradients near FLT_MIN·clip): the whole block divides.
#define LAMB_CLIPPED16(g, a)                                                                  \
    ({                                                                                        \
        sk_f16 sk_g_ = (g);                                                                   \
        (a)->clip == 1.0f ? sk_g_                                                             \
        : __builtin_reduce_or((sk_i16)(__builtin_elementwise_abs(sk_g_) < (a)->clip_tiny))    \
            ? sk_g_ / (a)->clip                                                               \
            : SK_DIVC16(sk_g_, (a)->r_clip);                                                  \
    })

// u for the block, dividing by the bias corrections with DIV; writes p' to q.
#define LAMB_UPDATE16(p, m, v, a, q, DIV)                                                     \
    ({                                                                                        \
        sk_f16 sk_p_ = (p);                                                                   \
        sk_f16 sk_u_ = DIV((m), (a)->bc1, (a)->r_bc1) /                                       \
                       (DIV(__builtin_elementwise_sqrt(v), (a)->bc2_sqrt, (a)->r_bc2_sqrt) + (a)->eps); \
        (q) = (a)->decoupled ? sk_p_ + (a)->wd_neg * sk_p_ : sk_p_;                           \
        (a)->weight_decay != 0.0f ? sk_u_ + (a)->weight_decay * sk_p_ : sk_u_;                \
    })

// The bias corrections are divided by with DIV: the other ports are busy converting and
// accumulating the norms in double, and the exact multiplication (SK_DIVC16) measured no
// faster here.
#define LAMB_TRUEDIV16(x, c, r) ((x) / (c))

// Moments of elements [i, i + 16): stores m and v, yields u and writes p' to q.
#define LAMB_BLOCK16(p, g, m, v, a, q)                                                        \
    ({                                                                                        \
        sk_f16 sk_gc_ = LAMB_CLIPPED16(SK_LOAD16(g), a), sk_m0_ = SK_LOAD16(m);               \
        sk_f16 sk_v0_ = SK_LOAD16(v), sk_mi_;                                                 \
        if ((a)->averaging) {                                                                 \
            sk_f16 sk_d_ = sk_gc_ - sk_m0_;                                                   \
            sk_mi_ = __builtin_fabsf((a)->w1) < 0.5f ? sk_m0_ + (a)->w1 * sk_d_               \
                                                     : sk_gc_ - sk_d_ * (1.0f - (a)->w1);    \
        } else {                                                                              \
            sk_mi_ = sk_m0_ * (a)->beta1 + (a)->beta3 * sk_gc_;                               \
        }                                                                                     \
        sk_f16 sk_vi_ = sk_v0_ * (a)->beta2 + ((a)->c2 * sk_gc_) * sk_gc_;                    \
        SK_STORE16(m, sk_mi_);                                                                \
        SK_STORE16(v, sk_vi_);                                                                \
        LAMB_UPDATE16(SK_LOAD16(p), sk_mi_, sk_vi_, a, q, LAMB_TRUEDIV16);                    \
    })

SK_MULTIVERSION
void sk_lamb_moments(float *restrict p, const float *restrict g, float *restrict m,
                     float *restrict v, float *restrict u_out, int64_t n, const sk_lamb_args *a,
                     double norms[2]) {
    const sk_lamb_args args = *a;
    const float nl = args.neg_lr;
    int64_t i = 0;
    if (args.apply) {
        for (; i + 16 <= n; i += 16) {
            sk_f16 q, u = LAMB_BLOCK16(p + i, g + i, m + i, v + i, &args, q);
            SK_STORE16(p + i, q + nl * u);
        }
        for (; i < n; i++) {
            float q, u = lamb_element(p[i], g[i], m + i, v + i, &args, &q);
            p[i] = q + nl * u;
        }
        return;
    }
    // The squares of p' and u accumulate in double, lanes 0-7 and 8-15 apart, so the sum
    // does not depend on the vector width of the clone.
    sk_d16 ws = 0, us = 0;
    const bool stream = ((uintptr_t)u_out & 63) == 0;
    for (; i + 16 <= n; i += 16) {
        // p is only read in this pass: prefetch it ahead (read-only streams get little
        // help from the hardware prefetcher).
        __builtin_prefetch(p + i + 128, 0, 3);
        sk_f16 q, u = LAMB_BLOCK16(p + i, g + i, m + i, v + i, &args, q);
        // Streamed: an ordinary store would first read the line it overwrites whole (32 B
        // moved, not 28); see the traffic note at the top.
        if (stream) __builtin_nontemporal_store(u, (sk_f16 *)(u_out + i));
        else SK_STORE16(u_out + i, u);
        sk_d16 qd = __builtin_convertvector(q, sk_d16), ud = __builtin_convertvector(u, sk_d16);
        ws += qd * qd;
        us += ud * ud;
    }
#if defined(__x86_64__)
    // Streaming stores are weakly ordered: visible before this piece counts as done.
    if (stream) __builtin_ia32_sfence();
#endif
    sk_d8 w8 = ws.lo + ws.hi, u8 = us.lo + us.hi;
    double wsum = SK_HSUM(w8), usum = SK_HSUM(u8);
    for (; i < n; i++) {
        float q, u = lamb_element(p[i], g[i], m + i, v + i, &args, &q);
        u_out[i] = u;
        wsum += (double)q * q;
        usum += (double)u * u;
    }
    norms[0] += wsum;
    norms[1] += usum;
}

SK_MULTIVERSION
void sk_lamb_apply(float *restrict p, const float *restrict u, int64_t n, const sk_lamb_args *a) {
    const float trust = a->trust, nl = a->neg_lr, wd_neg = a->wd_neg;
    const bool decoupled = a->decoupled;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        // u is only read in this pass (see the moments pass on p).
        __builtin_prefetch(u + i + 128, 0, 3);
        sk_f16 pi = SK_LOAD16(p + i), q = decoupled ? pi + wd_neg * pi : pi;
        SK_STORE16(p + i, q + nl * (SK_LOAD16(u + i) * trust));
    }
    for (; i < n; i++) {
        float q = decoupled ? p[i] + wd_neg * p[i] : p[i];
        p[i] = q + nl * (u[i] * trust);
    }
}
