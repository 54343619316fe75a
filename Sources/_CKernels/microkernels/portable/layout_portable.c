// Portable (plain C) layout kernels (the padding adjoint's row add): the body ../layout_body.h compiled with isa_portable.h's macros.
#include "isa_portable.h"
#include "../layout_body.h"
