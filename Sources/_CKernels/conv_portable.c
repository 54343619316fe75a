// Portable convolution kernels (placeholder: the reference until the fast kernels land).
#include "conv_internal.h"
const i2i_conv_kernels i2i_conv_kernels_portable = {
    "portable", i2i_conv2d_forward_ref, i2i_conv2d_backward_input_ref, i2i_conv2d_backward_filter_ref,
};
