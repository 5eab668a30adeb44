/* fuzz_pt.c — libFuzzer entry point for the PyTorch .pt reader (zip + weights-only pickle).
 *
 * Runs fb_pt_read_memory on the raw bytes, exactly as `freqbias test --ckpt
 * x.pt` would after reading the file, and on success touches every tensor
 * byte (so a wrong size or offset shows up under AddressSanitizer). Any
 * outcome but a crash, a leak or a sanitizer report is fine: the reader
 * must refuse bad input with a message, never misbehave.
 *
 * Seeds: tests/fuzz/corpus/pt/ (valid torch.save files, stored and
 * deflated, one with strided/offset views; a truncated one; a hostile
 * pickle in a zip). Build by hand, e.g.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *     tests/fuzz/fuzz_pt.c src/io/zip.c src/io/pickle.c src/io/torch_pt.c \
 *     src/io/safetensors.c src/io/json.c src/io/atomic_file.c src/core/error.c -lz -o fuzz_pt
 *   ./fuzz_pt -max_total_time=120 tests/fuzz/corpus/pt
 */
#include <stddef.h>
#include <stdint.h>

#include "freqbias/safetensors.h"
#include "freqbias/torch_pt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fb_st_file file;
    if (fb_pt_read_memory(data, size, "fuzz.pt", &file) != FB_OK)
        return 0;
    volatile uint8_t sink = 0;
    for (int i = 0; i < file.count; i++) {
        const uint8_t *bytes = file.entries[i].data;
        for (size_t b = 0; b < file.entries[i].end - file.entries[i].begin; b++)
            sink ^= bytes[b];
    }
    (void)sink;
    fb_st_free(&file);
    return 0;
}
