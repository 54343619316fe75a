// AVX2+FMA element-wise kernels and sums: the body ../eltwise_body.h compiled with isa_avx2.h's macros.
#if defined(__x86_64__)
#include "isa_avx2.h"
#include "../eltwise_body.h"
#endif
