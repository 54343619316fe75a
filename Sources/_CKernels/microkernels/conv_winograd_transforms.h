// The input and output transforms of Winograd F(2x2,3x3) (4x4 tiles, points 0, +-1, infinity) and
// of the 6x6-tile variants (points 0, +-1, +-2, infinity), one dimension at a time, on vectors.
// Shared by the fp32 kernels (conv_winograd.h, every ISA) and the bf16 ones (x86_avx512/conv_bf16_avx512.c); the
// includer defines VT, VFMA and VBCAST.

/// F(2x2,3x3): B^T d over one dimension, t0..t3 from d0..d3 (any lvalues: a column or a row).
#define WINO2_BT(d0, d1, d2, d3, t0, t1, t2, t3)                                \
    do {                                                                        \
        t0 = (d0) - (d2); t1 = (d1) + (d2); t2 = (d2) - (d1); t3 = (d1) - (d3); \
    } while (0)

/// F(2x2,3x3): A^T m over one dimension, o0..o1 from m0..m3.
#define WINO2_AT(m0, m1, m2, m3, o0, o1)                                        \
    do {                                                                        \
        o0 = (m0) + (m1) + (m2); o1 = (m1) - (m2) - (m3);                       \
    } while (0)

/// B^T d over one dimension: t[0..5] from d[0..5] (stride-free, vectors).
#define WINO4_BT(d, t)                                                          \
    do {                                                                        \
        VT four = VBCAST(4.0f), five = VBCAST(5.0f), two = VBCAST(2.0f);        \
        t[0] = VFMA(four, d[0], d[4]) - five * d[2];                            \
        t[1] = d[3] + d[4] - four * (d[1] + d[2]);                              \
        t[2] = d[4] - d[3] + four * (d[1] - d[2]);                              \
        t[3] = d[4] - d[2] + two * (d[3] - d[1]);                               \
        t[4] = d[4] - d[2] - two * (d[3] - d[1]);                               \
        t[5] = VFMA(four, d[1], d[5]) - five * d[3];                            \
    } while (0)

/// A^T m over one dimension for the 6x6-tile variants with mo outputs (same points): F(3x3,4x4)
/// (mo = 3), F(4x4,3x3) (mo = 4) and F(5x5,2x2) (mo = 5); o[0..mo-1] from m[0..5]. The last output
/// adds m[5] (the point at infinity); o needs room for 5 whatever mo is.
#define WINO6_AT(mo, m, o)                                                      \
    do {                                                                        \
        VT a12 = m[1] + m[2], s12 = m[1] - m[2], a34 = m[3] + m[4], s34 = m[3] - m[4]; \
        o[0] = m[0] + a12 + a34;                                                \
        o[1] = VFMA(VBCAST(2.0f), s34, s12);                                    \
        if ((mo) == 3) {                                                        \
            o[2] = VFMA(VBCAST(4.0f), a34, a12) + m[5];                         \
        } else if ((mo) == 4) {                                                 \
            o[2] = VFMA(VBCAST(4.0f), a34, a12);                                \
            o[3] = VFMA(VBCAST(8.0f), s34, s12) + m[5];                         \
        } else {                                                                \
            o[2] = VFMA(VBCAST(4.0f), a34, a12);                                \
            o[3] = VFMA(VBCAST(8.0f), s34, s12);                                \
            o[4] = VFMA(VBCAST(16.0f), a34, a12) + m[5];                        \
        }                                                                       \
    } while (0)
