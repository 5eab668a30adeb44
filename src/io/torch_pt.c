/* torch_pt.c — the state dict of a torch.save file as an fb_st_file (see freqbias/torch_pt.h).
 *
 * Steps, each validating what the previous one handed over:
 *   1. zip.c opens the archive; "<prefix>/data.pkl" is the one entry named
 *      data.pkl one folder deep (torch names the folder after the file).
 *   2. pickle.c runs data.pkl. Every GLOBAL anywhere in it — the optimizer's
 *      and schedule's parts too — must be on the whitelist, or nothing loads.
 *   3. The state dict is root['model'] (robustness: {'model', 'optimizer',
 *      'schedule', 'epoch'}), else root['state_dict'], else the root itself.
 *      Every value in it must be a tensor under a string name.
 *   4. Each tensor's storage is "<prefix>/data/<key>", whose size must be
 *      exactly numel × element size of the storage the pickle declared; the
 *      view (offset, shape, strides — checked against that numel by the VM)
 *      is gathered element by element into one packed, contiguous buffer.
 *      float64 → float32 (rounded to nearest), float32 and int64 as stored.
 *   5. An int 'epoch' beside the state dict becomes __metadata__ "epoch".
 * A "<prefix>/byteorder" entry, when present, must say "little".
 *
 * A file that starts with a pickle's PROTO 2 and torch's LONG1 magic number
 * instead of "PK\3\4" is a legacy (pre-1.6) torch.save file: it gets an
 * error that says how to re-save it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/torch_pt.h"
#include "pickle.h"

#define MAX_PICKLE_BYTES ((size_t)1 << 28)
#define MAX_NAME_BYTES 4096
#define MAX_KEY_BYTES 64

/* PROTO 2, LONG1 of 10 bytes: how every legacy torch.save file begins */
static const uint8_t legacy_magic[4] = {0x80, 0x02, 0x8a, 0x0a};

int fb_pt_magic(const uint8_t *head, size_t n)
{
    return fb_zip_magic(head, n) || (n >= 4 && memcmp(head, legacy_magic, 4) == 0);
}

typedef struct storage_bytes {
    const fb_pk_value *key;  /* the STRING naming data/<key>                   */
    uint8_t *data;           /* [size] the entry's bytes                       */
    size_t size;
} storage_bytes;

typedef struct reader {
    const char *label;
    fb_zip zip;
    char prefix[256];        /* "<prefix>/" of data.pkl                         */
    storage_bytes *storages; /* [storage_count] extracted so far                */
    int storage_count, storage_cap;
} reader;

static fb_status find_pickle(reader *r, const fb_zip_entry **pickle)
{
    *pickle = NULL;
    for (int i = 0; i < r->zip.count; i++) {
        const char *name = r->zip.entries[i].name, *slash = strchr(name, '/');
        if (slash && strcmp(slash, "/data.pkl") == 0 && (size_t)(slash - name) < sizeof r->prefix - 1) {
            if (*pickle)
                return fb_error(FB_ERR_FORMAT, "%s: two data.pkl entries ('%s', '%s')", r->label,
                                (*pickle)->name, name);
            *pickle = &r->zip.entries[i];
            snprintf(r->prefix, sizeof r->prefix, "%.*s/", (int)(slash - name), name);
        }
    }
    if (!*pickle)
        return fb_error(FB_ERR_FORMAT, "%s: a zip archive without '<name>/data.pkl': not a torch.save file",
                        r->label);
    return FB_OK;
}

/* "<prefix>/byteorder" (PyTorch >= 1.13 writes it): the storages must be little-endian. */
static fb_status check_byteorder(const reader *r)
{
    char name[sizeof r->prefix + 16];
    snprintf(name, sizeof name, "%sbyteorder", r->prefix);
    const fb_zip_entry *entry = fb_zip_find(&r->zip, name);
    if (!entry)
        return FB_OK; /* older files: always little-endian */
    uint8_t *text;
    size_t size;
    FB_TRY(fb_zip_extract(&r->zip, entry, 16, &text, &size));
    int little = size == 6 && memcmp(text, "little", 6) == 0;
    free(text);
    if (!little)
        return fb_error(FB_ERR_FORMAT, "%s: '%s' does not say 'little': big-endian storages are not supported",
                        r->label, name);
    return FB_OK;
}

/* The bytes of one storage, extracted on first use and kept. */
static fb_status storage_of(reader *r, const fb_pk_value *storage, const uint8_t **data)
{
    const fb_pk_value *key = storage->key;
    uint64_t want = (uint64_t)storage->numel * fb_st_dtype_size(storage->dtype);
    int fits = want / fb_st_dtype_size(storage->dtype) == (uint64_t)storage->numel;
    for (int i = 0; i < r->storage_count; i++)
        if (r->storages[i].key->length == key->length &&
            memcmp(r->storages[i].key->text, key->text, key->length) == 0) {
            /* the same key twice must describe the same bytes (the views were
             * checked against this numel, not the first one's) */
            if (!fits || r->storages[i].size != want)
                return fb_error(FB_ERR_FORMAT, "%s: storage '%.*s' is declared twice with different sizes",
                                r->label, (int)key->length, key->text);
            *data = r->storages[i].data;
            return FB_OK;
        }
    if (key->length == 0 || key->length > MAX_KEY_BYTES || memchr(key->text, '/', key->length) ||
        memchr(key->text, '\0', key->length))
        return fb_error(FB_ERR_FORMAT, "%s: a storage key that is not a plain file name", r->label);
    char name[sizeof r->prefix + 8 + MAX_KEY_BYTES];
    snprintf(name, sizeof name, "%sdata/%.*s", r->prefix, (int)key->length, key->text);
    const fb_zip_entry *entry = fb_zip_find(&r->zip, name);
    if (!entry)
        return fb_error(FB_ERR_FORMAT, "%s: the pickle refers to storage '%s', which the archive lacks",
                        r->label, name);
    if (!fits || entry->size != want)
        return fb_error(FB_ERR_FORMAT, "%s: storage '%s' holds %llu bytes, the pickle says %lld %s elements",
                        r->label, name, (unsigned long long)entry->size, (long long)storage->numel,
                        fb_st_dtype_name(storage->dtype));
    if (r->storage_count == r->storage_cap) {
        int cap = r->storage_cap ? 2 * r->storage_cap : 16;
        storage_bytes *grown = realloc(r->storages, (size_t)cap * sizeof *grown);
        if (!grown)
            return fb_error(FB_ERR_NOMEM, "%s: out of memory", r->label);
        r->storages = grown;
        r->storage_cap = cap;
    }
    storage_bytes *s = &r->storages[r->storage_count];
    FB_TRY(fb_zip_extract(&r->zip, entry, r->zip.size * 1032 + 64, &s->data, &s->size));
    s->key = key;
    r->storage_count++;
    *data = s->data;
    return FB_OK;
}

static int64_t tensor_numel(const fb_pk_value *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d]; /* the VM checked n <= the storage's numel */
    return n;
}

/* Copies a strided view into packed row-major order, as F32 or I64. */
static void gather(const fb_pk_value *t, const uint8_t *storage, uint8_t *out)
{
    int64_t index[FB_PK_MAX_DIMS] = {0}, numel = tensor_numel(t);
    for (int64_t n = 0; n < numel; n++) {
        int64_t at = t->offset;
        for (int d = 0; d < t->ndim; d++)
            at += index[d] * t->stride[d];
        if (t->storage->dtype == FB_ST_F64) {
            double wide;
            memcpy(&wide, storage + 8 * at, 8);
            float narrow = (float)wide;
            memcpy(out + 4 * n, &narrow, 4);
        } else {
            size_t size = fb_st_dtype_size(t->storage->dtype);
            memcpy(out + size * n, storage + size * at, size);
        }
        for (int d = t->ndim - 1; d >= 0 && ++index[d] == t->shape[d]; d--)
            index[d] = 0;
    }
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const fb_st_entry *)a)->name, ((const fb_st_entry *)b)->name);
}

/* The root's state dict: 'model', else 'state_dict', else the root. */
static fb_status find_state_dict(const reader *r, const fb_pk_value *root, const fb_pk_value **dict)
{
    if (!root || root->kind != FB_PK_DICT)
        return fb_error(FB_ERR_FORMAT, "%s: the pickle holds no dict, so no state dict", r->label);
    const fb_pk_value *model = fb_pk_dict_get(root, "model");
    const fb_pk_value *state_dict = fb_pk_dict_get(root, "state_dict");
    *dict = model && model->kind == FB_PK_DICT ? model
          : state_dict && state_dict->kind == FB_PK_DICT ? state_dict : root;
    for (size_t i = 0; i + 1 < (*dict)->count; i += 2) {
        const fb_pk_value *key = (*dict)->items[i], *value = (*dict)->items[i + 1];
        if (key->kind != FB_PK_STRING || key->length > MAX_NAME_BYTES || memchr(key->text, '\0', key->length))
            return fb_error(FB_ERR_FORMAT, "%s: a state-dict key that is not a tensor name", r->label);
        if (value->kind != FB_PK_TENSOR)
            return fb_error(FB_ERR_FORMAT, "%s: state-dict entry '%.*s' is not a tensor (no 'model' or "
                            "'state_dict' dict of tensors found either)", r->label, (int)key->length, key->text);
        fb_st_dtype dtype = value->storage->dtype;
        if (dtype != FB_ST_F32 && dtype != FB_ST_F64 && dtype != FB_ST_I64)
            return fb_error(FB_ERR_FORMAT, "%s: tensor '%.*s' is %s; only float32, float64 and int64 are supported",
                            r->label, (int)key->length, key->text, fb_st_dtype_name(dtype));
    }
    return FB_OK;
}

/* Builds the fb_st_file: names, packed buffer, entries pointing into it. */
static fb_status build_file(reader *r, const fb_pk_value *root, const fb_pk_value *dict, fb_st_file *file)
{
    size_t count = dict->count / 2, total = 0;
    file->entries = calloc(count ? count : 1, sizeof *file->entries);
    file->path = strdup(r->label);
    if (!file->entries || !file->path)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", r->label);
    for (size_t i = 0; i < count; i++) {
        const fb_pk_value *key = dict->items[2 * i], *t = dict->items[2 * i + 1];
        fb_st_entry *e = &file->entries[i];
        if (!(e->name = strndup(key->text, key->length)))
            return fb_error(FB_ERR_NOMEM, "%s: out of memory", r->label);
        file->count = (int)i + 1;
        e->dtype = t->storage->dtype == FB_ST_I64 ? FB_ST_I64 : FB_ST_F32;
        e->ndim = t->ndim;
        for (int d = 0; d < t->ndim; d++)
            e->shape[d] = t->shape[d];
        size_t bytes = (size_t)tensor_numel(t) * fb_st_dtype_size(e->dtype);
        if (bytes / fb_st_dtype_size(e->dtype) != (size_t)tensor_numel(t) || total + bytes < total)
            return fb_error(FB_ERR_FORMAT, "%s: tensors too large to hold", r->label);
        e->begin = total;
        e->end = total + bytes;
        total += bytes;
    }
    if (!(file->buffer = malloc(total ? total : 1))) /* [total] packed tensors */
        return fb_error(FB_ERR_NOMEM, "%s: out of memory for %zu bytes of tensors", r->label, total);
    file->buffer_size = total;
    for (size_t i = 0; i < count; i++) {
        const fb_pk_value *t = dict->items[2 * i + 1];
        const uint8_t *storage = NULL;
        FB_TRY(storage_of(r, t->storage, &storage));
        file->entries[i].data = file->buffer + file->entries[i].begin;
        gather(t, storage, file->buffer + file->entries[i].begin);
    }
    fb_st_entry *sorted = malloc((count ? count : 1) * sizeof *sorted);
    if (!sorted)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", r->label);
    memcpy(sorted, file->entries, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, compare_names);
    for (size_t i = 1; i < count; i++)
        if (strcmp(sorted[i - 1].name, sorted[i].name) == 0) {
            fb_status status = fb_error(FB_ERR_FORMAT, "%s: tensor '%s' appears twice", r->label, sorted[i].name);
            free(sorted);
            return status;
        }
    free(sorted);
    const fb_pk_value *epoch = fb_pk_dict_get(root, "epoch");
    if (dict != root && epoch && epoch->kind == FB_PK_INT) {
        file->meta_keys = calloc(1, sizeof *file->meta_keys);
        file->meta_values = calloc(1, sizeof *file->meta_values);
        char text[32];
        snprintf(text, sizeof text, "%lld", (long long)epoch->integer);
        if (!file->meta_keys || !file->meta_values || !(file->meta_keys[0] = strdup("epoch")) ||
            !(file->meta_values[0] = strdup(text))) {
            if (file->meta_keys)
                free(file->meta_keys[0]);
            file->meta_count = 0;
            return fb_error(FB_ERR_NOMEM, "%s: out of memory", r->label);
        }
        file->meta_count = 1;
    }
    return FB_OK;
}

fb_status fb_pt_read_memory(const uint8_t *bytes, size_t size, const char *label, fb_st_file *file)
{
    const uint16_t probe = 1;
    memset(file, 0, sizeof *file);
    if (*(const uint8_t *)&probe != 1)
        return fb_error(FB_ERR_UNSUPPORTED, "%s: .pt files are little-endian; this host is not", label);
    if (!fb_zip_magic(bytes, size)) {
        if (fb_pt_magic(bytes, size))
            return fb_error(FB_ERR_FORMAT,
                            "%s: a legacy (pre-1.6, non-zip) torch.save file; re-save it with PyTorch >= 1.6: "
                            "torch.save(torch.load(f), g, _use_new_zipfile_serialization=True)", label);
        return fb_error(FB_ERR_FORMAT, "%s: not a zip archive, so not a torch.save (>= 1.6) file", label);
    }
    reader r = {.label = label};
    fb_pickle pickle = {0};
    uint8_t *pickle_bytes = NULL;
    size_t pickle_size = 0;
    const fb_zip_entry *pickle_entry;
    const fb_pk_value *dict = NULL;
    fb_status status = fb_zip_open(&r.zip, bytes, size, label);
    if (status == FB_OK)
        status = find_pickle(&r, &pickle_entry);
    if (status == FB_OK)
        status = check_byteorder(&r);
    if (status == FB_OK)
        status = fb_zip_extract(&r.zip, pickle_entry, MAX_PICKLE_BYTES, &pickle_bytes, &pickle_size);
    if (status == FB_OK)
        status = fb_pickle_load(pickle_bytes, pickle_size, label, &pickle);
    if (status == FB_OK)
        status = find_state_dict(&r, pickle.root, &dict);
    if (status == FB_OK)
        status = build_file(&r, pickle.root, dict, file);
    if (status != FB_OK)
        fb_st_free(file);
    for (int i = 0; i < r.storage_count; i++)
        free(r.storages[i].data);
    free(r.storages);
    fb_pickle_free(&pickle);
    free(pickle_bytes);
    fb_zip_close(&r.zip);
    return status;
}

fb_status fb_pt_read(const char *path, fb_st_file *file)
{
    memset(file, 0, sizeof *file);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fb_error(FB_ERR_IO, "%s: cannot open", path);
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    uint8_t *bytes = size >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc(size ? (size_t)size : 1) : NULL;
    if (!bytes || fread(bytes, 1, (size_t)size, f) != (size_t)size) {
        fb_status code = size >= 0 && !bytes ? FB_ERR_NOMEM : FB_ERR_IO;
        free(bytes);
        fclose(f);
        return fb_error(code, "%s: cannot read %ld bytes", path, size);
    }
    fclose(f);
    fb_status status = fb_pt_read_memory(bytes, (size_t)size, path, file);
    free(bytes);
    return status;
}
