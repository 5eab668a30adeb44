/* rng.c — Philox4x32-10, the counter-based generator behind every random
 * choice in freqbias (see freqbias/rng.h for the (seed, stream, epoch, index)
 * mapping).
 *
 * One Philox round multiplies two counter words by fixed odd constants,
 * keeps the high and low halves of the 64-bit products, and mixes them with
 * the other two words and the key; the key is bumped by Weyl constants after
 * each round. Ten rounds pass BigCrush. The whole function is integer
 * arithmetic, so every platform and a GPU produce the same bits.
 */
#include "freqbias/rng.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static void mul_hi_lo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t product = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(product >> 32);
    *lo = (uint32_t)product;
}

void fb_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, lo0, hi1, lo1;
        mul_hi_lo(PHILOX_M0, c0, &hi0, &lo0);
        mul_hi_lo(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0;
        uint32_t n1 = lo1;
        uint32_t n2 = hi0 ^ c3 ^ k1;
        uint32_t n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

void fb_rng_words(uint64_t seed, uint32_t stream, uint32_t epoch, uint64_t index,
                  uint32_t out[4])
{
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint32_t counter[4] = {(uint32_t)index, (uint32_t)(index >> 32), epoch, stream};
    fb_philox4x32(counter, key, out);
}

float fb_rng_uniform(uint64_t seed, uint32_t stream, uint32_t epoch, uint64_t index)
{
    uint32_t words[4];
    fb_rng_words(seed, stream, epoch, index, words);
    return (float)(words[0] >> 8) * (1.0f / 16777216.0f);
}

uint32_t fb_rng_below(uint64_t seed, uint32_t stream, uint32_t epoch, uint64_t index,
                      uint32_t bound)
{
    uint32_t words[4];
    fb_rng_words(seed, stream, epoch, index, words);
    /* 64 random bits times bound, keep the top 32 bits of the 96-bit product:
     * the bias is below bound / 2^64, far under anything measurable. */
    uint64_t random64 = ((uint64_t)words[0] << 32) | words[1];
    uint64_t high = (random64 >> 32) * bound;
    uint64_t low = (random64 & 0xFFFFFFFFu) * bound;
    return (uint32_t)((high + (low >> 32)) >> 32);
}
