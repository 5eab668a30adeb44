/* freqbias/sha256.h — SHA-256 (FIPS 180-4) for dataset and file hashes in
 * run records, checkpoints and the ref_data MANIFEST check. */
#ifndef FREQBIAS_SHA256_H
#define FREQBIAS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "freqbias/error.h"

typedef struct fb_sha256 {
    uint32_t state[8];
    uint64_t length;      /* bytes hashed so far */
    uint8_t block[64];
    size_t block_used;
} fb_sha256;

void fb_sha256_init(fb_sha256 *ctx);
void fb_sha256_update(fb_sha256 *ctx, const void *data, size_t bytes);
/* Writes 64 lowercase hex digits and a NUL into hex[65]. */
void fb_sha256_final_hex(fb_sha256 *ctx, char hex[65]);
fb_status fb_sha256_file(const char *path, char hex[65]);

#endif
