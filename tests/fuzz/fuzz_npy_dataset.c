/* fuzz_npy_dataset.c — the seed's NumPy dataset layout: images.npy (uint8
 * NHWC or NHW) + labels.npy (integers, one per image), split from one input
 * (fuzz_split). On success labels are in range and the pixel count is what
 * the shape says. */
#include <stdint.h>

#include "freqbias/dataset.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *images, *labels;
    size_t images_size, labels_size;
    fuzz_split(data, size, &images, &images_size, &labels, &labels_size);
    const char *images_path = fuzz_write_file(0, "images.npy", images, images_size);
    const char *labels_path = fuzz_write_file(1, "labels.npy", labels, labels_size);
    fb_dataset set;
    if (fb_npy_dataset_read(images_path, labels_path, &set) != FB_OK)
        return 0;
    fuzz_check((uint64_t)set.count * set.channels * set.height * set.width <= images_size,
               "more pixels than the file holds");
    for (int i = 0; i < set.count; i++)
        fuzz_check(set.labels[i] >= 0 && set.labels[i] < set.num_classes, "label out of range");
    fb_dataset_free(&set);
    return 0;
}
