// AVX-512 convolution kernels (placeholder: the reference until the fast kernels land).
#include "conv_internal.h"
#if defined(__x86_64__)
const i2i_conv_kernels i2i_conv_kernels_avx512 = {
    "avx512", i2i_conv2d_forward_ref, i2i_conv2d_backward_input_ref, i2i_conv2d_backward_filter_ref,
};
#endif
