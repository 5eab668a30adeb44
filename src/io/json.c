/* json.c — a strict recursive-descent JSON parser that builds a small tree,
 * plus the string escaper writers use.
 *
 * Grammar (RFC 8259), with ws = any of space, tab, CR, LF:
 *   value  = ws (object | array | string | number | true | false | null) ws
 *   object = '{' [ string ':' value (',' string ':' value)* ] '}'
 *   array  = '[' [ value (',' value)* ] ']'
 *   number = ['-'] ('0' | [1-9][0-9]*) ['.' [0-9]+] [('e'|'E') ['+'|'-'] [0-9]+]
 *   string = '"' (UTF-8 char except '"', '\' and U+0000..U+001F | escape)* '"'
 *   escape = '\' ('"' | '\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' | 'u' 4 hex)
 *
 * What is validated beyond the grammar: UTF-8 in strings (no overlong forms,
 * no surrogates, nothing above U+10FFFF), \u surrogate pairs (a high one must
 * be followed by a low one), no "\u0000", nesting depth <= FB_JSON_MAX_DEPTH
 * (so the recursion here is bounded), numbers that overflow a double.
 *
 * Memory: every value becomes a node of about 100 bytes, so a text of N bytes
 * can make up to N/2 nodes ("[0,0,0,...") — 50 bytes of memory per byte of
 * text. Readers of files from elsewhere (safetensors headers, stage records)
 * call fb_json_parse_limited with a cap on the number of values that follows
 * from what their format can hold, so a hostile text fails at the cap, after
 * a bounded amount of memory, instead of growing with its length.
 *
 * Every node remembers the byte offset where it starts, so callers can point
 * at the problem too. Errors are written as "<what is wrong> at byte <N>".
 */
#include "freqbias/json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct fb_json {
    fb_json_type type;
    size_t offset;
    int boolean;
    double number;
    int is_integer;        /* integer literal that fits in int64 */
    int64_t integer;
    char *string;          /* strings: decoded UTF-8, NUL-terminated */
    size_t count, capacity;
    fb_json **items;       /* arrays and objects: the values */
    char **keys;           /* objects only: the keys */
};

typedef struct parser {
    const char *text;
    size_t length;
    size_t position;
    int depth;
    size_t values, max_values; /* nodes made so far, and the caller's cap */
    char *err;
    size_t errlen;
} parser;

static fb_status parse_value(parser *p, fb_json **out);

static fb_status fail_at(parser *p, fb_status code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static fb_status fail_at(parser *p, fb_status code, size_t offset, const char *fmt, ...)
{
    if (p->err != NULL && p->errlen > 0) {
        va_list args;
        va_start(args, fmt);
        int used = vsnprintf(p->err, p->errlen, fmt, args);
        va_end(args);
        if (used >= 0 && (size_t)used < p->errlen)
            snprintf(p->err + used, p->errlen - (size_t)used, " at byte %zu", offset);
    }
    return code;
}

static fb_status fail_nomem(parser *p)
{
    return fail_at(p, FB_ERR_NOMEM, p->position, "out of memory");
}

/* Reports the character at the current position, or the end of the input. */
static fb_status fail_unexpected(parser *p, const char *expected)
{
    if (p->position >= p->length)
        return fail_at(p, FB_ERR_FORMAT, p->position, "unexpected end of input, expected %s",
                       expected);
    unsigned char c = (unsigned char)p->text[p->position];
    if (c >= 0x20 && c < 0x7f)
        return fail_at(p, FB_ERR_FORMAT, p->position, "unexpected character '%c', expected %s",
                       c, expected);
    return fail_at(p, FB_ERR_FORMAT, p->position, "unexpected byte 0x%02x, expected %s", c,
                   expected);
}

static void skip_whitespace(parser *p)
{
    while (p->position < p->length) {
        char c = p->text[p->position];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->position++;
    }
}

static int peek(const parser *p)
{
    return p->position < p->length ? (unsigned char)p->text[p->position] : -1;
}

static fb_json *new_node(fb_json_type type, size_t offset)
{
    fb_json *node = calloc(1, sizeof *node);
    if (node != NULL) {
        node->type = type;
        node->offset = offset;
    }
    return node;
}

/* Appends a value (and, for objects, its key) to a container; takes ownership
 * of both only on success. */
static int append_child(fb_json *container, char *key, fb_json *value)
{
    if (container->count == container->capacity) {
        size_t capacity = container->capacity ? 2 * container->capacity : 4;
        fb_json **items = realloc(container->items, capacity * sizeof *items);
        if (items == NULL)
            return 0;
        container->items = items;
        if (container->type == FB_JSON_OBJECT) {
            char **keys = realloc(container->keys, capacity * sizeof *keys);
            if (keys == NULL)
                return 0;
            container->keys = keys;
        }
        container->capacity = capacity;
    }
    container->items[container->count] = value;
    if (container->type == FB_JSON_OBJECT)
        container->keys[container->count] = key;
    container->count++;
    return 1;
}

/* ---- strings ------------------------------------------------------------ */

static size_t encode_utf8(uint32_t code_point, char *out)
{
    if (code_point < 0x80) {
        out[0] = (char)code_point;
        return 1;
    }
    if (code_point < 0x800) {
        out[0] = (char)(0xC0 | (code_point >> 6));
        out[1] = (char)(0x80 | (code_point & 0x3F));
        return 2;
    }
    if (code_point < 0x10000) {
        out[0] = (char)(0xE0 | (code_point >> 12));
        out[1] = (char)(0x80 | ((code_point >> 6) & 0x3F));
        out[2] = (char)(0x80 | (code_point & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (code_point >> 18));
    out[1] = (char)(0x80 | ((code_point >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((code_point >> 6) & 0x3F));
    out[3] = (char)(0x80 | (code_point & 0x3F));
    return 4;
}

/* Reads the 4 hex digits of a \u escape whose backslash is at p->position. */
static fb_status read_hex4(parser *p, uint32_t *out)
{
    uint32_t value = 0;
    for (size_t i = 2; i < 6; i++) {
        size_t at = p->position + i;
        int c = at < p->length ? (unsigned char)p->text[at] : -1;
        int digit;
        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (c >= 'a' && c <= 'f')
            digit = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            digit = c - 'A' + 10;
        else
            return fail_at(p, FB_ERR_FORMAT, at, "\\u escape needs 4 hex digits");
        value = value * 16 + (uint32_t)digit;
    }
    *out = value;
    return FB_OK;
}

/* Decodes one \ escape at p->position into out; advances past it. */
static fb_status decode_escape(parser *p, char *out, size_t *written)
{
    char simple;
    switch (p->text[p->position + 1]) {
    case '"': simple = '"'; break;
    case '\\': simple = '\\'; break;
    case '/': simple = '/'; break;
    case 'b': simple = '\b'; break;
    case 'f': simple = '\f'; break;
    case 'n': simple = '\n'; break;
    case 'r': simple = '\r'; break;
    case 't': simple = '\t'; break;
    case 'u': simple = 0; break;
    default: return fail_at(p, FB_ERR_FORMAT, p->position, "invalid escape sequence");
    }
    if (simple != 0) {
        out[0] = simple;
        *written = 1;
        p->position += 2;
        return FB_OK;
    }

    size_t start = p->position;
    uint32_t code_point = 0;
    FB_TRY(read_hex4(p, &code_point));
    p->position += 6;
    if (code_point >= 0xDC00 && code_point <= 0xDFFF)
        return fail_at(p, FB_ERR_FORMAT, start, "unpaired low surrogate in \\u escape");
    if (code_point >= 0xD800 && code_point <= 0xDBFF) {
        uint32_t low = 0;
        if (p->position + 1 >= p->length || p->text[p->position] != '\\' ||
            p->text[p->position + 1] != 'u' || read_hex4(p, &low) != FB_OK ||
            low < 0xDC00 || low > 0xDFFF)
            return fail_at(p, FB_ERR_FORMAT, start, "high surrogate not followed by a low one");
        p->position += 6;
        code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
    }
    if (code_point == 0)
        return fail_at(p, FB_ERR_FORMAT, start, "\\u0000 is not supported in strings");
    *written = encode_utf8(code_point, out);
    return FB_OK;
}

/* Checks one raw UTF-8 sequence at p->position, copies it, advances. */
static fb_status copy_utf8(parser *p, char *out, size_t *written)
{
    const unsigned char *s = (const unsigned char *)p->text + p->position;
    size_t available = p->length - p->position;
    size_t length;
    uint32_t code_point, minimum;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        length = 2, code_point = s[0] & 0x1Fu, minimum = 0x80;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        length = 3, code_point = s[0] & 0x0Fu, minimum = 0x800;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        length = 4, code_point = s[0] & 0x07u, minimum = 0x10000;
    } else {
        return fail_at(p, FB_ERR_FORMAT, p->position, "invalid UTF-8 in string");
    }
    for (size_t i = 1; i < length; i++) {
        if (i >= available || (s[i] & 0xC0) != 0x80)
            return fail_at(p, FB_ERR_FORMAT, p->position, "invalid UTF-8 in string");
        code_point = (code_point << 6) | (s[i] & 0x3Fu);
    }
    if (code_point < minimum || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF))
        return fail_at(p, FB_ERR_FORMAT, p->position, "invalid UTF-8 in string");
    memcpy(out, s, length);
    *written = length;
    p->position += length;
    return FB_OK;
}

/* Parses a string starting at the '"' at p->position into a new buffer. */
static fb_status parse_string(parser *p, char **out)
{
    size_t start = p->position;
    /* First pass: find the closing quote to size the buffer; the decoded
     * text is never longer than the raw text between the quotes. */
    size_t end = start + 1;
    while (end < p->length && p->text[end] != '"')
        end += p->text[end] == '\\' ? 2 : 1;
    if (end >= p->length)
        return fail_at(p, FB_ERR_FORMAT, start, "unterminated string");

    char *buffer = malloc(end - start);
    if (buffer == NULL)
        return fail_nomem(p);
    size_t used = 0;
    p->position = start + 1;
    while (p->text[p->position] != '"') {
        unsigned char c = (unsigned char)p->text[p->position];
        size_t written = 1;
        fb_status status = FB_OK;
        if (c < 0x20) {
            status = fail_at(p, FB_ERR_FORMAT, p->position,
                             "control character 0x%02x in string (must be escaped)", c);
        } else if (c == '\\') {
            status = decode_escape(p, buffer + used, &written);
        } else if (c >= 0x80) {
            status = copy_utf8(p, buffer + used, &written);
        } else {
            buffer[used] = (char)c;
            p->position++;
        }
        if (status != FB_OK) {
            free(buffer);
            return status;
        }
        used += written;
    }
    p->position++; /* the closing quote */
    buffer[used] = '\0';
    *out = buffer;
    return FB_OK;
}

/* ---- numbers and literals ----------------------------------------------- */

static size_t skip_digits(parser *p)
{
    size_t count = 0;
    while (peek(p) >= '0' && peek(p) <= '9') {
        p->position++;
        count++;
    }
    return count;
}

static fb_status parse_number(parser *p, fb_json *node)
{
    size_t start = p->position;
    int negative = peek(p) == '-';
    if (negative)
        p->position++;
    if (peek(p) == '0') {
        p->position++;
        if (peek(p) >= '0' && peek(p) <= '9')
            return fail_at(p, FB_ERR_FORMAT, p->position, "leading zeros are not allowed");
    } else if (skip_digits(p) == 0) {
        return fail_unexpected(p, "a digit");
    }
    int is_integer = 1;
    if (peek(p) == '.') {
        is_integer = 0;
        p->position++;
        if (skip_digits(p) == 0)
            return fail_unexpected(p, "a digit after '.'");
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        is_integer = 0;
        p->position++;
        if (peek(p) == '+' || peek(p) == '-')
            p->position++;
        if (skip_digits(p) == 0)
            return fail_unexpected(p, "a digit in the exponent");
    }

    size_t length = p->position - start;
    char *token = malloc(length + 1);
    if (token == NULL)
        return fail_nomem(p);
    memcpy(token, p->text + start, length);
    token[length] = '\0';
    errno = 0;
    node->number = strtod(token, NULL);
    int out_of_range = errno == ERANGE && isinf(node->number);
    free(token);
    if (out_of_range)
        return fail_at(p, FB_ERR_FORMAT, start, "number out of range");

    if (is_integer) {
        /* Accumulate as a negative value so INT64_MIN fits too. */
        int64_t value = 0;
        node->is_integer = 1;
        for (size_t i = start + (size_t)negative; i < p->position; i++) {
            int digit = p->text[i] - '0';
            if (value < (INT64_MIN + digit) / 10) {
                node->is_integer = 0;
                break;
            }
            value = value * 10 - digit;
        }
        if (node->is_integer && !negative) {
            if (value == INT64_MIN)
                node->is_integer = 0;
            else
                value = -value;
        }
        node->integer = value;
    }
    return FB_OK;
}

static int match_word(parser *p, const char *word)
{
    size_t length = strlen(word);
    if (p->length - p->position < length || memcmp(p->text + p->position, word, length) != 0)
        return 0;
    p->position += length;
    return 1;
}

/* ---- containers --------------------------------------------------------- */

static fb_status parse_array(parser *p, fb_json *node)
{
    p->position++; /* '[' */
    skip_whitespace(p);
    if (peek(p) == ']') {
        p->position++;
        return FB_OK;
    }
    for (;;) {
        fb_json *item;
        FB_TRY(parse_value(p, &item));
        if (!append_child(node, NULL, item)) {
            fb_json_free(item);
            return fail_nomem(p);
        }
        if (peek(p) == ']') {
            p->position++;
            return FB_OK;
        }
        if (peek(p) != ',')
            return fail_unexpected(p, "',' or ']' in array");
        p->position++;
    }
}

static fb_status parse_object(parser *p, fb_json *node)
{
    p->position++; /* '{' */
    skip_whitespace(p);
    if (peek(p) == '}') {
        p->position++;
        return FB_OK;
    }
    for (;;) {
        if (peek(p) != '"')
            return fail_unexpected(p, "a string key in object");
        char *key;
        FB_TRY(parse_string(p, &key));
        skip_whitespace(p);
        if (peek(p) != ':') {
            free(key);
            return fail_unexpected(p, "':' after an object key");
        }
        p->position++;
        fb_json *value;
        fb_status status = parse_value(p, &value);
        if (status != FB_OK) {
            free(key);
            return status;
        }
        if (!append_child(node, key, value)) {
            free(key);
            fb_json_free(value);
            return fail_nomem(p);
        }
        if (peek(p) == '}') {
            p->position++;
            return FB_OK;
        }
        if (peek(p) != ',')
            return fail_unexpected(p, "',' or '}' in object");
        p->position++;
        skip_whitespace(p);
    }
}

/* Parses one value with the whitespace around it. */
static fb_status parse_value(parser *p, fb_json **out)
{
    *out = NULL;
    skip_whitespace(p);
    int c = peek(p);
    fb_json_type type;
    if (c == '{')
        type = FB_JSON_OBJECT;
    else if (c == '[')
        type = FB_JSON_ARRAY;
    else if (c == '"')
        type = FB_JSON_STRING;
    else if (c == '-' || (c >= '0' && c <= '9'))
        type = FB_JSON_NUMBER;
    else if (c == 't' || c == 'f')
        type = FB_JSON_BOOL;
    else if (c == 'n')
        type = FB_JSON_NULL;
    else
        return fail_unexpected(p, "a JSON value");

    if (p->values == p->max_values)
        return fail_at(p, FB_ERR_FORMAT, p->position, "more than %zu JSON values (the limit here)",
                       p->max_values);
    p->values++;
    fb_json *node = new_node(type, p->position);
    if (node == NULL)
        return fail_nomem(p);
    fb_status status = FB_OK;
    if (type == FB_JSON_OBJECT || type == FB_JSON_ARRAY) {
        if (++p->depth > FB_JSON_MAX_DEPTH)
            status = fail_at(p, FB_ERR_FORMAT, p->position, "nesting deeper than %d levels",
                             FB_JSON_MAX_DEPTH);
        else
            status = type == FB_JSON_OBJECT ? parse_object(p, node) : parse_array(p, node);
        p->depth--;
    } else if (type == FB_JSON_STRING) {
        status = parse_string(p, &node->string);
    } else if (type == FB_JSON_NUMBER) {
        status = parse_number(p, node);
    } else if (type == FB_JSON_BOOL) {
        node->boolean = match_word(p, "true");
        if (!node->boolean && !match_word(p, "false"))
            status = fail_unexpected(p, "a JSON value");
    } else if (!match_word(p, "null")) {
        status = fail_unexpected(p, "a JSON value");
    }
    if (status != FB_OK) {
        fb_json_free(node);
        return status;
    }
    skip_whitespace(p);
    *out = node;
    return FB_OK;
}

fb_status fb_json_parse(const char *text, size_t len, fb_json **out, char *err, size_t errlen)
{
    return fb_json_parse_limited(text, len, SIZE_MAX, out, err, errlen);
}

fb_status fb_json_parse_limited(const char *text, size_t len, size_t max_values, fb_json **out,
                                char *err, size_t errlen)
{
    parser p = { .text = text, .length = len, .max_values = max_values, .err = err,
                 .errlen = errlen };
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    *out = NULL;
    fb_json *root;
    FB_TRY(parse_value(&p, &root));
    if (p.position != p.length) {
        fb_json_free(root);
        return fail_unexpected(&p, "the end of input after the JSON value");
    }
    *out = root;
    return FB_OK;
}

void fb_json_free(fb_json *value)
{
    if (value == NULL)
        return;
    for (size_t i = 0; i < value->count; i++) {
        fb_json_free(value->items[i]);
        if (value->keys != NULL)
            free(value->keys[i]);
    }
    free(value->items);
    free(value->keys);
    free(value->string);
    free(value);
}

/* ---- accessors ---------------------------------------------------------- */

fb_json_type fb_json_type_of(const fb_json *value)
{
    return value != NULL ? value->type : FB_JSON_NULL;
}

const char *fb_json_type_name(fb_json_type type)
{
    switch (type) {
    case FB_JSON_NULL: return "null";
    case FB_JSON_BOOL: return "boolean";
    case FB_JSON_NUMBER: return "number";
    case FB_JSON_STRING: return "string";
    case FB_JSON_ARRAY: return "array";
    case FB_JSON_OBJECT: return "object";
    }
    return "unknown";
}

size_t fb_json_offset(const fb_json *value) { return value != NULL ? value->offset : 0; }

size_t fb_json_count(const fb_json *value) { return value != NULL ? value->count : 0; }

const fb_json *fb_json_item(const fb_json *value, size_t index)
{
    return value != NULL && index < value->count ? value->items[index] : NULL;
}

const char *fb_json_key(const fb_json *value, size_t index)
{
    if (value == NULL || value->type != FB_JSON_OBJECT || index >= value->count)
        return NULL;
    return value->keys[index];
}

const fb_json *fb_json_get(const fb_json *object, const char *key)
{
    if (object == NULL || object->type != FB_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < object->count; i++)
        if (strcmp(object->keys[i], key) == 0)
            return object->items[i];
    return NULL;
}

int fb_json_bool(const fb_json *value)
{
    return value != NULL && value->type == FB_JSON_BOOL && value->boolean;
}

double fb_json_number(const fb_json *value)
{
    return value != NULL && value->type == FB_JSON_NUMBER ? value->number : 0.0;
}

int fb_json_int64(const fb_json *value, int64_t *out)
{
    if (value == NULL || value->type != FB_JSON_NUMBER || !value->is_integer)
        return 0;
    *out = value->integer;
    return 1;
}

const char *fb_json_string(const fb_json *value)
{
    return value != NULL && value->type == FB_JSON_STRING ? value->string : NULL;
}

/* ---- writing ------------------------------------------------------------ */

/* The escaped form of one byte (without quotes) into piece; returns length. */
static size_t escape_byte(unsigned char c, char piece[6])
{
    static const char hex[] = "0123456789abcdef";
    const char *named = NULL;
    switch (c) {
    case '"': named = "\\\""; break;
    case '\\': named = "\\\\"; break;
    case '\b': named = "\\b"; break;
    case '\f': named = "\\f"; break;
    case '\n': named = "\\n"; break;
    case '\r': named = "\\r"; break;
    case '\t': named = "\\t"; break;
    default: break;
    }
    if (named != NULL) {
        memcpy(piece, named, 2);
        return 2;
    }
    if (c < 0x20) {
        memcpy(piece, "\\u00", 4);
        piece[4] = hex[c >> 4];
        piece[5] = hex[c & 0xF];
        return 6;
    }
    piece[0] = (char)c;
    return 1;
}

/* Appends bytes to out while there is room (keeping one byte for the NUL),
 * and counts them either way. */
static void put_bytes(const char *bytes, size_t count, char *out, size_t out_size, size_t *total)
{
    for (size_t k = 0; k < count; k++, (*total)++)
        if (*total + 1 < out_size)
            out[*total] = bytes[k];
}

size_t fb_json_escape(const char *text, char *out, size_t out_size)
{
    size_t total = 0;
    char piece[6];
    put_bytes("\"", 1, out, out_size, &total);
    for (const char *s = text; *s != '\0'; s++)
        put_bytes(piece, escape_byte((unsigned char)*s, piece), out, out_size, &total);
    put_bytes("\"", 1, out, out_size, &total);
    if (out_size > 0)
        out[total < out_size ? total : out_size - 1] = '\0';
    return total;
}

int fb_json_write_string(FILE *stream, const char *text)
{
    char piece[6];
    fputc('"', stream);
    for (const char *s = text; *s != '\0'; s++) {
        size_t length = escape_byte((unsigned char)*s, piece);
        fwrite(piece, 1, length, stream);
    }
    fputc('"', stream);
    return ferror(stream) ? -1 : 0;
}
