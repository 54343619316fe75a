// Internal to _CKernels: the instruction sets the kernels are compiled for and how an entry point
// picks its kernels. The choice itself lives in kernel_select.c (i2i_isa_level), next to the
// convolution tables, so that the CPU is asked in one place and i2i_set_kernel_isa forces every
// kernel at once (the tests compare the variants).
//
// Each op family's kernels are written once in a body header (microkernels/<family>_body.h) and
// compiled once per ISA by a translation unit in microkernels/<isa folder>/ that includes
// isa_<isa>.h (SFX, ISA_NAME, TGT below) and the body; the body ends with the family's table,
// SFX(i2i_<family>_kernels). I2I_PICK(i2i_<family>_kernels) is the table for the current level.
// The element-wise, normalization, Adam and layout bodies compile with
// `#pragma clang fp contract(off)`: a*b + c stays two roundings in every copy, so the copies give
// the same bits.
#ifndef IMG2IMG_ISA_H
#define IMG2IMG_ISA_H

enum { I2I_ISA_PORTABLE = 0, I2I_ISA_AVX2 = 1, I2I_ISA_AVX512 = 2 };

/// The level the fast kernels run at: I2I_ISA_AVX512, I2I_ISA_AVX2 or I2I_ISA_PORTABLE (also for a
/// forced "reference" conv table).
int i2i_isa_level(void);

#if defined(__x86_64__)
#define I2I_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define I2I_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define I2I_PICK(table)                                                                            \
    (i2i_isa_level() == I2I_ISA_AVX512 ? &table##_avx512                                           \
                                       : (i2i_isa_level() == I2I_ISA_AVX2 ? &table##_avx2 : &table##_portable))
#else
#define I2I_PICK(table) (&table##_portable)
#endif

#define I2I_INLINE static inline __attribute__((always_inline))

#endif
