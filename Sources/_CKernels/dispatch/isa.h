// Internal to _CKernels: how every kernel file picks its instruction set. The choice itself lives
// in kernel_select.c (i2i_isa_level), next to the convolution tables, so that the CPU is asked in
// one place and i2i_set_kernel_isa forces every kernel at once (the tests compare the variants).
//
// A kernel file writes its loop once as a macro BODY(SFX, TARGET) and instantiates it with
// I2I_FOR_EACH_ISA(BODY): one plain-C copy and, on x86-64, an AVX2+FMA and an AVX-512 copy that the
// compiler vectorizes for those units. I2I_PICK(name) returns the copy for the current level. The
// copies have the signature of i2i_task_fn (a context pointer and a range), so I2I_PICK(name) goes
// straight to i2i_parallel_for.
// Files that use it compile with `#pragma clang fp contract(off)`: a*b + c stays two roundings in
// every copy, so the copies give the same bits.
#ifndef IMG2IMG_ISA_H
#define IMG2IMG_ISA_H

enum { I2I_ISA_PORTABLE = 0, I2I_ISA_AVX2 = 1, I2I_ISA_AVX512 = 2 };

/// The level the fast kernels run at: I2I_ISA_AVX512, I2I_ISA_AVX2 or I2I_ISA_PORTABLE (also for a
/// forced "reference" conv table).
int i2i_isa_level(void);

#if defined(__x86_64__)
#define I2I_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define I2I_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define I2I_FOR_EACH_ISA(BODY) BODY(portable, ) BODY(avx2, I2I_TARGET_AVX2) BODY(avx512, I2I_TARGET_AVX512)
#define I2I_PICK(name)                                                                             \
    (i2i_isa_level() == I2I_ISA_AVX512 ? name##_avx512                                             \
                                       : (i2i_isa_level() == I2I_ISA_AVX2 ? name##_avx2 : name##_portable))
#else
#define I2I_FOR_EACH_ISA(BODY) BODY(portable, )
#define I2I_PICK(name) name##_portable
#endif

#define I2I_INLINE static inline __attribute__((always_inline))

#endif
