/* freqbias/json.h — a small, strict JSON reader (into a tree) and a string
 * escaper for writers.
 *
 * Used for safetensors headers and for run.json. The parser accepts exactly
 * RFC 8259 JSON: objects, arrays, strings (all escapes, \uXXXX including
 * surrogate pairs, decoded to UTF-8), numbers, true, false and null, with
 * whitespace around values. It rejects everything else with a message that
 * gives the byte offset of the problem, e.g. "expected ':' after an object key
 * at byte 17". Also rejected: invalid UTF-8, unpaired surrogates, nesting
 * deeper than FB_JSON_MAX_DEPTH, and "\u0000" (strings are NUL-terminated C
 * strings). Duplicate object keys are kept; fb_json_get returns the first.
 *
 * Numbers written as plain integers (no fraction or exponent) that fit in an
 * int64 are kept exactly (fb_json_int64); every number is also available as a
 * double. Non-integers are converted with strtod, which assumes the default
 * "C" numeric locale (the program must not call setlocale(LC_NUMERIC, ...)).
 *
 * Accessors accept NULL and return 0/NULL for it or for a value of the wrong
 * type, so lookups can be chained: fb_json_get(fb_json_get(root, "a"), "b").
 */
#ifndef FREQBIAS_JSON_H
#define FREQBIAS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "freqbias/error.h"

#define FB_JSON_MAX_DEPTH 64

typedef enum fb_json_type {
    FB_JSON_NULL, FB_JSON_BOOL, FB_JSON_NUMBER, FB_JSON_STRING, FB_JSON_ARRAY, FB_JSON_OBJECT
} fb_json_type;

typedef struct fb_json fb_json;

/* Parses text[0..len) (need not be NUL-terminated) into a tree. On failure
 * returns FB_ERR_FORMAT (or FB_ERR_NOMEM), sets *out = NULL and writes the
 * reason with its byte offset into err (if err is not NULL). Does not call
 * fb_error(): the caller adds the file name. */
fb_status fb_json_parse(const char *text, size_t len, fb_json **out, char *err, size_t errlen);
/* Same, but fails with FB_ERR_FORMAT ("more than N JSON values") as soon as
 * the tree would hold more than max_values values (objects, arrays and
 * scalars; object keys are not values). Each value costs about 100 bytes, so
 * the cap bounds the memory a hostile text can take, whatever its length. */
fb_status fb_json_parse_limited(const char *text, size_t len, size_t max_values, fb_json **out,
                                char *err, size_t errlen);
void fb_json_free(fb_json *value);

fb_json_type fb_json_type_of(const fb_json *value); /* FB_JSON_NULL for NULL */
const char *fb_json_type_name(fb_json_type type);   /* "object", "string", ... */
size_t fb_json_offset(const fb_json *value);        /* byte where it starts */

/* Arrays and objects: number of elements / members (0 for anything else). */
size_t fb_json_count(const fb_json *value);
/* Array element or object member value number index (NULL if out of range). */
const fb_json *fb_json_item(const fb_json *value, size_t index);
/* Object member key number index (NULL if not an object or out of range). */
const char *fb_json_key(const fb_json *value, size_t index);
/* First member of an object with this key, or NULL. */
const fb_json *fb_json_get(const fb_json *object, const char *key);

int fb_json_bool(const fb_json *value);       /* 1 for true, else 0       */
double fb_json_number(const fb_json *value);  /* 0.0 if not a number      */
/* 1 and *out set when value is an integer literal that fits in int64. */
int fb_json_int64(const fb_json *value, int64_t *out);
const char *fb_json_string(const fb_json *value); /* NULL if not a string */

/* Writes text as a quoted JSON string into out (like snprintf: at most
 * out_size bytes including the NUL) and returns the full escaped length,
 * quotes included, NUL excluded. Escapes '"', '\\' and control characters;
 * other bytes (UTF-8) are copied unchanged. */
size_t fb_json_escape(const char *text, char *out, size_t out_size);
/* Same, to a stream. Returns 0, or -1 if the stream reports an error. */
int fb_json_write_string(FILE *stream, const char *text);

#endif
