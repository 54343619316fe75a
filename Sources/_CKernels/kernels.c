#include "_CKernels.h"
