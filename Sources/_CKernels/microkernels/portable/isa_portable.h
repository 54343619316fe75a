// The portable build as every per-ISA body sees it (included by this folder's translation units
// before a body): the name suffix of its functions and its name in the conv table; no function
// attribute, so the compiler's baseline for the target (SSE2 on x86-64, NEON on arm64).
#include "../../dispatch/isa.h"
#define SFX(name) name##_portable
#define ISA_NAME "portable"
#define TGT
