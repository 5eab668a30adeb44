/* idx.c — MNIST and Fashion-MNIST in the IDX format, plain or gzip.
 *
 * An IDX file (shared FORMATS.md) is a big-endian header and raw data:
 *
 *   bytes 0, 1   zero
 *   byte  2      type code: 0x08 unsigned byte (the only one we accept;
 *                0x09 sbyte, 0x0B int16, 0x0C int32, 0x0D float32 and
 *                0x0E float64 exist but no image dataset uses them)
 *   byte  3      number of dimensions
 *   then         one big-endian int32 per dimension, then the C-order data
 *
 * Images are 0x00000803 (N, rows, cols) and labels 0x00000801 (N). The files
 * are often stored gzip-compressed as "<name>.gz": zlib's gzread reads both
 * plain and gzip files, and a path that does not exist is retried with
 * ".gz" appended.
 *
 * What is validated, each failure naming the file:
 *   - the magic number (with the type code and dimension count spelled out);
 *   - sane sizes: 1 ≤ N ≤ 100,000,000 and 1 ≤ rows, cols ≤ 4096;
 *   - before anything is allocated, the claimed payload against what the
 *     file can hold: a plain file must be exactly header + payload bytes; a
 *     gzip file cannot expand more than deflate's maximum ratio (1032:1),
 *     and its payload is capped at IDX_MAX_GZ_PAYLOAD (4 GiB; MNIST's
 *     training images are 47 MB). So a 130-byte file claiming petabytes
 *     fails at once, naming the dimension, and never asks for the memory;
 *   - the payload is exactly N×rows×cols (or N) bytes: a short file is
 *     truncated, and any byte after the payload is trailing garbage;
 *   - gzip-level errors (corrupt or cut-off compressed data);
 *   - the image and label counts agree, and every label is in 0..9.
 * The result has one channel and num_classes = 10.
 */
#include "freqbias/dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_TYPE_UBYTE 0x08
#define IDX_MAX_COUNT 100000000
#define IDX_MAX_SIDE 4096
#define IDX_NUM_CLASSES 10
#define IDX_MAX_PATH 4096
#define IDX_MAX_GZ_PAYLOAD (4ull << 30)
#define DEFLATE_MAX_RATIO 1032ull /* deflate cannot expand 1 byte into more than 1032 */

/* One open IDX file, its header already read. */
typedef struct idx_file {
    gzFile stream;
    char path[IDX_MAX_PATH];   /* the path actually opened (maybe with .gz) */
    int ndim;
    int dims[3];               /* [ndim] sizes from the header */
    int compressed;            /* gzip (1) or plain (0)               */
    uint64_t file_size;        /* bytes on disk                       */
} idx_file;

static int exists(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0;
}

/* The error for a failed or short gzread. */
static fb_status read_error(idx_file *file, const char *what)
{
    int code = 0;
    const char *message = gzerror(file->stream, &code);
    if (code != Z_OK && code != Z_BUF_ERROR)
        return fb_error(FB_ERR_FORMAT, "%s: corrupt gzip data in the %s: %s", file->path, what,
                        message);
    return fb_error(FB_ERR_FORMAT, "%s: truncated: the file ends inside the %s", file->path, what);
}

/* Reads exactly `bytes` bytes (gzread takes an unsigned count). */
static fb_status read_exact(idx_file *file, void *buffer, size_t bytes, const char *what)
{
    unsigned char *cursor = buffer;
    while (bytes > 0) {
        unsigned chunk = bytes > (1u << 30) ? (1u << 30) : (unsigned)bytes;
        int got = gzread(file->stream, cursor, chunk);
        if (got <= 0 || (unsigned)got != chunk)
            return read_error(file, what);
        cursor += chunk;
        bytes -= chunk;
    }
    return FB_OK;
}

static const char *type_name(int code)
{
    switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
    }
}

/* Opens path (or path.gz) and reads and checks the header of an IDX file
 * of unsigned bytes with `ndim` dimensions. */
static fb_status idx_open(const char *path, int ndim, idx_file *file)
{
    memset(file, 0, sizeof *file);
    int n = snprintf(file->path, sizeof file->path, "%s", path);
    if (!exists(path))
        n = snprintf(file->path, sizeof file->path, "%s.gz", path);
    if (n < 0 || (size_t)n >= sizeof file->path)
        return fb_error(FB_ERR_USAGE, "%s: path too long", path);
    if (!exists(file->path))
        return fb_error(FB_ERR_IO, "%s: cannot open: no such file (nor %s.gz)", path, path);
    struct stat info;
    if (stat(file->path, &info) != 0 || !S_ISREG(info.st_mode))
        return fb_error(FB_ERR_IO, "%s: not a regular file", file->path);
    file->file_size = (uint64_t)info.st_size;
    file->stream = gzopen(file->path, "rb");
    if (file->stream == NULL)
        return fb_error(FB_ERR_IO, "%s: cannot open: %s", file->path, strerror(errno));

    unsigned char header[4 + 4 * 3];
    FB_TRY(read_exact(file, header, 4, "magic number"));
    unsigned magic = (unsigned)header[0] << 24 | (unsigned)header[1] << 16 |
                     (unsigned)header[2] << 8 | header[3];
    if (header[0] != 0 || header[1] != 0)
        return fb_error(FB_ERR_FORMAT, "%s: bad magic number 0x%08X: not an IDX file", file->path,
                        magic);
    if (header[2] != IDX_TYPE_UBYTE || header[3] != ndim)
        return fb_error(FB_ERR_FORMAT,
                        "%s: bad magic number 0x%08X (%s, %d dimensions); expected 0x%08X "
                        "(unsigned byte, %d dimensions) for %s",
                        file->path, magic, type_name(header[2]), header[3], 0x800 + ndim, ndim,
                        ndim == 3 ? "images" : "labels");
    FB_TRY(read_exact(file, header + 4, 4 * (size_t)ndim, "dimensions"));
    file->ndim = ndim;
    for (int d = 0; d < ndim; d++) {
        const unsigned char *b = header + 4 + 4 * d;
        uint32_t size = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        uint32_t limit = d == 0 ? IDX_MAX_COUNT : IDX_MAX_SIDE;
        if (size < 1 || size > limit)
            return fb_error(FB_ERR_FORMAT, "%s: dimension %d is %u, outside 1..%u", file->path, d,
                            (unsigned)size, (unsigned)limit);
        file->dims[d] = (int)size;
    }
    file->compressed = !gzdirect(file->stream);
    return FB_OK;
}

/* The payload the header claims, checked against what the file can hold
 * before anything is allocated (see the top of the file). */
static fb_status check_payload_fits(const idx_file *file, uint64_t payload, const char *what)
{
    uint64_t header = 4 + 4 * (uint64_t)file->ndim;
    char dims[64];
    if (file->ndim == 3)
        snprintf(dims, sizeof dims, "%d×%d×%d", file->dims[0], file->dims[1], file->dims[2]);
    else
        snprintf(dims, sizeof dims, "%d", file->dims[0]);
    if (!file->compressed && payload + header != file->file_size)
        return fb_error(FB_ERR_FORMAT, "%s: the header's dimensions (%s) need %llu bytes of %s but "
                        "the file has %llu after its %llu-byte header: %s", file->path, dims,
                        (unsigned long long)payload, what,
                        (unsigned long long)(file->file_size > header ? file->file_size - header : 0),
                        (unsigned long long)header,
                        payload + header > file->file_size ? "truncated" : "trailing bytes");
    if (file->compressed &&
        (payload > IDX_MAX_GZ_PAYLOAD || payload > DEFLATE_MAX_RATIO * file->file_size))
        return fb_error(FB_ERR_FORMAT, "%s: the header's dimensions (%s) claim %llu bytes of %s, "
                        "more than a %llu-byte gzip file can hold (limit: %llu bytes, or 1032× "
                        "the compressed size)", file->path, dims, (unsigned long long)payload, what,
                        (unsigned long long)file->file_size,
                        (unsigned long long)IDX_MAX_GZ_PAYLOAD);
    return FB_OK;
}

/* Reads the whole payload and checks that nothing follows it. */
static fb_status read_payload(idx_file *file, void *buffer, size_t bytes, const char *what)
{
    FB_TRY(read_exact(file, buffer, bytes, what));
    unsigned char extra;
    int got = gzread(file->stream, &extra, 1);
    if (got < 0)
        return read_error(file, "data after the payload");
    if (got > 0)
        return fb_error(FB_ERR_FORMAT, "%s: trailing bytes after the %zu-byte %s", file->path, bytes,
                        what);
    return FB_OK;
}

static void idx_close(idx_file *file)
{
    if (file->stream != NULL)
        gzclose(file->stream);
    file->stream = NULL;
}

static fb_status read_both(const char *images_path, const char *labels_path, idx_file *images,
                           idx_file *labels, fb_dataset *out)
{
    FB_TRY(idx_open(images_path, 3, images));
    FB_TRY(idx_open(labels_path, 1, labels));
    if (images->dims[0] != labels->dims[0])
        return fb_error(FB_ERR_FORMAT, "%s has %d images but %s has %d labels (count mismatch)",
                        images->path, images->dims[0], labels->path, labels->dims[0]);
    int count = images->dims[0];
    size_t image_bytes = (size_t)images->dims[1] * (size_t)images->dims[2];
    FB_TRY(check_payload_fits(images, (uint64_t)count * image_bytes, "pixel data"));
    FB_TRY(check_payload_fits(labels, (uint64_t)count, "label data"));
    out->count = count;
    out->channels = 1;
    out->height = images->dims[1];
    out->width = images->dims[2];
    out->num_classes = IDX_NUM_CLASSES;
    out->pixels = malloc((size_t)count * image_bytes);
    out->labels = malloc((size_t)count * sizeof *out->labels);
    unsigned char *raw_labels = malloc((size_t)count); /* [count] */
    fb_status status = FB_OK;
    if (out->pixels == NULL || out->labels == NULL || raw_labels == NULL)
        status = fb_error(FB_ERR_NOMEM, "%s: out of memory for %d images", images->path, count);
    if (status == FB_OK)
        status = read_payload(images, out->pixels, (size_t)count * image_bytes, "pixel data");
    if (status == FB_OK)
        status = read_payload(labels, raw_labels, (size_t)count, "label data");
    for (int i = 0; i < count && status == FB_OK; i++) {
        if (raw_labels[i] >= IDX_NUM_CLASSES)
            status = fb_error(FB_ERR_FORMAT, "%s: label %d of record %d is outside 0..%d",
                              labels->path, raw_labels[i], i, IDX_NUM_CLASSES - 1);
        out->labels[i] = raw_labels[i];
    }
    free(raw_labels);
    if (status == FB_OK &&
        snprintf(out->source, sizeof out->source, "%s + %s", images->path, labels->path) >=
            (int)sizeof out->source)
        snprintf(out->source, sizeof out->source, "%.250s + %.250s", images->path, labels->path);
    return status;
}

fb_status fb_idx_read(const char *images_path, const char *labels_path, fb_dataset *out)
{
    memset(out, 0, sizeof *out);
    idx_file images, labels;
    memset(&labels, 0, sizeof labels);
    fb_status status = read_both(images_path, labels_path, &images, &labels, out);
    idx_close(&images);
    idx_close(&labels);
    if (status != FB_OK)
        fb_dataset_free(out);
    return status;
}
