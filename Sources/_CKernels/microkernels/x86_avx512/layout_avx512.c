// AVX-512 layout kernels (the padding adjoint's row add): the body ../layout_body.h compiled with isa_avx512.h's macros.
#if defined(__x86_64__)
#include "isa_avx512.h"
#include "../layout_body.h"
#endif
