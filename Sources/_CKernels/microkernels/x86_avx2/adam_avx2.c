// AVX2+FMA Adam update: the body ../adam_body.h compiled with isa_avx2.h's macros.
#if defined(__x86_64__)
#include "isa_avx2.h"
#include "../adam_body.h"
#endif
