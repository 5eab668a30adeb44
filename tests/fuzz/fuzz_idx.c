/* fuzz_idx.c — the MNIST IDX reader, plain and gzip (zlib detects which by
 * the content). The input holds two files (fuzz_split): the images
 * (idx3-ubyte) and the labels (idx1-ubyte). On success every label is a
 * digit and the pixels fit what the files held (gzip: 1032× at most). */
#include <stdint.h>

#include "freqbias/dataset.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *images, *labels;
    size_t images_size, labels_size;
    fuzz_split(data, size, &images, &images_size, &labels, &labels_size);
    const char *images_path = fuzz_write_file(0, "images-idx3-ubyte", images, images_size);
    const char *labels_path = fuzz_write_file(1, "labels-idx1-ubyte", labels, labels_size);
    fb_dataset set;
    if (fb_idx_read(images_path, labels_path, &set) != FB_OK)
        return 0;
    fuzz_check(set.count >= 1 && set.channels == 1, "bad count or channels");
    fuzz_check((uint64_t)set.count * set.height * set.width <= 1032ull * images_size,
               "more pixels than the file can hold");
    for (int i = 0; i < set.count; i++)
        fuzz_check(set.labels[i] >= 0 && set.labels[i] < 10, "label out of range");
    fb_dataset_free(&set);
    return 0;
}
