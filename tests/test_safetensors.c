/* test_safetensors.c — tests for json.c, atomic_file.c and safetensors.c.
 *
 * JSON group: trees for nested input, every escape (\u00e9, surrogate pairs),
 * exact int64 integers, and a table of malformed inputs, each with the byte
 * offset the error must name.
 *
 * atomic_file group: an aborted write over an existing file leaves the old
 * content and no temp file; a committed one replaces it.
 *
 * safetensors group: a round trip (F32, 0-rank I64, an empty [3,0] tensor,
 * metadata with escapes) and one test per kind of corruption. Each corrupt
 * file is made by editing the bytes of a valid file in a fresh mkdtemp folder
 * under /tmp; the test checks the exact status, that the message names the
 * file and contains a key phrase, and that the reader left nothing allocated.
 * Every check prints what it checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "freqbias/atomic_file.h"
#include "freqbias/json.h"
#include "freqbias/safetensors.h"

static char temp_dir[64];
static char base_path[256];

/* ---- helpers ------------------------------------------------------------ */

static void path_in_temp(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", temp_dir, name);
}

static unsigned char *load(const char *path, size_t *size)
{
    FILE *stream = fopen(path, "rb");
    assert_non_null(stream);
    fseek(stream, 0, SEEK_END);
    long length = ftell(stream);
    fseek(stream, 0, SEEK_SET);
    unsigned char *bytes = malloc((size_t)length + 1);
    assert_non_null(bytes);
    assert_int_equal(fread(bytes, 1, (size_t)length, stream), (size_t)length);
    fclose(stream);
    bytes[length] = '\0';
    *size = (size_t)length;
    return bytes;
}

static void save(const char *path, const void *bytes, size_t size)
{
    FILE *stream = fopen(path, "wb");
    assert_non_null(stream);
    assert_int_equal(fwrite(bytes, 1, size, stream), size);
    assert_int_equal(fclose(stream), 0);
}

static uint64_t get_u64_le(const unsigned char *bytes)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = (value << 8) | bytes[i];
    return value;
}

static void put_u64_le(unsigned char *bytes, uint64_t value)
{
    for (int i = 0; i < 8; i++)
        bytes[i] = (unsigned char)(value >> (8 * i));
}

static int count_temp_files(void)
{
    DIR *dir = opendir(temp_dir);
    assert_non_null(dir);
    int count = 0;
    for (struct dirent *item; (item = readdir(dir)) != NULL;)
        count += strstr(item->d_name, ".tmp.") != NULL;
    closedir(dir);
    return count;
}

/* ---- the valid base file ------------------------------------------------ */

static const float a_values[6] = { 0.0f, 1.5f, -2.25f, 3e-8f, 1e30f, -0.0f };
static const int64_t b_value = -1234567890123LL;
static const uint8_t d_values[4] = { 1, 2, 3, 255 };
static const char *const meta_keys[] = { "format", "note" };
static const char *const meta_values[] = {
    "pt", "quote \" backslash \\ newline \n tab \t e-acute \xc3\xa9 ctrl \x01 end"
};
static const char expected_header[] =
    "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"quote \\\" backslash \\\\ newline \\n "
    "tab \\t e-acute \xc3\xa9 ctrl \\u0001 end\"},"
    "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
    "\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[24,32]},"
    "\"c\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[32,32]},"
    "\"d\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[32,36]}}";

static fb_status write_base_file(const char *path)
{
    const fb_st_tensor tensors[4] = {
        { .name = "a", .dtype = FB_ST_F32, .ndim = 2, .shape = { 2, 3 }, .data = a_values },
        { .name = "b", .dtype = FB_ST_I64, .ndim = 0, .data = &b_value },
        { .name = "c", .dtype = FB_ST_F32, .ndim = 2, .shape = { 3, 0 }, .data = NULL },
        { .name = "d", .dtype = FB_ST_U8, .ndim = 1, .shape = { 4 }, .data = d_values },
    };
    return fb_st_write(path, tensors, 4, meta_keys, meta_values, 2);
}

/* Copies the base file to `name` with the first `from` in its header
 * replaced by `to`, and the header length fixed up. Returns the new header
 * text (caller frees) so tests can compute byte offsets in it. */
static char *copy_with_header_edit(const char *name, const char *from, const char *to,
                                   char *path, size_t path_size)
{
    size_t size;
    unsigned char *bytes = load(base_path, &size);
    size_t header_length = (size_t)get_u64_le(bytes);
    char *header = calloc(1, header_length + 1);
    assert_non_null(header);
    memcpy(header, bytes + 8, header_length);
    char *found = strstr(header, from);
    assert_non_null(found);

    size_t prefix = (size_t)(found - header), new_length = header_length - strlen(from) + strlen(to);
    char *edited = calloc(1, new_length + 1);
    assert_non_null(edited);
    memcpy(edited, header, prefix);
    strcpy(edited + prefix, to);
    strcat(edited, found + strlen(from));

    size_t buffer_size = size - 8 - header_length;
    unsigned char *out = malloc(8 + new_length + buffer_size);
    assert_non_null(out);
    put_u64_le(out, new_length);
    memcpy(out + 8, edited, new_length);
    memcpy(out + 8 + new_length, bytes + 8 + header_length, buffer_size);
    path_in_temp(path, path_size, name);
    save(path, out, 8 + new_length + buffer_size);
    free(out);
    free(header);
    free(bytes);
    return edited;
}

static void expect_rejected(const char *path, fb_status code, const char *phrase, const char *what)
{
    fb_st_file file;
    memset(&file, 0xAB, sizeof file);
    fb_status status = fb_st_read(path, &file);
    const char *message = fb_error_message();
    printf("  rejects %-36s [%s] %s\n", what, fb_status_name(status), message);
    assert_int_equal(status, code);
    if (strstr(message, path) == NULL)
        fail_msg("message does not name the file %s", path);
    if (strstr(message, phrase) == NULL)
        fail_msg("message lacks the phrase \"%s\"", phrase);
    assert_null(file.entries);
    assert_null(file.buffer);
    assert_null(file.path);
    assert_int_equal(file.count, 0);
    assert_int_equal(file.meta_count, 0);
}

static void expect_header_edit_rejected(const char *name, const char *from, const char *to,
                                        const char *phrase, const char *what)
{
    char path[256];
    free(copy_with_header_edit(name, from, to, path, sizeof path));
    expect_rejected(path, FB_ERR_FORMAT, phrase, what);
}

/* ---- JSON --------------------------------------------------------------- */

/* Copies text into out with bytes outside printable ASCII as \xNN. */
static const char *printable(const char *text, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (const unsigned char *s = (const unsigned char *)text; *s != '\0' && used + 5 < size; s++)
        used += (size_t)snprintf(out + used, size - used, *s >= 0x20 && *s < 0x7f ? "%c" : "\\x%02x",
                                 *s);
    return out;
}

static fb_json *parse_ok(const char *text)
{
    char err[200];
    fb_json *root = NULL;
    fb_status status = fb_json_parse(text, strlen(text), &root, err, sizeof err);
    if (status != FB_OK)
        fail_msg("parse of %s failed: %s", text, err);
    return root;
}

static void test_json_nesting(void **state)
{
    (void)state;
    const char *text = " {\"a\": [1, {\"b\": [true, false, null]}, -2.5e3], \"c\": {}, \"a\": 7} ";
    fb_json *root = parse_ok(text);
    assert_int_equal(fb_json_type_of(root), FB_JSON_OBJECT);
    assert_int_equal(fb_json_offset(root), 1);
    assert_int_equal(fb_json_count(root), 3);
    const fb_json *a = fb_json_get(root, "a"); /* first of the duplicate keys */
    assert_int_equal(fb_json_type_of(a), FB_JSON_ARRAY);
    assert_int_equal(fb_json_count(a), 3);
    int64_t one = 0;
    assert_true(fb_json_int64(fb_json_item(a, 0), &one));
    assert_int_equal(one, 1);
    const fb_json *b = fb_json_get(fb_json_item(a, 1), "b");
    assert_int_equal(fb_json_count(b), 3);
    assert_true(fb_json_bool(fb_json_item(b, 0)));
    assert_int_equal(fb_json_type_of(fb_json_item(b, 1)), FB_JSON_BOOL);
    assert_false(fb_json_bool(fb_json_item(b, 1)));
    assert_int_equal(fb_json_type_of(fb_json_item(b, 2)), FB_JSON_NULL);
    assert_true(fb_json_number(fb_json_item(a, 2)) == -2500.0);
    assert_false(fb_json_int64(fb_json_item(a, 2), &one));
    assert_int_equal(fb_json_type_of(fb_json_get(root, "c")), FB_JSON_OBJECT);
    assert_string_equal(fb_json_key(root, 2), "a");
    assert_null(fb_json_get(root, "missing"));
    assert_null(fb_json_item(a, 3));
    assert_null(fb_json_get(fb_json_get(root, "missing"), "deeper"));
    fb_json_free(root);
    printf("  nested objects/arrays, offsets, literals, duplicate key lookup\n");
}

static void test_json_strings_and_numbers(void **state)
{
    (void)state;
    fb_json *root = parse_ok("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00\", "
                             "\"caf\xc3\xa9\", 9007199254740992, -9223372036854775808, "
                             "9223372036854775808, 0, -0, 1.0, 1E-2]");
    assert_string_equal(fb_json_string(fb_json_item(root, 0)),
                        "\"\\/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    assert_string_equal(fb_json_string(fb_json_item(root, 1)), "caf\xc3\xa9");
    int64_t value = 0;
    assert_true(fb_json_int64(fb_json_item(root, 2), &value));
    assert_true(value == 9007199254740992LL);
    assert_true(fb_json_int64(fb_json_item(root, 3), &value));
    assert_true(value == INT64_MIN);
    assert_false(fb_json_int64(fb_json_item(root, 4), &value));
    assert_true(fb_json_number(fb_json_item(root, 4)) == 9223372036854775808.0);
    assert_true(fb_json_int64(fb_json_item(root, 5), &value) && value == 0);
    assert_true(fb_json_int64(fb_json_item(root, 6), &value) && value == 0);
    assert_false(fb_json_int64(fb_json_item(root, 7), &value));
    assert_true(fb_json_number(fb_json_item(root, 8)) == 0.01);
    assert_null(fb_json_string(fb_json_item(root, 2)));
    fb_json_free(root);
    printf("  escapes incl. \\u00e9 and a surrogate pair, UTF-8, exact int64, doubles\n");
}

static void test_json_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t offset;
        const char *phrase;
    } cases[] = {
        { "", 0, "unexpected end of input" },
        { "{\"a\":}", 5, "expected a JSON value" },
        { "[1,2", 4, "unexpected end of input" },
        { "{\"a\" 1}", 5, "':' after an object key" },
        { "[1,]", 3, "expected a JSON value" },
        { "{\"a\":1,}", 7, "a string key" },
        { "{} x", 3, "after the JSON value" },
        { "01", 1, "leading zeros" },
        { "1.", 2, "digit after '.'" },
        { "-", 1, "a digit" },
        { "1e", 2, "exponent" },
        { "1e999", 0, "out of range" },
        { "tru", 0, "expected a JSON value" },
        { "\"ab", 0, "unterminated string" },
        { "\"a\\qb\"", 2, "invalid escape" },
        { "\"\\u12g4\"", 5, "4 hex digits" },
        { "\"\\ud800x\"", 1, "high surrogate" },
        { "\"\\udc00\"", 1, "unpaired low surrogate" },
        { "\"\\u0000\"", 1, "\\u0000" },
        { "\"a\x01\"", 2, "control character" },
        { "\"\xc3\x28\"", 1, "invalid UTF-8" },
        { "\"\xc0\xaf\"", 1, "invalid UTF-8" },
        { "\"\xed\xa0\x80\"", 1, "invalid UTF-8" },
        { "[\"x\" \"y\"]", 5, "',' or ']'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[200], expected[64], shown[64];
        fb_json *root = (fb_json *)1;
        fb_status status =
            fb_json_parse(cases[i].text, strlen(cases[i].text), &root, err, sizeof err);
        printf("  rejects JSON %-16s -> %s\n", printable(cases[i].text, shown, sizeof shown), err);
        assert_int_equal(status, FB_ERR_FORMAT);
        assert_null(root);
        snprintf(expected, sizeof expected, " at byte %zu", cases[i].offset);
        if (strstr(err, expected) == NULL || strstr(err, cases[i].phrase) == NULL)
            fail_msg("case %zu: wanted \"%s\" and \"%s\", got \"%s\"", i, cases[i].phrase,
                     expected, err);
    }

    char deep[FB_JSON_MAX_DEPTH + 1], err[200];
    memset(deep, '[', sizeof deep);
    fb_json *root;
    assert_int_equal(fb_json_parse(deep, sizeof deep, &root, err, sizeof err), FB_ERR_FORMAT);
    assert_non_null(strstr(err, "nesting deeper than 64 levels at byte 64"));
    printf("  rejects 65 nested arrays -> %s\n", err);

    const char with_nul[] = { '[', '1', '\0', ']' };
    assert_int_equal(fb_json_parse(with_nul, sizeof with_nul, &root, NULL, 0), FB_ERR_FORMAT);
    assert_int_equal(fb_json_parse(with_nul, sizeof with_nul, &root, err, sizeof err),
                     FB_ERR_FORMAT);
    assert_non_null(strstr(err, "unexpected byte 0x00"));
    assert_non_null(strstr(err, "at byte 2"));
    printf("  rejects a NUL byte outside strings -> %s\n", err);
}

static void test_json_escape_writer(void **state)
{
    (void)state;
    const char *text = "a\"b\\c\n\x01\xc3\xa9";
    const char *expected = "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"";
    char out[64];
    assert_int_equal(fb_json_escape(text, out, sizeof out), strlen(expected));
    assert_string_equal(out, expected);
    assert_int_equal(fb_json_escape(text, NULL, 0), strlen(expected));
    assert_int_equal(fb_json_escape(text, out, 4), strlen(expected));
    assert_string_equal(out, "\"a\\");

    fb_json *root = parse_ok(expected);
    assert_string_equal(fb_json_string(root), text);
    fb_json_free(root);

    char *stream_text = NULL;
    size_t stream_size = 0;
    FILE *stream = open_memstream(&stream_text, &stream_size);
    assert_non_null(stream);
    assert_int_equal(fb_json_write_string(stream, text), 0);
    fclose(stream);
    assert_string_equal(stream_text, expected);
    free(stream_text);
    printf("  escapes quotes, backslash, \\n, \\u0001; keeps UTF-8; truncates like snprintf\n");
}

/* ---- atomic_file -------------------------------------------------------- */

static void test_atomic_abort_keeps_old_content(void **state)
{
    (void)state;
    char path[256], temp_copy[300];
    path_in_temp(path, sizeof path, "atomic.txt");
    save(path, "old content", 11);

    fb_atomic_file out;
    assert_int_equal(fb_atomic_open(path, &out), FB_OK);
    assert_int_equal(strncmp(out.temp_path, path, strlen(path)), 0);
    assert_int_equal(strncmp(out.temp_path + strlen(path), ".tmp.", 5), 0);
    snprintf(temp_copy, sizeof temp_copy, "%s", out.temp_path);
    fputs("new content, longer than the old", out.stream);
    fflush(out.stream);
    assert_int_equal(access(temp_copy, F_OK), 0);
    fb_atomic_abort(&out);
    assert_null(out.stream);
    fb_atomic_abort(&out); /* a second abort is harmless */

    size_t size;
    unsigned char *bytes = load(path, &size);
    assert_int_equal(size, 11);
    assert_memory_equal(bytes, "old content", 11);
    free(bytes);
    assert_int_not_equal(access(temp_copy, F_OK), 0);
    assert_int_equal(count_temp_files(), 0);
    printf("  aborted write over %s: old content intact, temp removed\n", path);

    assert_int_equal(fb_atomic_open(path, &out), FB_OK);
    fputs("new", out.stream);
    assert_int_equal(fb_atomic_commit(&out), FB_OK);
    bytes = load(path, &size);
    assert_int_equal(size, 3);
    assert_memory_equal(bytes, "new", 3);
    free(bytes);
    assert_int_equal(count_temp_files(), 0);
    printf("  committed write: content replaced, no temp left\n");

    const char *missing = "/nonexistent-folder-for-freqbias/x.bin";
    assert_int_equal(fb_atomic_open(missing, &out), FB_ERR_IO);
    assert_non_null(strstr(fb_error_message(), missing));
    assert_non_null(strstr(fb_error_message(), "No such file or directory"));
    printf("  open in a missing folder -> %s\n", fb_error_message());
}

/* ---- safetensors: round trips ------------------------------------------- */

static void test_round_trip(void **state)
{
    (void)state;
    size_t size;
    unsigned char *bytes = load(base_path, &size);
    uint64_t header_length = get_u64_le(bytes);
    assert_int_equal(header_length % 8, 0);
    assert_int_equal(size, 8 + header_length + 36);
    size_t text_length = strlen(expected_header);
    assert_true(header_length >= text_length && header_length < text_length + 8);
    assert_memory_equal(bytes + 8, expected_header, text_length);
    for (size_t i = text_length; i < header_length; i++)
        assert_int_equal(bytes[8 + i], ' ');
    free(bytes);
    printf("  header is exactly as expected, space-padded to %llu bytes\n",
           (unsigned long long)header_length);

    fb_st_file file;
    assert_int_equal(fb_st_read(base_path, &file), FB_OK);
    assert_string_equal(file.path, base_path);
    assert_int_equal(file.count, 4);
    assert_int_equal(file.buffer_size, 36);
    const char *names[4] = { "a", "b", "c", "d" };
    for (int i = 0; i < 4; i++)
        assert_string_equal(file.entries[i].name, names[i]);

    const fb_st_entry *a = fb_st_find(&file, "a");
    assert_int_equal(a->dtype, FB_ST_F32);
    assert_int_equal(a->ndim, 2);
    assert_int_equal(a->shape[0], 2);
    assert_int_equal(a->shape[1], 3);
    assert_int_equal(fb_st_numel(a), 6);
    assert_memory_equal(a->data, a_values, sizeof a_values);

    const fb_st_entry *b = fb_st_find(&file, "b");
    assert_int_equal(b->dtype, FB_ST_I64);
    assert_int_equal(b->ndim, 0);
    assert_int_equal(fb_st_numel(b), 1);
    int64_t b_read;
    memcpy(&b_read, b->data, sizeof b_read);
    assert_true(b_read == b_value);

    const fb_st_entry *c = fb_st_find(&file, "c");
    assert_int_equal(fb_st_numel(c), 0);
    assert_int_equal(c->begin, c->end);

    const fb_st_entry *d = fb_st_find(&file, "d");
    assert_int_equal(d->dtype, FB_ST_U8);
    assert_memory_equal(d->data, d_values, 4);
    assert_null(fb_st_find(&file, "e"));

    assert_int_equal(file.meta_count, 2);
    assert_string_equal(fb_st_meta(&file, "format"), "pt");
    assert_string_equal(fb_st_meta(&file, "note"), meta_values[1]);
    assert_null(fb_st_meta(&file, "absent"));
    assert_string_equal(fb_st_dtype_name(FB_ST_BF16), "BF16");
    assert_int_equal(fb_st_dtype_size(FB_ST_F64), 8);
    fb_st_free(&file);
    printf("  round trip: F32 [2,3], I64 0-rank, F32 [3,0] empty, U8 [4], escaped metadata\n");
}

static void test_round_trip_empty_and_overwrite(void **state)
{
    (void)state;
    char path[256];
    path_in_temp(path, sizeof path, "empty.safetensors");
    assert_int_equal(write_base_file(path), FB_OK);
    assert_int_equal(fb_st_write(path, NULL, 0, NULL, NULL, 0), FB_OK); /* overwrites */
    size_t size;
    unsigned char *bytes = load(path, &size);
    assert_int_equal(size, 16);
    assert_memory_equal(bytes + 8, "{}      ", 8);
    free(bytes);
    fb_st_file file;
    assert_int_equal(fb_st_read(path, &file), FB_OK);
    assert_int_equal(file.count, 0);
    assert_int_equal(file.meta_count, 0);
    assert_int_equal(file.buffer_size, 0);
    fb_st_free(&file);
    assert_int_equal(count_temp_files(), 0);
    printf("  no tensors: header \"{}\" padded to 8; overwrote an existing file\n");
}

static void test_writer_rejects_bad_input(void **state)
{
    (void)state;
    char path[256];
    path_in_temp(path, sizeof path, "never.safetensors");
    const float value = 1.0f;
    fb_st_tensor twins[2] = {
        { .name = "w", .dtype = FB_ST_F32, .ndim = 0, .data = &value },
        { .name = "w", .dtype = FB_ST_F32, .ndim = 0, .data = &value },
    };
    assert_int_equal(fb_st_write(path, twins, 2, NULL, NULL, 0), FB_ERR_USAGE);
    assert_non_null(strstr(fb_error_message(), "duplicate tensor name 'w'"));
    printf("  writer: %s\n", fb_error_message());
    twins[1].name = "__metadata__";
    assert_int_equal(fb_st_write(path, twins, 2, NULL, NULL, 0), FB_ERR_USAGE);
    printf("  writer: %s\n", fb_error_message());
    twins[1].name = "bad\xff";
    assert_int_equal(fb_st_write(path, twins, 2, NULL, NULL, 0), FB_ERR_USAGE);
    assert_non_null(strstr(fb_error_message(), "invalid UTF-8"));
    printf("  writer: %s\n", fb_error_message());
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(count_temp_files(), 0);
}

/* ---- safetensors: corrupt files ----------------------------------------- */

static void test_rejects_truncated(void **state)
{
    (void)state;
    size_t size;
    unsigned char *bytes = load(base_path, &size);
    char path[256];
    path_in_temp(path, sizeof path, "short.safetensors");
    save(path, bytes, 5);
    expect_rejected(path, FB_ERR_FORMAT, "truncated", "file cut to 5 bytes");
    path_in_temp(path, sizeof path, "cut.safetensors");
    save(path, bytes, size - 2);
    expect_rejected(path, FB_ERR_FORMAT,
                    "tensor 'd': data_offsets [32,36] extend past the end of the data buffer "
                    "(34 bytes)", "file missing its last 2 bytes");
    free(bytes);
    path_in_temp(path, sizeof path, "missing.safetensors");
    expect_rejected(path, FB_ERR_IO, "cannot open", "a missing file");
}

static void test_rejects_bad_header_length(void **state)
{
    (void)state;
    size_t size;
    unsigned char *bytes = load(base_path, &size);
    char path[256];
    put_u64_le(bytes, size);
    path_in_temp(path, sizeof path, "long_header.safetensors");
    save(path, bytes, size);
    expect_rejected(path, FB_ERR_FORMAT, "is larger than the file", "header length > file");
    put_u64_le(bytes, (uint64_t)FB_ST_MAX_HEADER + 1);
    path_in_temp(path, sizeof path, "huge_header.safetensors");
    save(path, bytes, size);
    expect_rejected(path, FB_ERR_FORMAT, "exceeds the limit of 8388608 bytes",
                    "header length above the cap");
    free(bytes);
}

static void test_rejects_bad_json(void **state)
{
    (void)state;
    char path[256], phrase[64];
    char *header = copy_with_header_edit("bad_json.safetensors", "\"b\":{", "\"b\" {", path,
                                         sizeof path);
    size_t offset = (size_t)(strstr(header, "\"b\" {") - header) + 4;
    free(header);
    snprintf(phrase, sizeof phrase, "':' after an object key at byte %zu", offset);
    expect_rejected(path, FB_ERR_FORMAT, phrase, "non-JSON header");
    expect_header_edit_rejected("bracket.safetensors", "{\"__metadata__\"", "[\"__metadata__\"",
                                "header does not start with '{'", "header starting with '['");
}

static void test_rejects_bad_entries(void **state)
{
    (void)state;
    expect_header_edit_rejected("dtype.safetensors", "\"a\":{\"dtype\":\"F32\"",
                                "\"a\":{\"dtype\":\"F31\"", "tensor 'a': unknown dtype 'F31'",
                                "unknown dtype");
    expect_header_edit_rejected("shape.safetensors", "\"shape\":[2,3]", "\"shape\":[2,4]",
                                "tensor 'a': data_offsets [0,24] do not match shape [2,4] "
                                "\xc3\x97 F32 (32 bytes)", "offsets not matching the shape");
    expect_header_edit_rejected("negative.safetensors", "\"shape\":[2,3]", "\"shape\":[-2,3]",
                                "tensor 'a': shape entries must be non-negative",
                                "negative dimension");
    expect_header_edit_rejected("missing_key.safetensors", "\"shape\":[2,3],", "",
                                "tensor 'a': missing 'shape'", "entry without a shape");
    expect_header_edit_rejected("extra_key.safetensors", "\"shape\":[2,3],",
                                "\"shape\":[2,3],\"stride\":[3,1],",
                                "tensor 'a': unexpected key 'stride'", "entry with an extra key");
    expect_header_edit_rejected("reversed.safetensors", "[0,24]", "[24,0]",
                                "have begin after end", "reversed offsets");
    expect_header_edit_rejected("meta_type.safetensors", "\"format\":\"pt\"", "\"format\":7",
                                "__metadata__ value for key 'format' is a number, not a string",
                                "non-string metadata value");
}

static void test_rejects_bad_layout(void **state)
{
    (void)state;
    expect_header_edit_rejected("overlap.safetensors", "\"shape\":[4],\"data_offsets\":[32,36]",
                                "\"shape\":[4],\"data_offsets\":[28,32]",
                                "tensor 'd': data_offsets [28,32] overlap tensor 'b' [24,32]",
                                "overlapping tensors");
    expect_header_edit_rejected("hole.safetensors",
                                "\"I64\",\"shape\":[],\"data_offsets\":[24,32]",
                                "\"I32\",\"shape\":[],\"data_offsets\":[24,28]",
                                "hole in the data buffer: bytes [28,32)", "hole between tensors");
    expect_header_edit_rejected("past_end.safetensors", "\"shape\":[4],\"data_offsets\":[32,36]",
                                "\"shape\":[8],\"data_offsets\":[32,40]",
                                "tensor 'd': data_offsets [32,40] extend past the end",
                                "offsets past the end");
    expect_header_edit_rejected("duplicate.safetensors", "\"d\":{", "\"a\":{",
                                "duplicate tensor name 'a'", "duplicate names");

    size_t size;
    unsigned char *bytes = load(base_path, &size);
    unsigned char *longer = calloc(1, size + 4);
    assert_non_null(longer);
    memcpy(longer, bytes, size);
    char path[256];
    path_in_temp(path, sizeof path, "tail.safetensors");
    save(path, longer, size + 4);
    expect_rejected(path, FB_ERR_FORMAT, "bytes [36,40) at the end belong to no tensor",
                    "4 unused bytes at the end");
    free(longer);
    free(bytes);
}

/* ---- fixture ------------------------------------------------------------ */

static int make_temp_dir(void **state)
{
    (void)state;
    snprintf(temp_dir, sizeof temp_dir, "/tmp/fb_test_safetensors.XXXXXX");
    if (mkdtemp(temp_dir) == NULL)
        return -1;
    path_in_temp(base_path, sizeof base_path, "base.safetensors");
    if (write_base_file(base_path) != FB_OK) {
        fprintf(stderr, "cannot write the base file: %s\n", fb_error_message());
        return -1;
    }
    return 0;
}

static int remove_temp_dir(void **state)
{
    (void)state;
    DIR *dir = opendir(temp_dir);
    if (dir == NULL)
        return -1;
    char path[512];
    for (struct dirent *item; (item = readdir(dir)) != NULL;) {
        if (strcmp(item->d_name, ".") == 0 || strcmp(item->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", temp_dir, item->d_name);
        unlink(path);
    }
    closedir(dir);
    return rmdir(temp_dir);
}

int main(void)
{
    const struct CMUnitTest json_tests[] = {
        cmocka_unit_test(test_json_nesting),
        cmocka_unit_test(test_json_strings_and_numbers),
        cmocka_unit_test(test_json_malformed),
        cmocka_unit_test(test_json_escape_writer),
    };
    const struct CMUnitTest file_tests[] = {
        cmocka_unit_test(test_atomic_abort_keeps_old_content),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_empty_and_overwrite),
        cmocka_unit_test(test_writer_rejects_bad_input),
        cmocka_unit_test(test_rejects_truncated),
        cmocka_unit_test(test_rejects_bad_header_length),
        cmocka_unit_test(test_rejects_bad_json),
        cmocka_unit_test(test_rejects_bad_entries),
        cmocka_unit_test(test_rejects_bad_layout),
    };
    int failures = cmocka_run_group_tests_name("json", json_tests, NULL, NULL);
    failures += cmocka_run_group_tests_name("safetensors", file_tests, make_temp_dir,
                                            remove_temp_dir);
    return failures != 0;
}
