// Portable (plain C) Adam update: the body ../adam_body.h compiled with isa_portable.h's macros.
#include "isa_portable.h"
#include "../adam_body.h"
