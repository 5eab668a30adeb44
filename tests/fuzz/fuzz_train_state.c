/* fuzz_train_state.c — libFuzzer entry point for the training-state reader
 * (fb_train_state_read, src/train/settings.c): the bytes become a
 * state.safetensors file, which must be accepted with every field in range
 * or rejected with FB_ERR_FORMAT/FB_ERR_IO — never crash, never hand a
 * negative or overflowing epoch count to the trainer.
 *
 * Seeds in tests/fuzz/corpus/train_state/ (made by
 * make_train_state_corpus.py next to this file): a valid state's metadata
 * and the hostile values of issue 15 (next_epoch -3, -1 and 2147483647,
 * epochs 2147483647, subset -5, a number with trailing text).
 * Builds standalone: cc -Iinclude -Isrc fuzz_train_state.c
 * build/libfreqbias.a ... with -fsanitize=fuzzer, or linked to a replay
 * main. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "freqbias/train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/fuzz_train_state_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(path);
        return 0;
    }
    size_t written = size ? fwrite(data, 1, size, f) : 0;
    fclose(f);
    if (written == size) {
        fb_train_resume_point point;
        if (fb_train_state_read(path, &point) == FB_OK) {
            /* what the trainer relies on after a successful read */
            char why[200];
            if (fb_train_settings_problem(&point.settings, why, sizeof why) || point.next_epoch < 0 ||
                point.next_epoch > FB_TRAIN_MAX_EPOCHS || point.best_epoch < -1 ||
                point.best_epoch >= point.next_epoch)
                abort();
        }
    }
    unlink(path);
    return 0;
}
