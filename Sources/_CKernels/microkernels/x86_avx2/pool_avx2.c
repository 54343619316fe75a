// AVX2+FMA pooling kernels (max, add and divide over a channel row): the body ../pool_body.h compiled with isa_avx2.h's macros.
#if defined(__x86_64__)
#include "isa_avx2.h"
#include "../pool_body.h"
#endif
