/* npy.c — NumPy .npy arrays: read v1.0/v2.0/v3.0, write v1.0.
 *
 * The file layout (shared FORMATS.md):
 *
 *   bytes [0, 6)      magic "\x93NUMPY"
 *   byte  6, 7        major and minor version (1.0, 2.0 or 3.0)
 *   next 2 or 4       HEADER_LEN, little-endian (2 bytes for v1, 4 for v2/v3)
 *   HEADER_LEN bytes  a Python dict literal, padded with spaces, ending '\n':
 *                     {'descr': '<f4', 'fortran_order': False, 'shape': (20, 20), }
 *   the rest          count × itemsize bytes of C-order data
 *
 * NumPy writes the keys in alphabetical order with single spaces, but other
 * writers differ, so the reader parses the dict as a small grammar: any key
 * order, any whitespace, single or double quotes, trailing commas, and each
 * of the three keys exactly once. It then checks, in order:
 *   - descr is a plain dtype we know (u1 i1 u2 i2 u4 i4 u8 i8 f4 f8) in
 *     little-endian ('<') or byte-order-free ('|') form; '>' is accepted
 *     only for one-byte types, where byte order does not matter;
 *   - fortran_order is False (column-major arrays are refused, not
 *     silently transposed);
 *   - shape has at most FB_NPY_MAX_DIMS non-negative sizes whose product
 *     times the item size does not overflow;
 *   - the file holds exactly header + count × itemsize bytes: a shorter file
 *     is truncated, a longer one has trailing bytes, and both are errors.
 * Every message names the file and says what is wrong.
 *
 * The writer emits v1.0 with the header padded so the data starts at a
 * multiple of 64 bytes, through an atomic temp-file-and-rename. Data is kept
 * as stored, so the host must be little-endian (checked at compile time).
 */
#include "freqbias/npy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "freqbias/atomic_file.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c stores array data as little-endian bytes and needs a little-endian host"
#endif

static const char npy_magic[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };

/* The largest header we accept when reading (NumPy itself caps at 10,000
 * bytes unless told otherwise; ours never exceed a few hundred). */
#define NPY_MAX_HEADER (1u << 20)

static const struct {
    char kind;       /* 'u', 'i' or 'f' */
    int size;        /* bytes           */
} dtype_table[] = {
    [FB_NPY_U8] = { 'u', 1 },  [FB_NPY_I8] = { 'i', 1 },  [FB_NPY_I16] = { 'i', 2 },
    [FB_NPY_U16] = { 'u', 2 }, [FB_NPY_I32] = { 'i', 4 }, [FB_NPY_U32] = { 'u', 4 },
    [FB_NPY_I64] = { 'i', 8 }, [FB_NPY_U64] = { 'u', 8 }, [FB_NPY_F32] = { 'f', 4 },
    [FB_NPY_F64] = { 'f', 8 },
};
#define DTYPE_COUNT ((int)(sizeof dtype_table / sizeof dtype_table[0]))

size_t fb_npy_itemsize(fb_npy_dtype dtype)
{
    return (int)dtype >= 0 && (int)dtype < DTYPE_COUNT ? (size_t)dtype_table[dtype].size : 0;
}

/* ---- the header dict ------------------------------------------------------ */

typedef struct header_parser {
    const char *path;
    const char *text;   /* [length], not NUL-terminated */
    size_t length;
    size_t pos;
} header_parser;

static void skip_space(header_parser *p)
{
    while (p->pos < p->length &&
           (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' || p->text[p->pos] == '\n' ||
            p->text[p->pos] == '\r'))
        p->pos++;
}

/* Consumes `c` (after whitespace) and returns 1, or returns 0 and leaves pos. */
static int accept_char(header_parser *p, char c)
{
    skip_space(p);
    if (p->pos < p->length && p->text[p->pos] == c) {
        p->pos++;
        return 1;
    }
    return 0;
}

static fb_status syntax_error(header_parser *p, const char *expected)
{
    return fb_error(FB_ERR_FORMAT, "%s: malformed .npy header: expected %s at header byte %zu",
                    p->path, expected, p->pos);
}

/* A quoted string ('...' or "...") without escapes, copied into out. */
static fb_status parse_string(header_parser *p, char *out, size_t out_size)
{
    skip_space(p);
    if (p->pos >= p->length || (p->text[p->pos] != '\'' && p->text[p->pos] != '"'))
        return syntax_error(p, "a quoted string");
    char quote = p->text[p->pos++];
    size_t start = p->pos;
    while (p->pos < p->length && p->text[p->pos] != quote) {
        if (p->text[p->pos] == '\\')
            return syntax_error(p, "a string without escapes");
        p->pos++;
    }
    if (p->pos >= p->length)
        return syntax_error(p, "a closing quote");
    size_t length = p->pos - start;
    p->pos++;
    if (length >= out_size)
        return fb_error(FB_ERR_FORMAT, "%s: .npy header string '%.*s' is too long", p->path,
                        (int)(length < 40 ? length : 40), p->text + start);
    memcpy(out, p->text + start, length);
    out[length] = '\0';
    return FB_OK;
}

static int accept_word(header_parser *p, const char *word)
{
    skip_space(p);
    size_t n = strlen(word);
    if (p->length - p->pos >= n && memcmp(p->text + p->pos, word, n) == 0) {
        p->pos += n;
        return 1;
    }
    return 0;
}

/* A tuple of non-negative integers: (), (5,), (2, 3), (2, 3,). Python 2
 * writers appended 'L' to long integers; that is accepted too, and so is
 * "(5)" (in Python an integer, not a tuple, but the intent is clear). */
static fb_status parse_shape(header_parser *p, int *ndim, int64_t shape[FB_NPY_MAX_DIMS])
{
    if (!accept_char(p, '('))
        return syntax_error(p, "'(' to open the shape tuple");
    *ndim = 0;
    for (;;) {
        if (accept_char(p, ')'))
            break;
        skip_space(p);
        if (p->pos >= p->length || p->text[p->pos] < '0' || p->text[p->pos] > '9')
            return syntax_error(p, "a non-negative integer in the shape");
        int64_t value = 0;
        while (p->pos < p->length && p->text[p->pos] >= '0' && p->text[p->pos] <= '9') {
            int digit = p->text[p->pos++] - '0';
            if (value > (INT64_MAX - digit) / 10)
                return fb_error(FB_ERR_FORMAT, "%s: .npy shape size is too large", p->path);
            value = value * 10 + digit;
        }
        if (p->pos < p->length && p->text[p->pos] == 'L')
            p->pos++;
        if (*ndim == FB_NPY_MAX_DIMS)
            return fb_error(FB_ERR_FORMAT, "%s: .npy array has more than %d dimensions", p->path,
                            FB_NPY_MAX_DIMS);
        shape[(*ndim)++] = value;
        if (accept_char(p, ')'))
            break;
        if (!accept_char(p, ','))
            return syntax_error(p, "',' or ')' in the shape");
    }
    return FB_OK;
}

/* Maps a descr string such as "<f4" or "|u1" to a dtype. */
static fb_status parse_descr(const char *path, const char *descr, fb_npy_dtype *dtype)
{
    size_t length = strlen(descr);
    char order = descr[0];
    if (length < 3 || (order != '<' && order != '>' && order != '|' && order != '='))
        return fb_error(FB_ERR_FORMAT, "%s: unsupported .npy dtype '%s' (expected e.g. '<f4', '|u1')",
                        path, descr);
    char kind = descr[1];
    char *end;
    long size = strtol(descr + 2, &end, 10);
    if (*end != '\0')
        return fb_error(FB_ERR_FORMAT, "%s: unsupported .npy dtype '%s'", path, descr);
    for (int i = 0; i < DTYPE_COUNT; i++) {
        if (dtype_table[i].kind != kind || dtype_table[i].size != size)
            continue;
        if (order == '>' && size > 1)
            return fb_error(FB_ERR_FORMAT,
                            "%s: .npy dtype '%s' is big-endian; only little-endian ('<') data is "
                            "supported (re-save with arr.astype(arr.dtype.newbyteorder('<')))",
                            path, descr);
        if (order == '|' && size > 1)
            return fb_error(FB_ERR_FORMAT, "%s: .npy dtype '%s' has no byte order but is %ld bytes",
                            path, descr, size);
        *dtype = (fb_npy_dtype)i;
        return FB_OK;
    }
    return fb_error(FB_ERR_FORMAT,
                    "%s: unsupported .npy dtype '%s' (supported: u1 i1 u2 i2 u4 i4 u8 i8 f4 f8)",
                    path, descr);
}

/* Parses the whole dict into out->dtype/ndim/shape/count. */
static fb_status parse_header(header_parser *p, fb_npy_array *out)
{
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!accept_char(p, '{'))
        return syntax_error(p, "'{'");
    for (;;) {
        if (accept_char(p, '}'))
            break;
        char key[32];
        FB_TRY(parse_string(p, key, sizeof key));
        if (!accept_char(p, ':'))
            return syntax_error(p, "':' after a key");
        if (strcmp(key, "descr") == 0 && !have_descr) {
            char descr[32];
            skip_space(p);
            if (p->pos < p->length && p->text[p->pos] == '[')
                return fb_error(FB_ERR_FORMAT, "%s: structured .npy dtypes are not supported",
                                p->path);
            FB_TRY(parse_string(p, descr, sizeof descr));
            FB_TRY(parse_descr(p->path, descr, &out->dtype));
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_order) {
            if (accept_word(p, "True"))
                return fb_error(FB_ERR_FORMAT,
                                "%s: .npy array is in Fortran (column-major) order; only C order "
                                "is supported (re-save with np.ascontiguousarray)",
                                p->path);
            if (!accept_word(p, "False"))
                return syntax_error(p, "True or False for fortran_order");
            have_order = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            FB_TRY(parse_shape(p, &out->ndim, out->shape));
            have_shape = 1;
        } else if (strcmp(key, "descr") == 0 || strcmp(key, "fortran_order") == 0 ||
                   strcmp(key, "shape") == 0) {
            return fb_error(FB_ERR_FORMAT, "%s: .npy header repeats the key '%s'", p->path, key);
        } else {
            return fb_error(FB_ERR_FORMAT, "%s: .npy header has an unknown key '%s'", p->path, key);
        }
        if (accept_char(p, '}'))
            break;
        if (!accept_char(p, ','))
            return syntax_error(p, "',' or '}' in the dict");
    }
    skip_space(p);
    if (p->pos != p->length)
        return syntax_error(p, "only spaces after the dict");
    if (!have_descr || !have_order || !have_shape)
        return fb_error(FB_ERR_FORMAT, "%s: .npy header lacks the key '%s'", p->path,
                        !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    if (p->length == 0 || p->text[p->length - 1] != '\n')
        return fb_error(FB_ERR_FORMAT, "%s: .npy header does not end with a newline", p->path);

    size_t itemsize = fb_npy_itemsize(out->dtype), count = 1;
    int empty = 0;
    for (int i = 0; i < out->ndim; i++)
        empty |= out->shape[i] == 0;
    for (int i = 0; i < out->ndim && !empty; i++) {
        if ((uint64_t)out->shape[i] > SIZE_MAX / itemsize / count)
            return fb_error(FB_ERR_FORMAT, "%s: .npy shape is too large for memory", p->path);
        count *= (size_t)out->shape[i];
    }
    out->count = empty ? 0 : count;
    return FB_OK;
}

/* ---- reading -------------------------------------------------------------- */

static fb_status read_exact(FILE *stream, void *buffer, size_t bytes, const char *path,
                            const char *what)
{
    if (bytes == 0 || fread(buffer, 1, bytes, stream) == bytes)
        return FB_OK;
    if (ferror(stream))
        return fb_error(FB_ERR_IO, "%s: read failed: %s", path, strerror(errno));
    return fb_error(FB_ERR_FORMAT, "%s: truncated .npy file: it ends inside the %s", path, what);
}

static fb_status read_stream(FILE *stream, const char *path, uint64_t file_size,
                             fb_npy_array *out)
{
    unsigned char prefix[12];
    if (file_size < 10)
        return fb_error(FB_ERR_FORMAT, "%s: not a .npy file (%" PRIu64 " bytes, too short)", path,
                        file_size);
    FB_TRY(read_exact(stream, prefix, 8, path, "magic"));
    if (memcmp(prefix, npy_magic, sizeof npy_magic) != 0)
        return fb_error(FB_ERR_FORMAT, "%s: not a .npy file (bad magic, expected \\x93NUMPY)", path);
    int major = prefix[6], minor = prefix[7];
    if (major < 1 || major > 3 || minor != 0)
        return fb_error(FB_ERR_FORMAT, "%s: unsupported .npy version %d.%d (expected 1.0, 2.0 or 3.0)",
                        path, major, minor);
    size_t length_bytes = major == 1 ? 2 : 4;
    FB_TRY(read_exact(stream, prefix + 8, length_bytes, path, "header length"));
    uint32_t header_length = (uint32_t)prefix[8] | (uint32_t)prefix[9] << 8;
    if (length_bytes == 4)
        header_length |= (uint32_t)prefix[10] << 16 | (uint32_t)prefix[11] << 24;
    uint64_t data_offset = 8 + length_bytes + (uint64_t)header_length;
    if (header_length > NPY_MAX_HEADER)
        return fb_error(FB_ERR_FORMAT, "%s: .npy header length %" PRIu32 " exceeds %u bytes", path,
                        header_length, NPY_MAX_HEADER);
    if (data_offset > file_size)
        return fb_error(FB_ERR_FORMAT,
                        "%s: truncated .npy file: header of %" PRIu32 " bytes, file has %" PRIu64,
                        path, header_length, file_size);

    char *header = malloc(header_length ? header_length : 1);
    if (header == NULL)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    fb_status status = read_exact(stream, header, header_length, path, "header");
    if (status == FB_OK) {
        header_parser parser = { .path = path, .text = header, .length = header_length };
        status = parse_header(&parser, out);
    }
    free(header);
    FB_TRY(status);

    size_t itemsize = fb_npy_itemsize(out->dtype);
    uint64_t data_bytes = (uint64_t)out->count * itemsize, have = file_size - data_offset;
    if (have < data_bytes)
        return fb_error(FB_ERR_FORMAT,
                        "%s: truncated .npy file: shape needs %" PRIu64 " data bytes, file has %" PRIu64,
                        path, data_bytes, have);
    if (have > data_bytes)
        return fb_error(FB_ERR_FORMAT,
                        "%s: .npy file has %" PRIu64 " trailing bytes after the %" PRIu64
                        " data bytes its shape needs",
                        path, have - data_bytes, data_bytes);
    out->data = malloc(data_bytes ? (size_t)data_bytes : 1);
    if (out->data == NULL)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory for %" PRIu64 " bytes", path, data_bytes);
    return read_exact(stream, out->data, (size_t)data_bytes, path, "data (file changed?)");
}

fb_status fb_npy_read(const char *path, fb_npy_array *out)
{
    memset(out, 0, sizeof *out);
    FILE *stream = fopen(path, "rb");
    if (stream == NULL)
        return fb_error(FB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat info;
    fb_status status;
    if (fstat(fileno(stream), &info) != 0)
        status = fb_error(FB_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(info.st_mode))
        status = fb_error(FB_ERR_IO, "%s: not a regular file", path);
    else
        status = read_stream(stream, path, (uint64_t)info.st_size, out);
    fclose(stream);
    if (status != FB_OK)
        fb_npy_free(out);
    return status;
}

void fb_npy_free(fb_npy_array *array)
{
    if (array == NULL)
        return;
    free(array->data);
    memset(array, 0, sizeof *array);
}

/* ---- writing -------------------------------------------------------------- */

fb_status fb_npy_write(const char *path, fb_npy_dtype dtype, int ndim, const int64_t *shape,
                       const void *data)
{
    size_t itemsize = fb_npy_itemsize(dtype);
    if (itemsize == 0)
        return fb_error(FB_ERR_USAGE, "%s: unknown .npy dtype %d", path, (int)dtype);
    if (ndim < 0 || ndim > FB_NPY_MAX_DIMS)
        return fb_error(FB_ERR_USAGE, "%s: %d dimensions (at most %d)", path, ndim, FB_NPY_MAX_DIMS);

    /* The dict, exactly as NumPy writes it. */
    char dict[320];
    int length = snprintf(dict, sizeof dict, "{'descr': '%c%c%zu', 'fortran_order': False, 'shape': (",
                          itemsize == 1 ? '|' : '<', dtype_table[dtype].kind, itemsize);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return fb_error(FB_ERR_USAGE, "%s: negative size %" PRId64 " in dimension %d", path,
                            shape[i], i);
        if (shape[i] > 0 && count > SIZE_MAX / itemsize / (uint64_t)shape[i])
            return fb_error(FB_ERR_USAGE, "%s: shape too large", path);
        count *= (size_t)shape[i];
        length += snprintf(dict + length, sizeof dict - (size_t)length, "%s%" PRId64,
                           i ? ", " : "", shape[i]);
    }
    length += snprintf(dict + length, sizeof dict - (size_t)length, "%s), }",
                       ndim == 1 ? "," : "");
    if (count > 0 && data == NULL)
        return fb_error(FB_ERR_USAGE, "%s: no data for %zu elements", path, count);

    /* Pad with spaces and a final '\n' so 10 + header length is a multiple of 64. */
    size_t header_length = (size_t)length + 1;
    header_length += (64 - (10 + header_length) % 64) % 64;
    unsigned char prefix[10];
    memcpy(prefix, npy_magic, sizeof npy_magic);
    prefix[6] = 1;
    prefix[7] = 0;
    prefix[8] = (unsigned char)(header_length & 0xff);
    prefix[9] = (unsigned char)(header_length >> 8);

    fb_atomic_file file;
    FB_TRY(fb_atomic_open(path, &file));
    int ok = fwrite(prefix, 1, sizeof prefix, file.stream) == sizeof prefix &&
             fwrite(dict, 1, (size_t)length, file.stream) == (size_t)length;
    for (size_t i = (size_t)length; ok && i + 1 < header_length; i++)
        ok = fputc(' ', file.stream) != EOF;
    ok = ok && fputc('\n', file.stream) != EOF;
    ok = ok && (count == 0 || fwrite(data, itemsize, count, file.stream) == count);
    if (!ok) {
        int saved = errno;
        fb_atomic_abort(&file);
        return fb_error(FB_ERR_IO, "%s: write failed: %s", path, strerror(saved));
    }
    return fb_atomic_commit(&file);
}
