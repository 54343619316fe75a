import _CKernels
