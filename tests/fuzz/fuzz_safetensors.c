/* fuzz_safetensors.c — the safetensors reader (header JSON, entries, offsets,
 * tiling) on arbitrary bytes. On success the result must keep the reader's
 * promises: at most FB_ST_MAX_TENSORS tensors, each inside the buffer, and
 * the tensors' bytes adding up to exactly the buffer. */
#include <stdint.h>

#include "freqbias/safetensors.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file(0, "input.safetensors", data, size);
    fb_st_file file;
    if (fb_st_read(path, &file) != FB_OK)
        return 0;
    fuzz_check(file.count <= FB_ST_MAX_TENSORS, "tensor count above the cap");
    size_t covered = 0;
    for (int i = 0; i < file.count; i++) {
        const fb_st_entry *e = &file.entries[i];
        fuzz_check(e->begin <= e->end && e->end <= file.buffer_size, "tensor outside the buffer");
        fuzz_check((uint64_t)fb_st_numel(e) * fb_st_dtype_size(e->dtype) == e->end - e->begin,
                   "tensor bytes do not match its shape");
        fuzz_check(fb_st_find(&file, e->name) != NULL, "a listed tensor cannot be found");
        covered += e->end - e->begin;
    }
    fuzz_check(covered == file.buffer_size, "tensors do not tile the buffer");
    fb_st_free(&file);
    return 0;
}
