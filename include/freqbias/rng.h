/* freqbias/rng.h — counter-based random numbers (Philox4x32-10).
 *
 * Every random choice in freqbias is a pure function of
 *   (seed, stream, epoch, index)  →  four 32-bit words,
 * so a number does not depend on which thread draws it, in which order, or on
 * which device: shuffling, augmentation and initialisation are reproducible on
 * any thread count, resume exactly, and a CUDA kernel can draw the same bits.
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 * SC'11) is the generator cuRAND and PyTorch also use for this purpose.
 * Mapping: key = (seed low 32, seed high 32); counter = (index low 32,
 * index high 32, epoch, stream).
 */
#ifndef FREQBIAS_RNG_H
#define FREQBIAS_RNG_H

#include <stdint.h>

/* Streams keep unrelated uses of one seed apart. */
enum fb_rng_stream {
    FB_STREAM_INIT = 1,    /* parameter initialisation: epoch = registry index */
    FB_STREAM_SHUFFLE = 2, /* per-epoch permutation of the training set        */
    FB_STREAM_AUGMENT = 3, /* crop offsets and flips                            */
    FB_STREAM_NOISE = 4,   /* CDES input noise                                  */
    FB_STREAM_PAIRING = 5, /* HARS low-frequency source pairing                 */
    FB_STREAM_DATA = 6,    /* synthetic data (benchmarks, tests)                */
    FB_STREAM_FOURIER_SIGN = 7, /* Fourier heat map signs: epoch = frequency key   */
    FB_STREAM_BAND_NOISE = 8    /* band-limited Gaussian noise (fourier.h)         */
};

/* The raw generator: ten Philox rounds of counter under key. */
void fb_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

/* Four independent 32-bit words for (seed, stream, epoch, index). */
void fb_rng_words(uint64_t seed, uint32_t stream, uint32_t epoch, uint64_t index,
                  uint32_t out[4]);

/* A float uniform in [0, 1) with 24 random bits, from the first word. */
float fb_rng_uniform(uint64_t seed, uint32_t stream, uint32_t epoch, uint64_t index);

/* An integer uniform in [0, bound) (bound ≥ 1), unbiased (64-bit multiply
 * of two words, Lemire's method without rejection bias for bound < 2^32). */
uint32_t fb_rng_below(uint64_t seed, uint32_t stream, uint32_t epoch, uint64_t index,
                      uint32_t bound);

#endif
