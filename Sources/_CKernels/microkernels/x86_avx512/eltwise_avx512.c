// AVX-512 element-wise kernels and sums: the body ../eltwise_body.h compiled with isa_avx512.h's macros.
#if defined(__x86_64__)
#include "isa_avx512.h"
#include "../eltwise_body.h"
#endif
