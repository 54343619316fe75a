// AVX2+FMA instance and batch norm kernels: the body ../norm_body.h compiled with isa_avx2.h's macros.
#if defined(__x86_64__)
#include "isa_avx2.h"
#include "../norm_body.h"
#endif
