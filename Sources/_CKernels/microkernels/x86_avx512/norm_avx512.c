// AVX-512 instance and batch norm kernels: the body ../norm_body.h compiled with isa_avx512.h's macros.
#if defined(__x86_64__)
#include "isa_avx512.h"
#include "../norm_body.h"
#endif
