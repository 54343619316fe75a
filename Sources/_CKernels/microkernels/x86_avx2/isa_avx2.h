// The AVX2+FMA instruction set as every per-ISA body sees it (x86-64 only; included by this folder's
// translation units before a body): the name suffix of its functions, its name in the conv table, and
// the function attribute that enables it (isa.h).
#include "../../dispatch/isa.h"
#define SFX(name) name##_avx2
#define ISA_NAME "avx2"
#define TGT I2I_TARGET_AVX2
