// libFuzzer's driver entry point (compiler-rt, since LLVM 11). SwiftPM gives every executable
// target its own `main` (renamed and bound with --defsym), so the fuzz targets call the driver
// from their main.swift instead of letting libFuzzer's main run. Linked by -sanitize=fuzzer.
#ifndef IMG2IMG_FUZZ_DRIVER_H
#define IMG2IMG_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
