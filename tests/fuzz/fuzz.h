/* fuzz.h — what every fuzz target shares (see tests/fuzz/README.md).
 *
 * A target is one file tests/fuzz/fuzz_<name>.c that defines the libFuzzer
 * entry point
 *     int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
 * and feeds the bytes to one reader. The Makefile finds targets and their
 * seed corpora (tests/fuzz/corpus/<name>/) by these names, links each
 * target twice — with libFuzzer for `make fuzz`, and with replay_main.c for
 * the corpus replay in `make test` — and needs nothing else.
 *
 * Most readers take a path, so the bytes go through a temporary file: one
 * folder per process (made on first use, removed at exit), one file name per
 * use. A target never writes anywhere else.
 */
#ifndef FREQBIAS_FUZZ_H
#define FREQBIAS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The per-process scratch folder (created on first call; never NULL: a
 * target cannot run without one, so failure aborts). */
const char *fuzz_dir(void);

/* Writes bytes to fuzz_dir()/name and returns that path (a static buffer
 * per slot 0..3, so a target can hold up to four paths at once). */
const char *fuzz_write_file(int slot, const char *name, const uint8_t *data, size_t size);

/* Splits an input into two files' bytes: the first 4 bytes (little-endian)
 * give the length of the first part, the rest is the second. Inputs shorter
 * than 4 bytes give two empty parts. */
void fuzz_split(const uint8_t *data, size_t size, const uint8_t **first, size_t *first_size,
                const uint8_t **second, size_t *second_size);

/* Fails the run (abort) with a message when a reader broke its contract,
 * e.g. returned success with an inconsistent result. */
void fuzz_check(int condition, const char *what);

#endif
