/* fuzz_cifar.c — the CIFAR binary readers. The first byte chooses: even,
 * the rest is one CIFAR-10-format file (fb_cifar10_read_files, any number of
 * 3073-byte records); odd, the rest is CIFAR-100's test.bin
 * (fb_cifar100_read, coarse labels when bit 1 is set; only the official size
 * of 30,740,000 bytes gets past the size check, which is what is fuzzed
 * here — the record parser is shared with CIFAR-10). */
#include <stdint.h>

#include "freqbias/dataset.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fb_dataset set;
    fb_status status;
    if (data[0] % 2 == 0) {
        const char *path = fuzz_write_file(0, "input.bin", data + 1, size - 1);
        status = fb_cifar10_read_files(&path, 1, &set);
    } else {
        fuzz_write_file(0, "test.bin", data + 1, size - 1);
        status = fb_cifar100_read(fuzz_dir(), FB_SPLIT_TEST, data[0] & 2, &set);
    }
    if (status != FB_OK)
        return 0;
    fuzz_check(set.count >= 1 && (size_t)set.count * 3073 <= size, "record count and size disagree");
    for (int i = 0; i < set.count; i++)
        fuzz_check(set.labels[i] >= 0 && set.labels[i] < set.num_classes, "label out of range");
    fb_dataset_free(&set);
    return 0;
}
