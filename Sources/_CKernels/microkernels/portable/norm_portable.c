// Portable (plain C) instance and batch norm kernels: the body ../norm_body.h compiled with isa_portable.h's macros.
#include "isa_portable.h"
#include "../norm_body.h"
