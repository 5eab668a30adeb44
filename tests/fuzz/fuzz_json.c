/* fuzz_json.c — the strict JSON parser on arbitrary bytes, then every
 * accessor over the whole tree, and the escaper on the bytes as a string.
 * On success a tree has at most one value per input byte. */
#include <stdlib.h>
#include <string.h>

#include "freqbias/json.h"
#include "fuzz.h"

/* Number of values in the tree, touching every accessor on the way. */
static size_t walk(const fb_json *value)
{
    size_t values = 1;
    fb_json_type type = fb_json_type_of(value);
    fuzz_check(fb_json_type_name(type) != NULL, "type without a name");
    int64_t integer;
    fb_json_int64(value, &integer);
    (void)fb_json_number(value);
    (void)fb_json_bool(value);
    if (type == FB_JSON_STRING)
        fuzz_check(fb_json_string(value) != NULL, "string without text");
    for (size_t i = 0; i < fb_json_count(value); i++) {
        if (type == FB_JSON_OBJECT) {
            const char *key = fb_json_key(value, i);
            fuzz_check(key != NULL && fb_json_get(value, key) != NULL, "key cannot be looked up");
        }
        values += walk(fb_json_item(value, i));
    }
    return values;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fb_json *root = NULL;
    char reason[256];
    if (fb_json_parse((const char *)data, size, &root, reason, sizeof reason) == FB_OK) {
        fuzz_check(walk(root) <= size, "more values than input bytes");
        fb_json_free(root);
    }
    if (fb_json_parse_limited((const char *)data, size, 8, &root, reason, sizeof reason) == FB_OK) {
        fuzz_check(walk(root) <= 8, "the value limit was not kept");
        fb_json_free(root);
    }
    char *text = malloc(size + 1); /* [size + 1] the bytes as a C string */
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char small[16];
    size_t length = fb_json_escape(text, small, sizeof small);
    char *escaped = malloc(length + 1); /* [length + 1] */
    if (escaped) {
        fuzz_check(fb_json_escape(text, escaped, length + 1) == length, "escape lengths differ");
        fuzz_check(strlen(escaped) == length, "escaped text has the wrong length");
    }
    free(escaped);
    free(text);
    return 0;
}
