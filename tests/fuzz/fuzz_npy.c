/* fuzz_npy.c — the .npy reader (magic, version, header dict, shape, dtype,
 * data size) on arbitrary bytes. On success the element count must be the
 * product of the shape. */
#include <stdint.h>

#include "freqbias/npy.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file(0, "input.npy", data, size);
    fb_npy_array array;
    if (fb_npy_read(path, &array) != FB_OK)
        return 0;
    size_t count = 1;
    for (int d = 0; d < array.ndim; d++)
        count *= (size_t)array.shape[d];
    fuzz_check(array.ndim >= 0 && array.ndim <= FB_NPY_MAX_DIMS, "rank out of range");
    fuzz_check(count == array.count, "count is not the product of the shape");
    fuzz_check(count * fb_npy_itemsize(array.dtype) <= size, "more data than the file holds");
    fb_npy_free(&array);
    return 0;
}
