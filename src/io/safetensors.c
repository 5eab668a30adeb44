/* safetensors.c — read and write the safetensors format (PyTorch interop).
 *
 * The file layout (shared FORMATS.md):
 *
 *   bytes [0, 8)        N, the header length, as a little-endian u64
 *   bytes [8, 8+N)      UTF-8 JSON object starting with '{', right-padded
 *                       with spaces; our writer pads N to a multiple of 8
 *   bytes [8+N, end)    the data buffer: tensors back to back, little-endian,
 *                       row-major
 *
 *   {"__metadata__": {"format": "pt"},
 *    "conv1.weight": {"dtype": "F32", "shape": [8,3,3,3], "data_offsets": [0,864]},
 *    ...}
 *
 * data_offsets are [begin, end) relative to the start of the buffer. The
 * reader trusts nothing; in order it checks:
 *   - the file holds 8 bytes, N <= FB_ST_MAX_HEADER and 8 + N <= file size;
 *   - the header starts with '{' and is strict JSON (json.c) of at most
 *     FB_ST_MAX_JSON_VALUES values, so memory stays bounded (~15 MB of
 *     nodes) whatever the header holds;
 *   - at most FB_ST_MAX_TENSORS tensors and FB_ST_MAX_META metadata keys;
 *   - "__metadata__", if present, is an object of string -> string;
 *   - every other member is an object with exactly dtype (a known name),
 *     shape (at most FB_ST_MAX_DIMS non-negative integers) and data_offsets
 *     (two non-negative integers, begin <= end);
 *   - numel × dtype size does not overflow and equals end − begin;
 *   - end <= buffer size;
 *   - names are unique;
 *   - sorted by begin, the tensors tile [0, buffer size) exactly: no
 *     overlap, no hole, no unused bytes at the end (empty tensors are fine).
 * Every message names the file and, where there is one, the tensor.
 *
 * The data is kept as stored (little-endian), so both directions require a
 * little-endian host; a big-endian one gets FB_ERR_UNSUPPORTED.
 */
#include "freqbias/safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "freqbias/atomic_file.h"
#include "freqbias/json.h"

static const struct {
    const char *name;
    size_t size;
} dtype_table[] = {
    [FB_ST_F64] = { "F64", 8 }, [FB_ST_F32] = { "F32", 4 },  [FB_ST_F16] = { "F16", 2 },
    [FB_ST_BF16] = { "BF16", 2 }, [FB_ST_I64] = { "I64", 8 }, [FB_ST_I32] = { "I32", 4 },
    [FB_ST_I16] = { "I16", 2 }, [FB_ST_I8] = { "I8", 1 },    [FB_ST_U8] = { "U8", 1 },
    [FB_ST_BOOL] = { "BOOL", 1 },
};
#define DTYPE_COUNT ((int)(sizeof dtype_table / sizeof dtype_table[0]))

size_t fb_st_dtype_size(fb_st_dtype dtype)
{
    return (int)dtype >= 0 && (int)dtype < DTYPE_COUNT ? dtype_table[dtype].size : 0;
}

const char *fb_st_dtype_name(fb_st_dtype dtype)
{
    return (int)dtype >= 0 && (int)dtype < DTYPE_COUNT ? dtype_table[dtype].name : "?";
}

int64_t fb_st_numel(const fb_st_entry *entry)
{
    int64_t count = 1;
    for (int i = 0; i < entry->ndim; i++)
        if (entry->shape[i] == 0)
            return 0;
    for (int i = 0; i < entry->ndim; i++)
        count *= entry->shape[i];
    return count;
}

static fb_status check_host_is_little_endian(const char *path)
{
    const uint16_t one = 1;
    unsigned char first_byte;
    memcpy(&first_byte, &one, 1);
    if (first_byte == 1)
        return FB_OK;
    return fb_error(FB_ERR_UNSUPPORTED,
                    "%s: safetensors data is little-endian and this host is big-endian "
                    "(byte swapping is not implemented)", path);
}

/* numel × dtype size into *bytes; 0 if that exceeds INT64_MAX. A shape with
 * a zero dimension has 0 bytes whatever the other dimensions are. */
static int tensor_bytes(fb_st_dtype dtype, int ndim, const int64_t *shape, uint64_t *bytes)
{
    uint64_t total = fb_st_dtype_size(dtype);
    if (total == 0)
        return 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0) {
            *bytes = 0;
            return 1;
        }
    }
    for (int i = 0; i < ndim; i++) {
        if ((uint64_t)shape[i] > (uint64_t)INT64_MAX / total)
            return 0;
        total *= (uint64_t)shape[i];
    }
    *bytes = total;
    return 1;
}

static void format_shape(char *out, size_t size, int ndim, const int64_t *shape)
{
    size_t used = (size_t)snprintf(out, size, "[");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%" PRId64, i ? "," : "", shape[i]);
    if (used < size)
        snprintf(out + used, size - used, "]");
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts names in place; returns a name that occurs twice, or NULL. */
static const char *first_duplicate(const char **names, size_t count)
{
    if (count < 2)
        return NULL;
    qsort(names, count, sizeof *names, compare_strings);
    for (size_t i = 1; i < count; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return names[i];
    return NULL;
}

/* ---- reading ------------------------------------------------------------ */

void fb_st_free(fb_st_file *file)
{
    for (int i = 0; i < file->count; i++)
        free(file->entries[i].name);
    for (int i = 0; i < file->meta_count; i++) {
        free(file->meta_keys[i]);
        free(file->meta_values[i]);
    }
    free(file->entries);
    free(file->meta_keys);
    free(file->meta_values);
    free(file->buffer);
    free(file->path);
    memset(file, 0, sizeof *file);
}

static fb_status read_exactly(FILE *stream, void *out, size_t size, const char *path)
{
    if (size == 0 || fread(out, 1, size, stream) == size)
        return FB_OK;
    if (ferror(stream))
        return fb_error(FB_ERR_IO, "%s: read failed: %s", path, strerror(errno));
    return fb_error(FB_ERR_IO, "%s: read failed: unexpected end of file (file changed?)", path);
}

/* Reads the header bytes into *header and the data buffer into file. */
static fb_status load_stream(FILE *stream, const char *path, char **header,
                             uint64_t *header_length, fb_st_file *file)
{
    struct stat info;
    if (fstat(fileno(stream), &info) != 0)
        return fb_error(FB_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(info.st_mode))
        return fb_error(FB_ERR_IO, "%s: not a regular file", path);
    uint64_t file_size = (uint64_t)info.st_size;
    if (file_size < 8)
        return fb_error(FB_ERR_FORMAT,
                        "%s: truncated: the file has %" PRIu64 " bytes, fewer than the "
                        "8-byte header length", path, file_size);

    unsigned char length_bytes[8];
    FB_TRY(read_exactly(stream, length_bytes, 8, path));
    uint64_t length = 0;
    for (int i = 7; i >= 0; i--)
        length = (length << 8) | length_bytes[i];
    if (length > FB_ST_MAX_HEADER)
        return fb_error(FB_ERR_FORMAT, "%s: header length %" PRIu64 " exceeds the limit of %u bytes",
                        path, length, FB_ST_MAX_HEADER);
    if (length > file_size - 8)
        return fb_error(FB_ERR_FORMAT,
                        "%s: header length %" PRIu64 " is larger than the file (%" PRIu64
                        " bytes after the 8-byte length): truncated or corrupt", path, length,
                        file_size - 8);

    uint64_t buffer_size = file_size - 8 - length;
    if ((uint64_t)(size_t)buffer_size != buffer_size)
        return fb_error(FB_ERR_NOMEM, "%s: data buffer of %" PRIu64 " bytes is too large", path,
                        buffer_size);
    *header = malloc((size_t)length + 1);
    file->buffer = malloc(buffer_size > 0 ? (size_t)buffer_size : 1);
    if (*header == NULL || file->buffer == NULL)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory for a %" PRIu64 "-byte file", path,
                        file_size);
    *header_length = length;
    file->buffer_size = (size_t)buffer_size;
    FB_TRY(read_exactly(stream, *header, (size_t)length, path));
    return read_exactly(stream, file->buffer, file->buffer_size, path);
}

static fb_status read_metadata(const char *path, const fb_json *metadata, fb_st_file *file)
{
    if (fb_json_type_of(metadata) != FB_JSON_OBJECT)
        return fb_error(FB_ERR_FORMAT, "%s: __metadata__ is a %s, expected an object of strings",
                        path, fb_json_type_name(fb_json_type_of(metadata)));
    size_t count = fb_json_count(metadata);
    if (count > FB_ST_MAX_META)
        return fb_error(FB_ERR_FORMAT, "%s: __metadata__ has %zu keys, more than the limit of %d",
                        path, count, FB_ST_MAX_META);
    file->meta_keys = calloc(count + 1, sizeof *file->meta_keys);
    file->meta_values = calloc(count + 1, sizeof *file->meta_values);
    if (file->meta_keys == NULL || file->meta_values == NULL)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < count; i++) {
        const char *key = fb_json_key(metadata, i);
        const fb_json *value = fb_json_item(metadata, i);
        if (fb_json_type_of(value) != FB_JSON_STRING)
            return fb_error(FB_ERR_FORMAT,
                            "%s: __metadata__ value for key '%s' is a %s, not a string", path, key,
                            fb_json_type_name(fb_json_type_of(value)));
        file->meta_keys[i] = strdup(key);
        file->meta_values[i] = strdup(fb_json_string(value));
        file->meta_count = (int)i + 1;
        if (file->meta_keys[i] == NULL || file->meta_values[i] == NULL)
            return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    }
    const char **keys = malloc((count + 1) * sizeof *keys);
    if (keys == NULL)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    memcpy(keys, file->meta_keys, count * sizeof *keys);
    const char *duplicate = first_duplicate(keys, count);
    fb_status status = duplicate == NULL
        ? FB_OK
        : fb_error(FB_ERR_FORMAT, "%s: duplicate __metadata__ key '%s'", path, duplicate);
    free(keys);
    return status;
}

/* Reads a non-negative integer, or fails. */
static int read_count(const fb_json *value, int64_t *out)
{
    return fb_json_int64(value, out) && *out >= 0;
}

/* Validates one tensor entry (all but the tiling) and fills it in. */
static fb_status read_entry(const char *path, const fb_json *value, fb_st_entry *entry,
                            const fb_st_file *file)
{
    static const char *const field_names[3] = { "dtype", "shape", "data_offsets" };
    const char *name = entry->name;
    if (fb_json_type_of(value) != FB_JSON_OBJECT)
        return fb_error(FB_ERR_FORMAT, "%s: tensor '%s': entry is a %s, expected an object", path,
                        name, fb_json_type_name(fb_json_type_of(value)));
    const fb_json *fields[3] = { NULL, NULL, NULL };
    for (size_t k = 0; k < fb_json_count(value); k++) {
        const char *key = fb_json_key(value, k);
        int field = 0;
        while (field < 3 && strcmp(key, field_names[field]) != 0)
            field++;
        if (field == 3)
            return fb_error(FB_ERR_FORMAT,
                            "%s: tensor '%s': unexpected key '%s' (expected dtype, shape, "
                            "data_offsets)", path, name, key);
        if (fields[field] != NULL)
            return fb_error(FB_ERR_FORMAT, "%s: tensor '%s': duplicate key '%s'", path, name, key);
        fields[field] = fb_json_item(value, k);
    }
    for (int field = 0; field < 3; field++)
        if (fields[field] == NULL)
            return fb_error(FB_ERR_FORMAT, "%s: tensor '%s': missing '%s'", path, name,
                            field_names[field]);

    const char *dtype_name = fb_json_string(fields[0]);
    if (dtype_name == NULL)
        return fb_error(FB_ERR_FORMAT, "%s: tensor '%s': dtype is a %s, expected a string", path,
                        name, fb_json_type_name(fb_json_type_of(fields[0])));
    int dtype = 0;
    while (dtype < DTYPE_COUNT && strcmp(dtype_name, dtype_table[dtype].name) != 0)
        dtype++;
    if (dtype == DTYPE_COUNT)
        return fb_error(FB_ERR_FORMAT, "%s: tensor '%s': unknown dtype '%s'", path, name,
                        dtype_name);
    entry->dtype = (fb_st_dtype)dtype;

    const fb_json *shape = fields[1];
    if (fb_json_type_of(shape) != FB_JSON_ARRAY)
        return fb_error(FB_ERR_FORMAT, "%s: tensor '%s': shape is a %s, expected an array", path,
                        name, fb_json_type_name(fb_json_type_of(shape)));
    if (fb_json_count(shape) > FB_ST_MAX_DIMS)
        return fb_error(FB_ERR_FORMAT, "%s: tensor '%s': shape has %zu dimensions, at most %d "
                        "are supported", path, name, fb_json_count(shape), FB_ST_MAX_DIMS);
    entry->ndim = (int)fb_json_count(shape);
    for (int i = 0; i < entry->ndim; i++)
        if (!read_count(fb_json_item(shape, (size_t)i), &entry->shape[i]))
            return fb_error(FB_ERR_FORMAT, "%s: tensor '%s': shape entries must be non-negative "
                            "integers", path, name);
    char shape_text[256];
    format_shape(shape_text, sizeof shape_text, entry->ndim, entry->shape);
    uint64_t bytes = 0;
    if (!tensor_bytes(entry->dtype, entry->ndim, entry->shape, &bytes))
        return fb_error(FB_ERR_FORMAT, "%s: tensor '%s': shape %s × %s is too large (the byte "
                        "count overflows)", path, name, shape_text, dtype_name);

    const fb_json *offsets = fields[2];
    int64_t begin = 0, end = 0;
    if (fb_json_type_of(offsets) != FB_JSON_ARRAY || fb_json_count(offsets) != 2 ||
        !read_count(fb_json_item(offsets, 0), &begin) || !read_count(fb_json_item(offsets, 1), &end))
        return fb_error(FB_ERR_FORMAT, "%s: tensor '%s': data_offsets must be two non-negative "
                        "integers [begin, end]", path, name);
    if (begin > end)
        return fb_error(FB_ERR_FORMAT, "%s: tensor '%s': data_offsets [%" PRId64 ",%" PRId64
                        "] have begin after end", path, name, begin, end);
    if ((uint64_t)(end - begin) != bytes)
        return fb_error(FB_ERR_FORMAT, "%s: tensor '%s': data_offsets [%" PRId64 ",%" PRId64
                        "] do not match shape %s × %s (%" PRIu64 " bytes)", path, name, begin,
                        end, shape_text, dtype_name, bytes);
    if ((uint64_t)end > (uint64_t)file->buffer_size)
        return fb_error(FB_ERR_FORMAT, "%s: tensor '%s': data_offsets [%" PRId64 ",%" PRId64
                        "] extend past the end of the data buffer (%zu bytes)", path, name,
                        begin, end, file->buffer_size);
    entry->begin = (size_t)begin;
    entry->end = (size_t)end;
    entry->data = file->buffer + entry->begin;
    return FB_OK;
}

static fb_status read_entries(const char *path, const fb_json *root, fb_st_file *file)
{
    size_t members = fb_json_count(root);
    if (members > (size_t)FB_ST_MAX_TENSORS + 1)
        return fb_error(FB_ERR_FORMAT, "%s: header lists %zu tensors, more than the limit of %d",
                        path, members, FB_ST_MAX_TENSORS);
    file->entries = calloc(members + 1, sizeof *file->entries);
    if (file->entries == NULL)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    int have_metadata = 0;
    for (size_t i = 0; i < members; i++) {
        const char *key = fb_json_key(root, i);
        const fb_json *value = fb_json_item(root, i);
        if (strcmp(key, "__metadata__") == 0) {
            if (have_metadata)
                return fb_error(FB_ERR_FORMAT, "%s: duplicate '__metadata__'", path);
            have_metadata = 1;
            FB_TRY(read_metadata(path, value, file));
            continue;
        }
        if (file->count == FB_ST_MAX_TENSORS)
            return fb_error(FB_ERR_FORMAT, "%s: header lists more than %d tensors (the limit)",
                            path, FB_ST_MAX_TENSORS);
        fb_st_entry *entry = &file->entries[file->count];
        entry->name = strdup(key);
        if (entry->name == NULL)
            return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
        file->count++;
        FB_TRY(read_entry(path, value, entry, file));
    }
    return FB_OK;
}

static int compare_by_offsets(const void *a, const void *b)
{
    const fb_st_entry *x = *(const fb_st_entry *const *)a;
    const fb_st_entry *y = *(const fb_st_entry *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Names are unique, and the tensors sorted by begin tile the buffer. */
static fb_status check_names_and_tiling(const char *path, const fb_st_file *file)
{
    size_t count = (size_t)file->count;
    const char **names = malloc((count + 1) * sizeof *names);
    const fb_st_entry **sorted = malloc((count + 1) * sizeof *sorted);
    fb_status status = FB_OK;
    if (names == NULL || sorted == NULL) {
        status = fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        names[i] = file->entries[i].name;
        sorted[i] = &file->entries[i];
    }
    const char *duplicate = first_duplicate(names, count);
    if (duplicate != NULL) {
        status = fb_error(FB_ERR_FORMAT, "%s: duplicate tensor name '%s'", path, duplicate);
        goto done;
    }

    qsort(sorted, count, sizeof *sorted, compare_by_offsets);
    size_t covered = 0; /* every byte before this belongs to exactly one tensor */
    for (size_t i = 0; i < count && status == FB_OK; i++) {
        const fb_st_entry *entry = sorted[i];
        if (entry->begin < covered)
            status = fb_error(FB_ERR_FORMAT, "%s: tensor '%s': data_offsets [%zu,%zu] overlap "
                              "tensor '%s' [%zu,%zu]", path, entry->name, entry->begin, entry->end,
                              sorted[i - 1]->name, sorted[i - 1]->begin, sorted[i - 1]->end);
        else if (entry->begin > covered)
            status = fb_error(FB_ERR_FORMAT, "%s: hole in the data buffer: bytes [%zu,%zu) "
                              "before tensor '%s' belong to no tensor", path, covered,
                              entry->begin, entry->name);
        covered = entry->end;
    }
    if (status == FB_OK && covered != file->buffer_size)
        status = fb_error(FB_ERR_FORMAT, "%s: hole in the data buffer: bytes [%zu,%zu) at the "
                          "end belong to no tensor", path, covered, file->buffer_size);
done:
    free(names);
    free(sorted);
    return status;
}

static fb_status parse_header(const char *path, const char *header, uint64_t length,
                              fb_json **root)
{
    if (length == 0 || header[0] != '{')
        return fb_error(FB_ERR_FORMAT, "%s: header does not start with '{'", path);
    char reason[256];
    fb_status status = fb_json_parse_limited(header, (size_t)length, FB_ST_MAX_JSON_VALUES, root,
                                             reason, sizeof reason);
    if (status == FB_ERR_FORMAT)
        return fb_error(status, "%s: header is not valid JSON: %s", path, reason);
    if (status != FB_OK)
        return fb_error(status, "%s: %s", path, reason);
    return FB_OK;
}

fb_status fb_st_read(const char *path, fb_st_file *file)
{
    memset(file, 0, sizeof *file);
    FB_TRY(check_host_is_little_endian(path));
    FILE *stream = fopen(path, "rb");
    if (stream == NULL)
        return fb_error(FB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));

    char *header = NULL;
    uint64_t header_length = 0;
    fb_json *root = NULL;
    fb_status status = load_stream(stream, path, &header, &header_length, file);
    fclose(stream);
    if (status == FB_OK)
        status = parse_header(path, header, header_length, &root);
    if (status == FB_OK)
        status = read_entries(path, root, file);
    if (status == FB_OK)
        status = check_names_and_tiling(path, file);
    if (status == FB_OK && (file->path = strdup(path)) == NULL)
        status = fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    free(header);
    fb_json_free(root);
    if (status != FB_OK)
        fb_st_free(file);
    return status;
}

const fb_st_entry *fb_st_find(const fb_st_file *file, const char *name)
{
    for (int i = 0; i < file->count; i++)
        if (strcmp(file->entries[i].name, name) == 0)
            return &file->entries[i];
    return NULL;
}

const char *fb_st_meta(const fb_st_file *file, const char *key)
{
    for (int i = 0; i < file->meta_count; i++)
        if (strcmp(file->meta_keys[i], key) == 0)
            return file->meta_values[i];
    return NULL;
}

/* ---- writing ------------------------------------------------------------ */

/* A growing text buffer; after an allocation failure it stops growing and
 * remembers the failure, so the caller checks once at the end. */
typedef struct text_buffer {
    char *data;
    size_t length, capacity;
    int out_of_memory;
} text_buffer;

static int reserve(text_buffer *text, size_t extra)
{
    if (text->out_of_memory)
        return 0;
    if (text->length + extra + 1 <= text->capacity)
        return 1;
    size_t capacity = text->capacity ? text->capacity : 256;
    while (capacity < text->length + extra + 1)
        capacity *= 2;
    char *data = realloc(text->data, capacity);
    if (data == NULL) {
        text->out_of_memory = 1;
        return 0;
    }
    text->data = data;
    text->capacity = capacity;
    return 1;
}

static void append_format(text_buffer *text, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void append_format(text_buffer *text, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int needed = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    if (needed < 0 || !reserve(text, (size_t)needed))
        return;
    va_start(args, fmt);
    vsnprintf(text->data + text->length, (size_t)needed + 1, fmt, args);
    va_end(args);
    text->length += (size_t)needed;
}

static void append_json_string(text_buffer *text, const char *value)
{
    size_t needed = fb_json_escape(value, NULL, 0);
    if (!reserve(text, needed))
        return;
    fb_json_escape(value, text->data + text->length, needed + 1);
    text->length += needed;
}

/* Checks the caller's arguments; the reader must accept what we write. */
static fb_status check_write_arguments(const char *path, const fb_st_tensor *tensors, int count,
                                       const char *const *meta_keys,
                                       const char *const *meta_values, int meta_count)
{
    if (count < 0 || meta_count < 0 || (count > 0 && tensors == NULL) ||
        (meta_count > 0 && (meta_keys == NULL || meta_values == NULL)))
        return fb_error(FB_ERR_USAGE, "%s: invalid tensor or metadata list", path);
    if (count > FB_ST_MAX_TENSORS || meta_count > FB_ST_MAX_META)
        return fb_error(FB_ERR_USAGE, "%s: %d tensors and %d metadata keys: the readers' limits are "
                        "%d and %d", path, count, meta_count, FB_ST_MAX_TENSORS, FB_ST_MAX_META);
    for (int i = 0; i < count; i++) {
        const fb_st_tensor *tensor = &tensors[i];
        if (tensor->name == NULL || strcmp(tensor->name, "__metadata__") == 0)
            return fb_error(FB_ERR_USAGE, "%s: tensor %d has no name or the reserved name "
                            "'__metadata__'", path, i);
        if (fb_st_dtype_size(tensor->dtype) == 0 || tensor->ndim < 0 ||
            tensor->ndim > FB_ST_MAX_DIMS)
            return fb_error(FB_ERR_USAGE, "%s: tensor '%s': invalid dtype or rank", path,
                            tensor->name);
        for (int d = 0; d < tensor->ndim; d++)
            if (tensor->shape[d] < 0)
                return fb_error(FB_ERR_USAGE, "%s: tensor '%s': negative dimension", path,
                                tensor->name);
        uint64_t bytes = 0;
        if (!tensor_bytes(tensor->dtype, tensor->ndim, tensor->shape, &bytes))
            return fb_error(FB_ERR_USAGE, "%s: tensor '%s': too large", path, tensor->name);
        if (bytes > 0 && tensor->data == NULL)
            return fb_error(FB_ERR_USAGE, "%s: tensor '%s': no data", path, tensor->name);
    }
    for (int i = 0; i < meta_count; i++)
        if (meta_keys[i] == NULL || meta_values[i] == NULL)
            return fb_error(FB_ERR_USAGE, "%s: metadata entry %d is NULL", path, i);

    size_t largest = (size_t)(count > meta_count ? count : meta_count);
    const char **names = malloc((largest + 1) * sizeof *names);
    if (names == NULL)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < count; i++)
        names[i] = tensors[i].name;
    const char *duplicate = first_duplicate(names, (size_t)count);
    fb_status status = FB_OK;
    if (duplicate != NULL) {
        status = fb_error(FB_ERR_USAGE, "%s: duplicate tensor name '%s'", path, duplicate);
    } else {
        for (int i = 0; i < meta_count; i++)
            names[i] = meta_keys[i];
        duplicate = first_duplicate(names, (size_t)meta_count);
        if (duplicate != NULL)
            status = fb_error(FB_ERR_USAGE, "%s: duplicate metadata key '%s'", path, duplicate);
    }
    free(names);
    return status;
}

/* Builds the padded header; the offsets follow the tensor order. */
static fb_status build_header(const char *path, const fb_st_tensor *tensors, int count,
                              const char *const *meta_keys, const char *const *meta_values,
                              int meta_count, text_buffer *header)
{
    append_format(header, "{");
    if (meta_count > 0) {
        append_format(header, "\"__metadata__\":{");
        for (int i = 0; i < meta_count; i++) {
            append_format(header, "%s", i ? "," : "");
            append_json_string(header, meta_keys[i]);
            append_format(header, ":");
            append_json_string(header, meta_values[i]);
        }
        append_format(header, "}%s", count > 0 ? "," : "");
    }
    uint64_t offset = 0;
    for (int i = 0; i < count; i++) {
        const fb_st_tensor *tensor = &tensors[i];
        uint64_t bytes = 0;
        tensor_bytes(tensor->dtype, tensor->ndim, tensor->shape, &bytes);
        if (bytes > (uint64_t)INT64_MAX - offset)
            return fb_error(FB_ERR_USAGE, "%s: total data size overflows", path);
        char shape_text[256];
        format_shape(shape_text, sizeof shape_text, tensor->ndim, tensor->shape);
        append_format(header, "%s", i ? "," : "");
        append_json_string(header, tensor->name);
        append_format(header, ":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%" PRIu64
                      ",%" PRIu64 "]}", fb_st_dtype_name(tensor->dtype), shape_text, offset,
                      offset + bytes);
        offset += bytes;
    }
    append_format(header, "}");
    while (header->length % 8 != 0 && !header->out_of_memory)
        append_format(header, " ");
    if (header->out_of_memory)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory building the header", path);
    if (header->length > FB_ST_MAX_HEADER)
        return fb_error(FB_ERR_USAGE, "%s: header of %zu bytes exceeds the limit of %u bytes",
                        path, header->length, FB_ST_MAX_HEADER);

    /* Parse it back: catches names that are not valid UTF-8, which the
     * reader (ours and PyTorch's) would reject. */
    char reason[256];
    fb_json *root = NULL;
    fb_status status = fb_json_parse(header->data, header->length, &root, reason, sizeof reason);
    fb_json_free(root);
    if (status != FB_OK)
        return fb_error(status == FB_ERR_NOMEM ? FB_ERR_NOMEM : FB_ERR_USAGE,
                        "%s: cannot write: the header would be invalid (%s); are all names "
                        "valid UTF-8?", path, reason);
    return FB_OK;
}

static fb_status write_bytes(fb_atomic_file *out, const void *bytes, size_t size)
{
    if (size == 0 || fwrite(bytes, 1, size, out->stream) == size)
        return FB_OK;
    return fb_error(FB_ERR_IO, "%s: write failed: %s", out->path, strerror(errno));
}

static fb_status write_file(const char *path, const fb_st_tensor *tensors, int count,
                            const text_buffer *header)
{
    unsigned char length_bytes[8];
    uint64_t length = header->length;
    for (int i = 0; i < 8; i++)
        length_bytes[i] = (unsigned char)(length >> (8 * i));

    fb_atomic_file out;
    FB_TRY(fb_atomic_open(path, &out));
    fb_status status = write_bytes(&out, length_bytes, sizeof length_bytes);
    if (status == FB_OK)
        status = write_bytes(&out, header->data, header->length);
    for (int i = 0; i < count && status == FB_OK; i++) {
        uint64_t bytes = 0;
        tensor_bytes(tensors[i].dtype, tensors[i].ndim, tensors[i].shape, &bytes);
        status = write_bytes(&out, tensors[i].data, (size_t)bytes);
    }
    if (status != FB_OK) {
        fb_atomic_abort(&out);
        return status;
    }
    return fb_atomic_commit(&out);
}

fb_status fb_st_write(const char *path, const fb_st_tensor *tensors, int count,
                      const char *const *meta_keys, const char *const *meta_values,
                      int meta_count)
{
    FB_TRY(check_host_is_little_endian(path));
    FB_TRY(check_write_arguments(path, tensors, count, meta_keys, meta_values, meta_count));
    text_buffer header = { 0 };
    fb_status status =
        build_header(path, tensors, count, meta_keys, meta_values, meta_count, &header);
    if (status == FB_OK)
        status = write_file(path, tensors, count, &header);
    free(header.data);
    return status;
}
