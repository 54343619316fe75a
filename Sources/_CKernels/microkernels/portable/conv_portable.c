// Portable convolution kernels: the generic conv body (../conv_body.h) with isa_portable.h's names
// and 4-float vectors in the compiler's generic vector extension (SSE2 on any x86-64, NEON on arm64),
// a 6-pixel x 8-channel register tile.
#include "isa_portable.h"
#include "../conv_internal.h"
#include <string.h>

typedef float i2i_v4 __attribute__((vector_size(16)));

static inline i2i_v4 v4_load(const float *p) { i2i_v4 v; memcpy(&v, p, sizeof v); return v; }
static inline i2i_v4 v4_loadn(const float *p, int n) {
    i2i_v4 v = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) v[i] = p[i];
    return v;
}
static inline void v4_store(float *p, i2i_v4 v) { memcpy(p, &v, sizeof v); }

#define VT i2i_v4
#define VW 4
#define VZERO() ((i2i_v4){0, 0, 0, 0})
#define VLOAD(p) v4_load(p)
#define VLOADN(p, n) v4_loadn((p), (n))
#define VSTORE(p, v) v4_store((p), (v))
#define VBCAST(x) ((i2i_v4){(x), (x), (x), (x)})
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VHSUM(v) ((v)[0] + (v)[1] + (v)[2] + (v)[3])
#define MR 6
#define NV 2
#define DOT_ACC 12

#include "../conv_body.h"
