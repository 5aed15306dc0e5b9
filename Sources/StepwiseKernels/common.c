#include "StepwiseKernels.h"
#include <math.h>

double sk_bias_correction(double beta, double step) { return 1.0 - pow(beta, step); }

float sk_decay_factor(double lr, double weight_decay) { return (float)(1.0 - lr * weight_decay); }

