// Portable (plain C) element-wise kernels and sums: the body ../eltwise_body.h compiled with isa_portable.h's macros.
#include "isa_portable.h"
#include "../eltwise_body.h"
