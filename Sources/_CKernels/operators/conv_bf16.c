// bf16 inference convolutions, what knows the operator but no instruction set: the choice of path
// (i2i_conv_bf16_layout, from the shape only, so the packed weights of a conv do not depend on the
// image size) and the weights packed once into bf16 pairs for it. The kernels that read them are in
// microkernels/x86_avx512/conv_bf16_avx512.c (see there for the paths), the oracle in
// reference/conv_bf16_ref.c, the settings in dispatch/bf16_settings.c and their defaults, with the
// measurements that set them, in dispatch/tuning.h.
#include "../microkernels/conv_bf16_internal.h"
#include "../dispatch/tuning.h"
#include <stdlib.h>
#include <string.h>

// MARK: - Path

int i2i_conv_bf16_layout(const i2i_conv_shape *s) {
    const int wino = i2i_bf16_winograd_mode_get();
    if (wino && s->KH == 3 && s->KW == 3 && s->strideH == 1 && s->strideW == 1 && s->C >= I2I_BF16_MIN_CHANNELS &&
        s->OC >= I2I_BF16_MIN_CHANNELS)
        return wino == 4 ? PATH_WINO4 : PATH_WINO2;
    return s->OC <= 8 ? PATH_DOT : PATH_TILE;
}

// MARK: - Pack

int64_t i2i_conv_bf16_packed_count(const i2i_conv_shape *s) {
    const int path = i2i_conv_bf16_layout(s);
    const int64_t L = (int64_t)s->KW * even_up(s->C); // bf16 per kernel row of the padded copy
    switch (path) {
    case PATH_WINO2: case PATH_WINO4: return (int64_t)path * nblocks(s) * wino_cp(s) * BF_NR;
    case PATH_DOT: return (int64_t)s->OC * s->KH * L;
    default: return nblocks(s) * s->KH * L * BF_NR;
    }
}

/// Winograd transformed weights u[P][P] = G g G^T of one (ci, oc), P = 4 or 6, in float.
static void wino_weight(int P, const float g[3][3], float u[6][6]) {
    float G[6][3];
    if (P == 4) {
        const float g2[4][3] = {{1, 0, 0}, {.5f, .5f, .5f}, {.5f, -.5f, .5f}, {0, 0, 1}};
        memcpy(G, g2, sizeof g2);
    } else {
        const float g4[6][3] = {{1.0f / 4, 0, 0},
                                {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                                {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                                {1.0f / 24, 1.0f / 12, 1.0f / 6},
                                {1.0f / 24, -1.0f / 12, 1.0f / 6},
                                {0, 0, 1}};
        memcpy(G, g4, sizeof g4);
    }
    float t[6][3];
    for (int i = 0; i < P; i++)
        for (int j = 0; j < 3; j++) t[i][j] = G[i][0] * g[0][j] + G[i][1] * g[1][j] + G[i][2] * g[2][j];
    for (int i = 0; i < P; i++)
        for (int j = 0; j < P; j++) u[i][j] = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
}

typedef struct {
    const i2i_conv_shape *s;
    const float *w;
    uint16_t *packed;
    int path;
} pack_ctx;

static void pack_task(void *vctx, int64_t begin, int64_t end) {
    const pack_ctx *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int64_t Cq = even_up(s->C), L = (int64_t)s->KW * Cq, nob = nblocks(s);
    if (c->path == PATH_WINO2 || c->path == PATH_WINO4) {
        // [xi][ob][Cp/2][NR][2]; tasks over input channels ci.
        const int P = c->path == PATH_WINO4 ? 6 : 4;
        const int64_t Cp = wino_cp(s);
        for (int64_t ci = begin; ci < end; ci++)
            for (int64_t oc = 0; oc < s->OC; oc++) {
                float g[3][3], u[6][6];
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++) g[kh][kw] = c->w[((kh * 3 + kw) * (int64_t)s->C + ci) * s->OC + oc];
                wino_weight(P, g, u);
                const int64_t ob = oc / BF_NR, r = oc % BF_NR;
                for (int xi = 0; xi < P * P; xi++)
                    c->packed[(((xi * nob + ob) * (Cp / 2) + ci / 2) * BF_NR + r) * 2 + (ci & 1)] = bf16_round(u[xi / P][xi % P]);
            }
    } else if (c->path == PATH_DOT) {
        // [OC][KH][L], L = KW*Cq; tasks over output channels.
        for (int64_t oc = begin; oc < end; oc++)
            for (int64_t kh = 0; kh < s->KH; kh++)
                for (int64_t k = 0; k < L; k++) {
                    const int64_t kw = k / Cq, ci = k % Cq;
                    c->packed[(oc * s->KH + kh) * L + k] =
                        ci < s->C ? bf16_round(c->w[((kh * s->KW + kw) * s->C + ci) * s->OC + oc]) : 0;
                }
    } else {
        // [OC/NR][KH][L/2][NR][2]; tasks over (block, kernel row).
        for (int64_t i = begin; i < end; i++) {
            const int64_t ob = i / s->KH, kh = i % s->KH;
            uint16_t *dst = c->packed + i * L * BF_NR;
            for (int64_t k = 0; k < L; k++) {
                const int64_t kw = k / Cq, ci = k % Cq;
                for (int64_t r = 0; r < BF_NR; r++) {
                    const int64_t oc = ob * BF_NR + r;
                    dst[((k / 2) * BF_NR + r) * 2 + (k & 1)] =
                        (ci < s->C && oc < s->OC) ? bf16_round(c->w[((kh * s->KW + kw) * s->C + ci) * s->OC + oc]) : 0;
                }
            }
        }
    }
}

void i2i_conv_bf16_pack(const i2i_conv_shape *s, const float *w, uint16_t *packed) {
    pack_ctx c = {s, w, packed, i2i_conv_bf16_layout(s)};
    memset(packed, 0, sizeof(uint16_t) * (size_t)i2i_conv_bf16_packed_count(s));
    const int64_t tasks = (c.path == PATH_WINO2 || c.path == PATH_WINO4) ? s->C
                          : c.path == PATH_DOT                           ? s->OC
                                                                         : nblocks(s) * s->KH;
    i2i_parallel_for(tasks, 1, pack_task, &c);
}
