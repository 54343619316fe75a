// Adam's element-wise update (see i2i_adam_update in _CKernels.h): the entry point, which splits the
// elements into tasks run by the ISA's Adam kernel (microkernels/adam_body.h, one copy per ISA,
// picked by I2I_PICK); every copy gives the same bits as torch.optim.Adam's single-tensor path.
#pragma clang fp contract(off)
#include "_CKernels.h"
#include "../dispatch/isa.h"
#include "../microkernels/adam_kernels.h"
#include <stddef.h>

void i2i_adam_update(int64_t n, float *x, float *m, float *v, const float *g, float w, float beta2,
                     float oneMinusBeta2, float bc2Sqrt, float eps, float negStep) {
    if (n <= 0) return;
    adam_ctx c = {x, m, v, g, w, beta2, oneMinusBeta2, bc2Sqrt, eps, negStep};
    i2i_parallel_for(n, 1 << 14, I2I_PICK(i2i_adam_kernels)->update, &c);
}
