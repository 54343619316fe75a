// AVX-512 Adam update: the body ../adam_body.h compiled with isa_avx512.h's macros.
#if defined(__x86_64__)
#include "isa_avx512.h"
#include "../adam_body.h"
#endif
