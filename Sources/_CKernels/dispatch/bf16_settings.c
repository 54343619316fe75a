// The bf16 inference settings: the conv precision switch (i2i_set_conv_precision), which convs run
// in bf16 (the scope: i2i_conv_bf16_applies, i2i_set_bf16_scope, env I2I_BF16_SCOPE) and the bf16
// Winograd variant (i2i_set_bf16_winograd, env I2I_BF16_WINOGRAD). The defaults and the
// measurements that chose them are in tuning.h.
#include "_CKernels.h"
#include "../microkernels/conv_bf16_internal.h"
#include "tuning.h"
#include <stdlib.h>
#include <string.h>

static _Atomic int bf16_winograd = -1;
static _Atomic int bf16_scope_all = -1;
static _Atomic int conv_precision = I2I_PRECISION_FP32;

int i2i_bf16_winograd_mode_get(void) {
    int m = bf16_winograd;
    if (m < 0) {
        const char *e = getenv("I2I_BF16_WINOGRAD");
        m = e ? atoi(e) : I2I_BF16_WINOGRAD_DEFAULT;
        m = m >= 4 ? 4 : (m >= 2 ? 2 : 0);
        bf16_winograd = m;
    }
    return m;
}

void i2i_set_bf16_scope(int all) { bf16_scope_all = all < 0 ? -1 : (all ? 1 : 0); }

static int scope_all(void) {
    int a = bf16_scope_all;
    if (a < 0) {
        const char *e = getenv("I2I_BF16_SCOPE");
        a = e && !strcmp(e, "all");
        bf16_scope_all = a;
    }
    return a;
}

int i2i_conv_bf16_applies(const i2i_conv_shape *s) {
    return scope_all() || (s->KH == 3 && s->KW == 3 && s->strideH == 1 && s->strideW == 1 &&
                           s->C >= I2I_BF16_MIN_CHANNELS && s->OC >= I2I_BF16_MIN_CHANNELS);
}

void i2i_set_bf16_winograd(int mode) { bf16_winograd = mode < 0 ? -1 : (mode >= 4 ? 4 : (mode >= 2 ? 2 : 0)); }

int i2i_set_conv_precision(int p) {
    if (p != I2I_PRECISION_FP32 && p != I2I_PRECISION_BF16) return -1;
    if (p == I2I_PRECISION_BF16 && !i2i_cpu_has_avx512_bf16()) return -1;
    conv_precision = p;
    return 0;
}

int i2i_conv_precision(void) { return conv_precision; }
