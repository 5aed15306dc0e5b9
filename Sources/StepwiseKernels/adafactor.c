#include "StepwiseKernels.h"
#include "vector.h"
#include <math.h>

// torch.linalg.vector_norm(x)**2 / count, as float32: the norm is rounded to float before
// it is squared.
static inline float mean_square(double sumsq, int64_t count) {
    float norm = (float)sqrt(sumsq);
    return (norm * norm) / (float)count;
}

// One factored matrix (rows x cols) of a rank >= 2 tensor: the variance estimate of
// element (r, c) is row_var[r] * col_var[c] / max(mean(row_var), eps1).
static void factored_moments(const float *g, float *row_var, float *col_var, int64_t rows,
                             int64_t cols, float w, double *col_sums) {
    for (int64_t c = 0; c < cols; c++) col_sums[c] = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *gr = g + r * cols;
        double s = 0;
        for (int64_t c = 0; c < cols; c++) {
            double x = (double)gr[c] * gr[c];
            s += x;
            col_sums[c] += x;
        }
        row_var[r] = sk_lerp(row_var[r], mean_square(s, cols), w);
    }
    for (int64_t c = 0; c < cols; c++) col_var[c] = sk_lerp(col_var[c], mean_square(col_sums[c], rows), w);
}

static inline float row_mean(const float *row_var, int64_t rows, float eps1) {
    double s = 0;
    for (int64_t r = 0; r < rows; r++) s += row_var[r];
    float mean = (float)(s / (double)rows);
    return mean < eps1 ? eps1 : mean;
}

// rsqrt(max(v, eps1^2)) * g, as torch's clamp_ / rsqrt_ / mul_ chain evaluates it.
static inline float scaled(float v, float g, float eps1sq) {
    v = v < eps1sq ? eps1sq : v;
    return (1.0f / sk_sqrtf(v)) * g;
}

void sk_adafactor(float *p, const float *g, float *row_var, float *col_var, float *variance,
                  int64_t batch, int64_t rows, int64_t cols, const sk_adafactor_args *a,
                  double *scratch) {
    const int64_t n = batch * rows * cols;
    const float sign = a->sign;
    const double one_minus_beta2 = pow(a->step, a->beta2_decay);
    const double rho = fmin(a->lr, 1.0 / pow(a->step, 0.5));
    const double root_n = pow((double)n, 0.5);
    const double pnorm = (double)(float)sqrt(sk_sumsq(p, n));
    const double alpha = fmax(a->eps2, pnorm / root_n) * rho;
    const float w = (float)one_minus_beta2;
    const float eps1 = (float)a->eps1, eps1sq = (float)(a->eps1 * a->eps1);
    const bool factored = row_var && col_var;

    // The update U = rsqrt(V) * g is computed twice (for its norm, then to apply it), the
    // same way both times, so nothing of the size of g is stored.
    double usum = 0;
    if (factored) {
        for (int64_t b = 0; b < batch; b++) {
            const float *gb = g + b * rows * cols;
            float *rv = row_var + b * rows, *cv = col_var + b * cols;
            // maximize negates g; the squares do not change.
            factored_moments(gb, rv, cv, rows, cols, w, scratch);
            float rmean = row_mean(rv, rows, eps1);
            for (int64_t r = 0; r < rows; r++)
                for (int64_t c = 0; c < cols; c++) {
                    float u = scaled((rv[r] * cv[c]) / rmean, sign * gb[r * cols + c], eps1sq);
                    usum += (double)u * u;
                }
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            float d = sign * g[i];
            variance[i] = sk_lerp(variance[i], d * d, w);
            float u = scaled(variance[i], d, eps1sq);
            usum += (double)u * u;
        }
    }
    const double unorm = (double)(float)sqrt(usum);
    const double denom = fmax(1.0, unorm / (root_n * a->d));
    const float coef = (float)(-alpha / denom);
    const bool decay = a->weight_decay != 0.0;
    const float factor = sk_decay_factor(a->lr, a->weight_decay);

    if (factored) {
        for (int64_t b = 0; b < batch; b++) {
            const float *gb = g + b * rows * cols;
            float *pb = p + b * rows * cols;
            const float *rv = row_var + b * rows, *cv = col_var + b * cols;
            float rmean = row_mean(rv, rows, eps1);
            for (int64_t r = 0; r < rows; r++)
                for (int64_t c = 0; c < cols; c++) {
                    int64_t i = r * cols + c;
                    float u = scaled((rv[r] * cv[c]) / rmean, sign * gb[i], eps1sq);
                    float q = decay ? pb[i] * factor : pb[i];
                    pb[i] = q + coef * u;
                }
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            float u = scaled(variance[i], sign * g[i], eps1sq);
            float q = decay ? p[i] * factor : p[i];
            p[i] = q + coef * u;
        }
    }
}
