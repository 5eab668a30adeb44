/* npy_dataset.c — a dataset stored as two NumPy files, the seed's layout.
 *
 * The seed saved its datasets with np.save as
 *   images.npy  uint8, shape (N, H, W, C) (channels last, "NHWC"), or
 *               (N, H, W) for grey images (C = 1);
 *   labels.npy  any integer dtype (i1..i8, u1..u8), shape (N,).
 * fb_dataset is planar (C×H×W per image), so the pixels are transposed on
 * load: out[n][c][y][x] = in[n][y][x][c].
 *
 * What is validated, each failure naming the file (npy.c has already
 * checked the .npy container itself):
 *   - images are uint8 with 3 or 4 dimensions, N ≥ 1, H and W in 1..65536
 *     and C in 1..4; a (N, C, H, W) array (C ≤ 4 in the second place and a
 *     large last one) is refused with a hint rather than misread;
 *   - labels are integers, one-dimensional, with exactly N entries, every
 *     value in 0..NPY_MAX_LABEL.
 * num_classes is the largest label + 1, but at least 2.
 */
#include "freqbias/dataset.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/npy.h"

#define NPY_MAX_SIDE 65536
#define NPY_MAX_CHANNELS 4
#define NPY_MAX_LABEL 1000000

static const char *dtype_name(fb_npy_dtype dtype)
{
    static const char *const names[] = {
        [FB_NPY_U8] = "uint8",   [FB_NPY_I8] = "int8",     [FB_NPY_I16] = "int16",
        [FB_NPY_U16] = "uint16", [FB_NPY_I32] = "int32",   [FB_NPY_U32] = "uint32",
        [FB_NPY_I64] = "int64",  [FB_NPY_U64] = "uint64",  [FB_NPY_F32] = "float32",
        [FB_NPY_F64] = "float64",
    };
    return (int)dtype >= 0 && (size_t)dtype < sizeof names / sizeof names[0] ? names[dtype] : "?";
}

/* Checks the image array and gives its N, H, W, C. */
static fb_status check_images(const char *path, const fb_npy_array *images, int *count,
                              int *height, int *width, int *channels)
{
    if (images->dtype != FB_NPY_U8)
        return fb_error(FB_ERR_FORMAT, "%s: images have dtype %s; expected uint8 (N, H, W, C)",
                        path, dtype_name(images->dtype));
    if (images->ndim != 3 && images->ndim != 4)
        return fb_error(FB_ERR_FORMAT,
                        "%s: images have %d dimensions; expected (N, H, W, C) or (N, H, W)", path,
                        images->ndim);
    const int64_t *s = images->shape;
    int64_t c = images->ndim == 4 ? s[3] : 1;
    if (images->ndim == 4 && c > NPY_MAX_CHANNELS && s[1] >= 1 && s[1] <= NPY_MAX_CHANNELS)
        return fb_error(FB_ERR_FORMAT,
                        "%s: images have shape (%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                        "), which looks like (N, C, H, W); expected channels last (N, H, W, C)",
                        path, s[0], s[1], s[2], s[3]);
    if (s[0] < 1 || s[0] > INT_MAX)
        return fb_error(FB_ERR_FORMAT, "%s: %" PRId64 " images; expected at least 1", path, s[0]);
    if (s[1] < 1 || s[1] > NPY_MAX_SIDE || s[2] < 1 || s[2] > NPY_MAX_SIDE)
        return fb_error(FB_ERR_FORMAT, "%s: image size %" PRId64 "×%" PRId64 " is outside 1..%d",
                        path, s[1], s[2], NPY_MAX_SIDE);
    if (c < 1 || c > NPY_MAX_CHANNELS)
        return fb_error(FB_ERR_FORMAT, "%s: %" PRId64 " channels; expected 1..%d", path, c,
                        NPY_MAX_CHANNELS);
    *count = (int)s[0];
    *height = (int)s[1];
    *width = (int)s[2];
    *channels = (int)c;
    return FB_OK;
}

/* One label as a signed 64-bit value (unsigned 64-bit values above INT64_MAX
 * come out negative, and are then refused as out of range). */
static int64_t label_at(const fb_npy_array *labels, size_t i)
{
    switch (labels->dtype) {
    case FB_NPY_U8: return ((const uint8_t *)labels->data)[i];
    case FB_NPY_I8: return ((const int8_t *)labels->data)[i];
    case FB_NPY_U16: return ((const uint16_t *)labels->data)[i];
    case FB_NPY_I16: return ((const int16_t *)labels->data)[i];
    case FB_NPY_U32: return ((const uint32_t *)labels->data)[i];
    case FB_NPY_I32: return ((const int32_t *)labels->data)[i];
    case FB_NPY_U64: return (int64_t)((const uint64_t *)labels->data)[i];
    case FB_NPY_I64: return ((const int64_t *)labels->data)[i];
    default: return -1;
    }
}

/* Checks the labels against the image count and copies them to out. */
static fb_status copy_labels(const char *path, const fb_npy_array *labels, int count,
                             fb_dataset *out)
{
    if (labels->dtype == FB_NPY_F32 || labels->dtype == FB_NPY_F64)
        return fb_error(FB_ERR_FORMAT, "%s: labels have dtype %s; expected an integer dtype", path,
                        dtype_name(labels->dtype));
    if (labels->ndim != 1)
        return fb_error(FB_ERR_FORMAT, "%s: labels have %d dimensions; expected shape (N,)", path,
                        labels->ndim);
    if (labels->shape[0] != count)
        return fb_error(FB_ERR_FORMAT, "%s: %" PRId64 " labels for %d images (count mismatch)", path,
                        labels->shape[0], count);
    out->labels = malloc((size_t)count * sizeof *out->labels);
    if (out->labels == NULL)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    int32_t largest = 0;
    for (int i = 0; i < count; i++) {
        int64_t label = label_at(labels, (size_t)i);
        if (label < 0 || label > NPY_MAX_LABEL)
            return fb_error(FB_ERR_FORMAT, "%s: label %" PRId64 " at index %d is outside 0..%d",
                            path, label, i, NPY_MAX_LABEL);
        out->labels[i] = (int32_t)label;
        if (label > largest)
            largest = (int32_t)label;
    }
    out->num_classes = largest + 1 < 2 ? 2 : largest + 1;
    return FB_OK;
}

/* NHWC → NCHW, one image at a time. */
static void to_planar(const uint8_t *nhwc, uint8_t *nchw, int count, int height, int width,
                      int channels)
{
    size_t plane = (size_t)height * width, image = plane * channels;
    for (int n = 0; n < count; n++) {
        const uint8_t *in = nhwc + n * image;   /* [height, width, channels] */
        uint8_t *out = nchw + n * image;        /* [channels, height, width] */
        for (size_t p = 0; p < plane; p++)
            for (int c = 0; c < channels; c++)
                out[c * plane + p] = in[p * channels + c];
    }
}

fb_status fb_npy_dataset_read(const char *images_path, const char *labels_path, fb_dataset *out)
{
    memset(out, 0, sizeof *out);
    fb_npy_array images, labels;
    memset(&labels, 0, sizeof labels);
    int count = 0, height = 0, width = 0, channels = 0;
    fb_status status = fb_npy_read(images_path, &images);
    if (status == FB_OK)
        status = check_images(images_path, &images, &count, &height, &width, &channels);
    if (status == FB_OK)
        status = fb_npy_read(labels_path, &labels);
    if (status == FB_OK)
        status = copy_labels(labels_path, &labels, count, out);
    if (status == FB_OK) {
        out->pixels = malloc(images.count);
        if (out->pixels == NULL)
            status = fb_error(FB_ERR_NOMEM, "%s: out of memory", images_path);
    }
    if (status == FB_OK) {
        to_planar(images.data, out->pixels, count, height, width, channels);
        out->count = count;
        out->channels = channels;
        out->height = height;
        out->width = width;
        if (snprintf(out->source, sizeof out->source, "%s + %s", images_path, labels_path) >=
            (int)sizeof out->source)
            snprintf(out->source, sizeof out->source, "%.250s + %.250s", images_path, labels_path);
    }
    fb_npy_free(&images);
    fb_npy_free(&labels);
    if (status != FB_OK)
        fb_dataset_free(out);
    return status;
}
