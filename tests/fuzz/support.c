/* support.c — the scratch folder and helpers of fuzz.h. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[256];
static char slots[4][512];

static void remove_scratch(void)
{
    for (int i = 0; i < 4; i++)
        if (slots[i][0])
            unlink(slots[i]);
    rmdir(scratch); /* fails (harmlessly) if a reader left other files */
}

const char *fuzz_dir(void)
{
    if (scratch[0])
        return scratch;
    const char *base = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/fb_fuzz.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(scratch)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(remove_scratch);
    return scratch;
}

const char *fuzz_write_file(int slot, const char *name, const uint8_t *data, size_t size)
{
    if (slot < 0 || slot >= 4)
        abort();
    snprintf(slots[slot], sizeof slots[slot], "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(slots[slot], "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(slots[slot]);
        abort();
    }
    return slots[slot];
}

void fuzz_split(const uint8_t *data, size_t size, const uint8_t **first, size_t *first_size,
                const uint8_t **second, size_t *second_size)
{
    *first = *second = data;
    *first_size = *second_size = 0;
    if (size < 4)
        return;
    size_t length = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 |
                    (size_t)data[3] << 24;
    if (length > size - 4)
        length = size - 4;
    *first = data + 4;
    *first_size = length;
    *second = data + 4 + length;
    *second_size = size - 4 - length;
}

void fuzz_check(int condition, const char *what)
{
    if (!condition) {
        fprintf(stderr, "fuzz: contract broken: %s\n", what);
        abort();
    }
}
