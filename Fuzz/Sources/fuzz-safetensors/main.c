#include <stddef.h>
#include <stdint.h>

// libFuzzer (linked by -sanitize=fuzzer) brings main() and calls this; the body is Swift, in FuzzEntryPoints.
int fleet_fuzz_safetensors(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fleet_fuzz_safetensors(data, size); }
