/* freqbias/safetensors.h — read and write safetensors files (PyTorch interop).
 *
 * Layout (see shared FORMATS.md): 8-byte little-endian u64 N, N bytes of JSON
 * header starting with '{' (right-padded with spaces), then the byte buffer.
 * Each entry is "name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}
 * with offsets relative to the buffer start; "__metadata__" is a string→string
 * map. The reader validates everything before trusting it: header length cap,
 * JSON syntax, known dtypes, shape × dtype size == e − b, offsets inside the
 * file, no overlap, no holes, no duplicate names. Writes are atomic: a temp
 * file in the same folder, fsync, rename, so a crash never leaves a torn file.
 */
#ifndef FREQBIAS_SAFETENSORS_H
#define FREQBIAS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "freqbias/error.h"

#define FB_ST_MAX_DIMS 8
/* Limits on what a file may claim (README "Limits"). The reference reader
 * accepts headers up to 100 MB, but its JSON costs about 50 bytes of memory
 * per header byte here; our largest file (a ResNet-50 training state, model
 * and momentum) has about 800 tensors and a ~100 KB header, so 8 MiB and
 * 8192 tensors are 10-80 times that, and a hostile header costs at most a few
 * tens of MB to reject. */
#define FB_ST_MAX_HEADER (8u * 1024u * 1024u)
#define FB_ST_MAX_TENSORS 8192
#define FB_ST_MAX_META 1024  /* __metadata__ keys */
/* JSON values a valid header can hold: the root, __metadata__ and its
 * values, and per tensor its object, dtype, shape (≤ 8 entries) and
 * data_offsets (2 entries). The parse stops at this count. */
#define FB_ST_MAX_JSON_VALUES (2 + FB_ST_MAX_META + (size_t)FB_ST_MAX_TENSORS * (1 + 1 + 1 + FB_ST_MAX_DIMS + 1 + 2))

typedef enum fb_st_dtype {
    FB_ST_F64, FB_ST_F32, FB_ST_F16, FB_ST_BF16, FB_ST_I64, FB_ST_I32,
    FB_ST_I16, FB_ST_I8, FB_ST_U8, FB_ST_BOOL
} fb_st_dtype;

typedef struct fb_st_entry {
    char *name;                      /* tensor name, NUL-terminated         */
    fb_st_dtype dtype;
    int ndim;                        /* 0 for a scalar                      */
    int64_t shape[FB_ST_MAX_DIMS];
    size_t begin, end;               /* byte offsets into the data buffer   */
    const void *data;                /* = buffer + begin (little-endian)    */
} fb_st_entry;

typedef struct fb_st_file {
    char *path;
    fb_st_entry *entries;            /* in the order they appear in the header */
    int count;
    char **meta_keys, **meta_values; /* __metadata__, in header order      */
    int meta_count;
    uint8_t *buffer;                 /* the data buffer (owned)             */
    size_t buffer_size;
} fb_st_file;

/* Reads and validates a whole file. On failure nothing is allocated and the
 * message names the path and the first problem found. */
fb_status fb_st_read(const char *path, fb_st_file *file);
void fb_st_free(fb_st_file *file);

const fb_st_entry *fb_st_find(const fb_st_file *file, const char *name);
const char *fb_st_meta(const fb_st_file *file, const char *key); /* NULL if absent */

size_t fb_st_dtype_size(fb_st_dtype dtype);
const char *fb_st_dtype_name(fb_st_dtype dtype);
int64_t fb_st_numel(const fb_st_entry *entry);

/* One tensor to write: the data is copied verbatim (host little-endian). */
typedef struct fb_st_tensor {
    const char *name;
    fb_st_dtype dtype;
    int ndim;
    int64_t shape[FB_ST_MAX_DIMS];
    const void *data;
} fb_st_tensor;

/* Writes tensors in the given order (header padded to a multiple of 8,
 * "__metadata__" first when meta_count > 0). Atomic: temp + fsync + rename. */
fb_status fb_st_write(const char *path, const fb_st_tensor *tensors, int count,
                      const char *const *meta_keys, const char *const *meta_values,
                      int meta_count);

#endif
