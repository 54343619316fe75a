// The one place that asks the CPU what it supports and binds the kernels to an instruction set,
// chosen once at run time: the conv tables here (a conv plan binds the table current when it is
// made), and through i2i_isa_level (I2I_PICK in isa.h) the element-wise, normalization, Adam and
// layout kernel tables. Also the fp32 Winograd setting the conv plans read.
#include "_CKernels.h"
#include "../microkernels/conv_internal.h"
#include "isa.h"
#include <pthread.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <stdlib.h>
#include <string.h>

// The forced "reference": plans made while it is selected run the naive loops (reference/conv_ref.c).
static const i2i_conv_kernels kernels_ref = {"reference", 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};

static int cpu_has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int cpu_has_avx2(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int i2i_cpu_has_avx512_bf16(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma")))
        return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a >> 5) & 1; // CPUID.(EAX=7,ECX=1):EAX[5] = AVX512_BF16
#else
    return 0;
#endif
}

static const i2i_conv_kernels *table_for(const char *isa) {
    if (!isa || !*isa) {
        if (cpu_has_avx512()) return table_for("avx512");
        if (cpu_has_avx2()) return table_for("avx2");
        return table_for("portable");
    }
#if defined(__x86_64__)
    if (!strcmp(isa, "avx512")) return cpu_has_avx512() ? &i2i_conv_kernels_avx512 : NULL;
    if (!strcmp(isa, "avx2")) return cpu_has_avx2() ? &i2i_conv_kernels_avx2 : NULL;
#endif
    if (!strcmp(isa, "portable")) return &i2i_conv_kernels_portable;
    if (!strcmp(isa, "reference")) return &kernels_ref;
    return NULL;
}

static const i2i_conv_kernels *_Atomic selected;

static const i2i_conv_kernels *current(void) {
    const i2i_conv_kernels *k = selected;
    if (!k) { k = table_for(NULL); selected = k; }
    return k;
}

const char *i2i_kernel_isa(void) { return current()->name; }

const i2i_conv_kernels *i2i_conv_kernels_current(void) { return current(); }

int i2i_isa_level(void) {
    const i2i_conv_kernels *k = current();
#if defined(__x86_64__)
    if (k == &i2i_conv_kernels_avx512) return I2I_ISA_AVX512;
    if (k == &i2i_conv_kernels_avx2) return I2I_ISA_AVX2;
#endif
    (void)k;
    return I2I_ISA_PORTABLE;
}

static _Atomic int winograd_mode = -1;

int i2i_winograd_mode_get(void) {
    int m = winograd_mode;
    if (m < 0) {
        const char *e = getenv("I2I_WINOGRAD");
        m = e ? atoi(e) : 4;
        m = m >= 4 ? 4 : (m >= 2 ? 2 : 0);
        winograd_mode = m;
    }
    return m;
}

int i2i_winograd_mode(void) { return i2i_winograd_mode_get(); }

void i2i_set_winograd(int mode) {
    winograd_mode = mode < 0 ? -1 : (mode >= 4 ? 4 : (mode >= 2 ? 2 : 0));
}

int i2i_set_kernel_isa(const char *isa) {
    const i2i_conv_kernels *k = table_for(isa);
    if (!k) return -1;
    selected = k;
    return 0;
}
