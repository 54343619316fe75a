// Portable (plain C) pooling kernels (max, add and divide over a channel row): the body ../pool_body.h compiled with isa_portable.h's macros.
#include "isa_portable.h"
#include "../pool_body.h"
