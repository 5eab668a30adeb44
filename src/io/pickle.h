/* pickle.h — a weights-only pickle VM (internal to torch_pt.c; see freqbias/torch_pt.h).
 *
 * fb_pickle_load runs the opcodes of one pickle and returns the value it
 * builds. The values are plain data; the only "calls" it knows are the
 * whitelisted ones, each done by C code here (an OrderedDict() is an empty
 * dict, _rebuild_tensor_v2(...) is a tensor view of a storage). Everything
 * lives in one arena that fb_pickle_free releases, so values may share and
 * even contain each other (memo) without ownership questions.
 */
#ifndef FREQBIAS_IO_PICKLE_H
#define FREQBIAS_IO_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "freqbias/error.h"
#include "freqbias/safetensors.h"

#define FB_PK_MAX_DIMS FB_ST_MAX_DIMS

typedef enum fb_pk_kind {
    FB_PK_NONE, FB_PK_BOOL, FB_PK_INT, FB_PK_FLOAT, FB_PK_STRING, FB_PK_BYTES,
    FB_PK_TUPLE, FB_PK_LIST, FB_PK_DICT,
    FB_PK_GLOBAL,  /* a whitelisted name (callable or storage type)          */
    FB_PK_STORAGE, /* a persistent id: ('storage', type, key, location, n)   */
    FB_PK_TENSOR   /* a strided view of a storage                            */
} fb_pk_kind;

typedef enum fb_pk_global {
    FB_PK_ORDERED_DICT, FB_PK_REBUILD_TENSOR_V2, FB_PK_REBUILD_PARAMETER, FB_PK_STORAGE_TYPE
} fb_pk_global;

typedef struct fb_pk_value fb_pk_value;
struct fb_pk_value {
    fb_pk_kind kind;
    int64_t integer;              /* BOOL (0/1), INT                           */
    double real;                  /* FLOAT                                     */
    const char *text;             /* STRING/BYTES: [length] bytes inside the   */
    size_t length;                /* pickle, not NUL-terminated                */
    fb_pk_value **items;          /* [count] TUPLE/LIST items; DICT: key,      */
    size_t count, capacity;       /* value, key, value, ... in insertion order */
    fb_pk_global global;          /* GLOBAL                                    */
    fb_st_dtype dtype;            /* GLOBAL storage type, STORAGE              */
    const fb_pk_value *key;       /* STORAGE: its key (a STRING)               */
    int64_t numel;                /* STORAGE: elements                         */
    const fb_pk_value *storage;   /* TENSOR                                    */
    int64_t offset;               /* TENSOR: first element in the storage      */
    int ndim;                     /* TENSOR                                    */
    int64_t shape[FB_PK_MAX_DIMS], stride[FB_PK_MAX_DIMS]; /* TENSOR, elements */
};

typedef struct fb_pickle {
    fb_pk_value **values;         /* [count] every value made (the arena)      */
    size_t count, capacity;
    const fb_pk_value *root;      /* what STOP returned                        */
} fb_pickle;

/* Runs the pickle in bytes[0, size); label names it in messages. */
fb_status fb_pickle_load(const uint8_t *bytes, size_t size, const char *label, fb_pickle *out);
void fb_pickle_free(fb_pickle *pickle);

/* The value under a string key in a DICT (last one wins, as in Python), or NULL. */
const fb_pk_value *fb_pk_dict_get(const fb_pk_value *dict, const char *key);

#endif
