#ifndef HANDOVER_FUZZ_DRIVER_H
#define HANDOVER_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer's driver with `callback` as the target (LLVMFuzzerRunDriver), for an executable whose
/// `main` SwiftPM names after its module.
int handover_fuzz_run(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size));
#endif
