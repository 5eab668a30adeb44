/* freqbias/npy.h — NumPy .npy files (v1.0 written, v1/v2/v3 read).
 *
 * Layout (shared FORMATS.md): "\x93NUMPY", major, minor, header length
 * (2 bytes LE for v1, 4 for v2/v3), an ASCII dict
 * {'descr': '<f4', 'fortran_order': False, 'shape': (N, C), } padded with
 * spaces and '\n' so the data starts at a multiple of 64, then C-order data.
 */
#ifndef FREQBIAS_NPY_H
#define FREQBIAS_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "freqbias/error.h"

#define FB_NPY_MAX_DIMS 8

typedef enum fb_npy_dtype {
    FB_NPY_U8, FB_NPY_I8, FB_NPY_I16, FB_NPY_U16, FB_NPY_I32, FB_NPY_U32,
    FB_NPY_I64, FB_NPY_U64, FB_NPY_F32, FB_NPY_F64
} fb_npy_dtype;

typedef struct fb_npy_array {
    fb_npy_dtype dtype;
    int ndim;
    int64_t shape[FB_NPY_MAX_DIMS];
    size_t count;      /* product of shape                       */
    void *data;        /* count elements, host little-endian, owned */
} fb_npy_array;

/* Reads and validates (magic, version, dict syntax, little-endian or
 * byte-sized dtype, C order, file size == header + count × itemsize). */
fb_status fb_npy_read(const char *path, fb_npy_array *out);
void fb_npy_free(fb_npy_array *array);
size_t fb_npy_itemsize(fb_npy_dtype dtype);

/* Writes a v1.0 file atomically (64-byte aligned data). */
fb_status fb_npy_write(const char *path, fb_npy_dtype dtype, int ndim, const int64_t *shape,
                       const void *data);

#endif
