// The layout kernels of one instruction set that gain from wide vectors, written once: the padding
// adjoint's row add. Included by x86_avx512/layout_avx512.c, x86_avx2/layout_avx2.c and
// portable/layout_portable.c, which define first
//   SFX(name)   name with the ISA suffix (add_into -> add_into_avx512)
//   TGT         the function attribute that enables the ISA (empty for portable)
// Compiled without contraction, as every body of this kind (there is no product to contract here).
#pragma clang fp contract(off)
#include "layout_kernels.h"
#include "../dispatch/isa.h"
#include <stddef.h>

static TGT void SFX(add_into)(float *restrict d, const float *restrict s, int64_t n) {
    for (int64_t i = 0; i < n; i++) d[i] = d[i] + s[i];
}

const i2i_layout_kernels SFX(i2i_layout_kernels) = {SFX(add_into)};
