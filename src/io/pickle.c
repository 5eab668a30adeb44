/* pickle.c — the weights-only pickle VM (see pickle.h and freqbias/torch_pt.h).
 *
 * A pickle is a program for a stack machine: each opcode byte (plus its
 * inline argument) pushes a value, pops some to build a container, or
 * stores/fetches a value in the "memo" (a table of back-references). STOP
 * returns the top of the stack. torch.save uses protocol 2, e.g. for
 * {'epoch': 3} as an OrderedDict:
 *
 *   \x80\x02            PROTO 2
 *   c collections\nOrderedDict\n   GLOBAL  -> push the name
 *   )  R                EMPTY_TUPLE, REDUCE -> OrderedDict() (here: an empty dict)
 *   ( X 'epoch' K 3 u   MARK, BINUNICODE, BININT1, SETITEMS
 *   .                   STOP
 *
 * Python's own unpickler imports whatever module a GLOBAL names and REDUCE
 * calls it — that is how a .pt file can run os.system. Here GLOBAL only
 * accepts the whitelist in freqbias/torch_pt.h and refuses anything else by
 * name, and REDUCE is a switch over those few names, done in C. Nothing else
 * can be called; no opcode that would (NEWOBJ, INST, OBJ, EXT*, ...) is known.
 *
 * Bounds, all relative to the pickle's size: the stack, the memo index and
 * the number of values made are each below the byte count (every opcode is
 * at least one byte), MARK nesting is capped, a string's length must fit in
 * the bytes left, and container growth is checked for overflow.
 */
#include "pickle.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MARKS 1024       /* nested MARKs (tuples/lists being built)    */
#define MAX_NAME 256         /* module or name of a GLOBAL                 */

typedef struct vm {
    const uint8_t *bytes;    /* [size] the pickle                          */
    size_t size, at;
    const char *label;
    fb_pickle *arena;
    fb_pk_value **stack;     /* [depth]                                    */
    size_t depth, stack_cap;
    size_t marks[MAX_MARKS]; /* stack depths at each open MARK             */
    int mark_count;
    fb_pk_value **memo;      /* [memo_cap], NULL where unset               */
    size_t memo_cap, memo_used; /* slots allocated, slots set     */
} vm;

static fb_status fail(const vm *m, const char *what)
{
    return fb_error(FB_ERR_FORMAT, "%s: pickle byte %zu: %s", m->label, m->at, what);
}

static fb_pk_value *new_value(vm *m, fb_pk_kind kind)
{
    fb_pickle *a = m->arena;
    if (a->count >= m->size + 16)
        return NULL; /* more values than opcodes: impossible for an honest pickle */
    if (a->count == a->capacity) {
        size_t cap = a->capacity ? 2 * a->capacity : 64;
        fb_pk_value **grown = realloc(a->values, cap * sizeof *grown);
        if (!grown)
            return NULL;
        a->values = grown;
        a->capacity = cap;
    }
    fb_pk_value *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->kind = kind;
    a->values[a->count++] = v;
    return v;
}

static fb_status push(vm *m, fb_pk_value *v)
{
    if (!v)
        return fb_error(FB_ERR_FORMAT, "%s: pickle byte %zu: out of memory or too many values", m->label,
                        m->at);
    if (m->depth >= m->size + 16)
        return fail(m, "stack deeper than the pickle is long");
    if (m->depth == m->stack_cap) {
        size_t cap = m->stack_cap ? 2 * m->stack_cap : 64;
        fb_pk_value **grown = realloc(m->stack, cap * sizeof *grown);
        if (!grown)
            return fb_error(FB_ERR_NOMEM, "%s: out of memory", m->label);
        m->stack = grown;
        m->stack_cap = cap;
    }
    m->stack[m->depth++] = v;
    return FB_OK;
}

static fb_pk_value *pop(vm *m)
{
    if (m->depth == 0 || (m->mark_count && m->depth == m->marks[m->mark_count - 1]))
        return NULL;
    return m->stack[--m->depth];
}

/* Appends one item to a TUPLE/LIST/DICT's item array. */
static fb_status add_item(vm *m, fb_pk_value *container, fb_pk_value *item)
{
    if (container->count >= m->size + 16)
        return fail(m, "container larger than the pickle is long");
    if (container->count == container->capacity) {
        size_t cap = container->capacity ? 2 * container->capacity : 8;
        fb_pk_value **grown = realloc(container->items, cap * sizeof *grown);
        if (!grown)
            return fb_error(FB_ERR_NOMEM, "%s: out of memory", m->label);
        container->items = grown;
        container->capacity = cap;
    }
    container->items[container->count++] = item;
    return FB_OK;
}

/* Reads n inline argument bytes. */
static const uint8_t *take(vm *m, size_t n)
{
    if (n > m->size - m->at)
        return NULL;
    const uint8_t *p = m->bytes + m->at;
    m->at += n;
    return p;
}

static uint64_t little_endian(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Items above the innermost MARK, which is then closed. */
static fb_status pop_to_mark(vm *m, size_t *first)
{
    if (m->mark_count == 0)
        return fail(m, "no MARK to pop to");
    *first = m->marks[--m->mark_count];
    return FB_OK;
}

/* ---- the whitelist ---------------------------------------------------------- */

static const struct {
    const char *module, *name;
    fb_pk_global global;
    fb_st_dtype dtype;
} whitelist[] = {
    {"collections", "OrderedDict", FB_PK_ORDERED_DICT, FB_ST_U8},
    {"torch._utils", "_rebuild_tensor_v2", FB_PK_REBUILD_TENSOR_V2, FB_ST_U8},
    {"torch._utils", "_rebuild_parameter", FB_PK_REBUILD_PARAMETER, FB_ST_U8},
    {"torch", "FloatStorage", FB_PK_STORAGE_TYPE, FB_ST_F32},
    {"torch", "DoubleStorage", FB_PK_STORAGE_TYPE, FB_ST_F64},
    {"torch", "LongStorage", FB_PK_STORAGE_TYPE, FB_ST_I64},
    {"torch", "IntStorage", FB_PK_STORAGE_TYPE, FB_ST_I32},
    {"torch", "ShortStorage", FB_PK_STORAGE_TYPE, FB_ST_I16},
    {"torch", "CharStorage", FB_PK_STORAGE_TYPE, FB_ST_I8},
    {"torch", "ByteStorage", FB_PK_STORAGE_TYPE, FB_ST_U8},
    {"torch", "BoolStorage", FB_PK_STORAGE_TYPE, FB_ST_BOOL},
    {"torch", "HalfStorage", FB_PK_STORAGE_TYPE, FB_ST_F16},
    {"torch", "BFloat16Storage", FB_PK_STORAGE_TYPE, FB_ST_BF16},
    {"torch", "float32", FB_PK_STORAGE_TYPE, FB_ST_F32},
    {"torch", "float64", FB_PK_STORAGE_TYPE, FB_ST_F64},
    {"torch", "int64", FB_PK_STORAGE_TYPE, FB_ST_I64},
    {"torch", "int32", FB_PK_STORAGE_TYPE, FB_ST_I32},
    {"torch", "int16", FB_PK_STORAGE_TYPE, FB_ST_I16},
    {"torch", "int8", FB_PK_STORAGE_TYPE, FB_ST_I8},
    {"torch", "uint8", FB_PK_STORAGE_TYPE, FB_ST_U8},
    {"torch", "bool", FB_PK_STORAGE_TYPE, FB_ST_BOOL},
    {"torch", "float16", FB_PK_STORAGE_TYPE, FB_ST_F16},
    {"torch", "bfloat16", FB_PK_STORAGE_TYPE, FB_ST_BF16},
};

static fb_status push_global(vm *m, const char *module, size_t module_len, const char *name,
                             size_t name_len)
{
    for (size_t i = 0; i < sizeof whitelist / sizeof *whitelist; i++)
        if (strlen(whitelist[i].module) == module_len && strlen(whitelist[i].name) == name_len &&
            memcmp(whitelist[i].module, module, module_len) == 0 &&
            memcmp(whitelist[i].name, name, name_len) == 0) {
            fb_pk_value *v = new_value(m, FB_PK_GLOBAL);
            if (v) {
                v->global = whitelist[i].global;
                v->dtype = whitelist[i].dtype;
            }
            return push(m, v);
        }
    char shown[2 * MAX_NAME + 2];
    snprintf(shown, sizeof shown, "%.*s.%.*s", (int)(module_len < MAX_NAME ? module_len : MAX_NAME),
             module, (int)(name_len < MAX_NAME ? name_len : MAX_NAME), name);
    for (char *c = shown; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
    return fb_error(FB_ERR_FORMAT,
                    "%s: pickle byte %zu: refusing the global '%s': only OrderedDict, tensor "
                    "rebuilds and storage types are allowed in a weights-only load (nothing was executed)",
                    m->label, m->at, shown);
}

/* GLOBAL's argument: "module\nname\n". */
static fb_status op_global(vm *m)
{
    const char *parts[2];
    size_t lengths[2];
    for (int p = 0; p < 2; p++) {
        parts[p] = (const char *)m->bytes + m->at;
        const uint8_t *newline = memchr(m->bytes + m->at, '\n', m->size - m->at);
        if (!newline)
            return fail(m, "GLOBAL without its two newline-terminated names");
        lengths[p] = (size_t)(newline - (m->bytes + m->at));
        m->at += lengths[p] + 1;
    }
    return push_global(m, parts[0], lengths[0], parts[1], lengths[1]);
}

/* ---- REDUCE, BUILD and BINPERSID: the only places data become tensors ---------- */

static int is_int(const fb_pk_value *v) { return v && v->kind == FB_PK_INT; }

static fb_status int_tuple(vm *m, const fb_pk_value *t, int64_t *out, int *n, const char *what)
{
    if (!t || t->kind != FB_PK_TUPLE || t->count > FB_PK_MAX_DIMS) {
        char why[96];
        snprintf(why, sizeof why, "tensor %s is not a tuple of at most %d integers", what, FB_PK_MAX_DIMS);
        return fail(m, why);
    }
    for (size_t i = 0; i < t->count; i++) {
        if (!is_int(t->items[i]) || t->items[i]->integer < 0) {
            char why[96];
            snprintf(why, sizeof why, "tensor %s holds a value that is not a non-negative integer", what);
            return fail(m, why);
        }
        out[i] = t->items[i]->integer;
    }
    *n = (int)t->count;
    return FB_OK;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]) */
static fb_status rebuild_tensor(vm *m, const fb_pk_value *args)
{
    if (args->count != 6 && args->count != 7)
        return fail(m, "_rebuild_tensor_v2 takes 6 or 7 arguments");
    const fb_pk_value *storage = args->items[0];
    if (storage->kind != FB_PK_STORAGE || !is_int(args->items[1]) || args->items[1]->integer < 0)
        return fail(m, "_rebuild_tensor_v2 wants a storage and a non-negative offset");
    fb_pk_value *t = new_value(m, FB_PK_TENSOR);
    if (!t)
        return push(m, NULL);
    int stride_dims;
    FB_TRY(int_tuple(m, args->items[2], t->shape, &t->ndim, "size"));
    FB_TRY(int_tuple(m, args->items[3], t->stride, &stride_dims, "stride"));
    if (stride_dims != t->ndim)
        return fail(m, "tensor size and stride differ in length");
    t->storage = storage;
    t->offset = args->items[1]->integer;
    /* every element the view can reach must lie inside the storage; each
     * step below keeps last < limit <= INT64_MAX, so nothing overflows */
    uint64_t limit = (uint64_t)storage->numel, last = (uint64_t)t->offset, numel = 1;
    int empty = 0;
    for (int d = 0; d < t->ndim; d++)
        empty |= t->shape[d] == 0;
    if (empty)
        return push(m, t);
    if (last >= limit)
        return fail(m, "a tensor starts past the end of its storage");
    for (int d = 0; d < t->ndim; d++) {
        uint64_t size = (uint64_t)t->shape[d], stride = (uint64_t)t->stride[d];
        if (size > limit / numel)
            return fail(m, "a tensor has more elements than its storage (broadcast views are not supported)");
        numel *= size;
        if (stride != 0 && size - 1 > (limit - 1 - last) / stride)
            return fail(m, "a tensor view reaches past the end of its storage");
        last += (size - 1) * stride;
    }
    return push(m, t);
}

static fb_status op_reduce(vm *m)
{
    fb_pk_value *args = pop(m), *callable = pop(m);
    if (!args || !callable || args->kind != FB_PK_TUPLE || callable->kind != FB_PK_GLOBAL)
        return fail(m, "REDUCE wants a whitelisted callable and an argument tuple");
    switch (callable->global) {
    case FB_PK_ORDERED_DICT:
        if (args->count != 0)
            return fail(m, "OrderedDict(...) with arguments is not supported");
        return push(m, new_value(m, FB_PK_DICT));
    case FB_PK_REBUILD_TENSOR_V2:
        return rebuild_tensor(m, args);
    case FB_PK_REBUILD_PARAMETER:
        if (args->count < 1 || args->items[0]->kind != FB_PK_TENSOR)
            return fail(m, "_rebuild_parameter wants a tensor");
        return push(m, args->items[0]);
    case FB_PK_STORAGE_TYPE:
        break;
    }
    return fail(m, "a storage type cannot be called");
}

/* BINPERSID: ('storage', storage_type, key, location, numel) */
static fb_status op_persistent_id(vm *m)
{
    fb_pk_value *pid = pop(m);
    if (!pid || pid->kind != FB_PK_TUPLE || pid->count != 5 || pid->items[0]->kind != FB_PK_STRING ||
        pid->items[0]->length != 7 || memcmp(pid->items[0]->text, "storage", 7) != 0 ||
        pid->items[1]->kind != FB_PK_GLOBAL || pid->items[1]->global != FB_PK_STORAGE_TYPE ||
        pid->items[2]->kind != FB_PK_STRING || !is_int(pid->items[4]) || pid->items[4]->integer < 0)
        return fail(m, "a persistent id that is not ('storage', <type>, '<key>', <location>, <numel>)");
    fb_pk_value *s = new_value(m, FB_PK_STORAGE);
    if (s) {
        s->dtype = pid->items[1]->dtype;
        s->key = pid->items[2];
        s->numel = pid->items[4]->integer;
    }
    return push(m, s);
}

/* ---- the opcode loop ------------------------------------------------------- */

static fb_status push_int(vm *m, int64_t value)
{
    fb_pk_value *v = new_value(m, FB_PK_INT);
    if (v)
        v->integer = value;
    return push(m, v);
}

static fb_status push_text(vm *m, fb_pk_kind kind, size_t length_bytes)
{
    const uint8_t *len = take(m, length_bytes);
    if (!len)
        return fail(m, "truncated string length");
    uint64_t n = little_endian(len, (int)length_bytes);
    const uint8_t *text = n <= m->size - m->at ? take(m, (size_t)n) : NULL;
    if (!text)
        return fail(m, "a string runs past the end of the pickle");
    fb_pk_value *v = new_value(m, kind);
    if (v) {
        v->text = (const char *)text;
        v->length = (size_t)n;
    }
    return push(m, v);
}

/* LONG1/LONG4: little-endian two's complement of n bytes; up to 8 fit. */
static fb_status push_long(vm *m, size_t length_bytes)
{
    const uint8_t *len = take(m, length_bytes);
    if (!len)
        return fail(m, "truncated LONG");
    uint64_t n = little_endian(len, (int)length_bytes);
    const uint8_t *digits = n <= 8 ? take(m, (size_t)n) : NULL;
    if (!digits)
        return fail(m, "an integer wider than 64 bits, or truncated");
    uint64_t v = little_endian(digits, (int)n);
    if (n > 0 && n < 8 && (digits[n - 1] & 0x80))
        v |= ~(uint64_t)0 << (8 * n); /* sign-extend */
    return push_int(m, (int64_t)v);
}

static fb_status memo_put(vm *m, uint64_t index)
{
    if (m->depth == 0 || (m->mark_count && m->depth == m->marks[m->mark_count - 1]))
        return fail(m, "memo put with nothing to store");
    if (index >= m->size)
        return fail(m, "memo index larger than the pickle");
    if (index >= m->memo_cap) {
        size_t cap = m->memo_cap ? m->memo_cap : 64;
        while (cap <= index)
            cap *= 2;
        fb_pk_value **grown = realloc(m->memo, cap * sizeof *grown);
        if (!grown)
            return fb_error(FB_ERR_NOMEM, "%s: out of memory", m->label);
        memset(grown + m->memo_cap, 0, (cap - m->memo_cap) * sizeof *grown);
        m->memo = grown;
        m->memo_cap = cap;
    }
    if (!m->memo[index])
        m->memo_used++;
    m->memo[index] = m->stack[m->depth - 1];
    return FB_OK;
}

static fb_status memo_get(vm *m, uint64_t index)
{
    if (index >= m->memo_cap || !m->memo[index])
        return fail(m, "memo get of an index never put");
    return push(m, m->memo[index]);
}

/* TUPLE/LIST from the items above the MARK (or the n topmost for TUPLE1-3). */
static fb_status collect(vm *m, fb_pk_kind kind, size_t first)
{
    if (first > m->depth)
        return fail(m, "TUPLE with too few items on the stack");
    fb_pk_value *v = new_value(m, kind);
    if (!v)
        return push(m, NULL);
    for (size_t i = first; i < m->depth; i++)
        FB_TRY(add_item(m, v, m->stack[i]));
    m->depth = first;
    return push(m, v);
}

/* SETITEM(S)/APPEND(S): items from first to the top go into the container below them. */
static fb_status fill(vm *m, size_t first, int pairs)
{
    if (first == 0 || first > m->depth)
        return fail(m, "SETITEMS/APPENDS without a container");
    fb_pk_value *target = m->stack[first - 1];
    if (target->kind != (pairs ? FB_PK_DICT : FB_PK_LIST))
        return fail(m, pairs ? "SETITEM on something that is not a dict" : "APPEND on something that is not a list");
    if (pairs && (m->depth - first) % 2)
        return fail(m, "SETITEMS with an odd number of items");
    for (size_t i = first; i < m->depth; i++)
        FB_TRY(add_item(m, target, m->stack[i]));
    m->depth = first;
    return FB_OK;
}

static fb_status step(vm *m, uint8_t op, int *stopped)
{
    const uint8_t *arg;
    size_t first = 0;
    switch (op) {
    case 0x80: /* PROTO */
        if (!(arg = take(m, 1)) || arg[0] > 5)
            return fail(m, "unknown pickle protocol");
        return FB_OK;
    case 0x95: /* FRAME: a length hint, nothing to do */
        return take(m, 8) ? FB_OK : fail(m, "truncated FRAME");
    case '.': /* STOP */
        *stopped = 1;
        return FB_OK;
    case '(': /* MARK */
        if (m->mark_count == MAX_MARKS)
            return fail(m, "MARKs nested too deeply");
        m->marks[m->mark_count++] = m->depth;
        return FB_OK;
    case '0': /* POP */
        return pop(m) ? FB_OK : fail(m, "POP from an empty stack");
    case '1': /* POP_MARK */
        FB_TRY(pop_to_mark(m, &first));
        m->depth = first;
        return FB_OK;
    case '2': /* DUP */
        if (m->depth == 0)
            return fail(m, "DUP of an empty stack");
        return push(m, m->stack[m->depth - 1]);
    case '}': return push(m, new_value(m, FB_PK_DICT));  /* EMPTY_DICT */
    case ']': return push(m, new_value(m, FB_PK_LIST));  /* EMPTY_LIST */
    case ')': return push(m, new_value(m, FB_PK_TUPLE)); /* EMPTY_TUPLE */
    case 'N': return push(m, new_value(m, FB_PK_NONE));
    case 0x88: case 0x89: { /* NEWTRUE, NEWFALSE */
        fb_pk_value *v = new_value(m, FB_PK_BOOL);
        if (v)
            v->integer = op == 0x88;
        return push(m, v);
    }
    case 't': /* TUPLE */
    case 'l': /* LIST */
        FB_TRY(pop_to_mark(m, &first));
        return collect(m, op == 't' ? FB_PK_TUPLE : FB_PK_LIST, first);
    case 'd': /* DICT */
        FB_TRY(pop_to_mark(m, &first));
        if ((m->depth - first) % 2)
            return fail(m, "DICT with an odd number of items");
        FB_TRY(collect(m, FB_PK_DICT, first));
        return FB_OK;
    case 0x85: case 0x86: case 0x87: { /* TUPLE1..3 */
        size_t n = (size_t)(op - 0x84);
        size_t floor = m->mark_count ? m->marks[m->mark_count - 1] : 0;
        if (m->depth < floor + n)
            return fail(m, "TUPLE1-3 with too few items on the stack");
        return collect(m, FB_PK_TUPLE, m->depth - n);
    }
    case 's': /* SETITEM */
        if (m->depth < 3 || (m->mark_count && m->depth < m->marks[m->mark_count - 1] + 3))
            return fail(m, "SETITEM with too few items on the stack");
        return fill(m, m->depth - 2, 1);
    case 'a': /* APPEND */
        if (m->depth < 2 || (m->mark_count && m->depth < m->marks[m->mark_count - 1] + 2))
            return fail(m, "APPEND with too few items on the stack");
        return fill(m, m->depth - 1, 0);
    case 'u': /* SETITEMS */
    case 'e': /* APPENDS */
        FB_TRY(pop_to_mark(m, &first));
        return fill(m, first, op == 'u');
    case 'J': /* BININT: signed 32-bit */
        if (!(arg = take(m, 4)))
            return fail(m, "truncated BININT");
        return push_int(m, (int32_t)(uint32_t)little_endian(arg, 4));
    case 'K': /* BININT1 */
        if (!(arg = take(m, 1)))
            return fail(m, "truncated BININT1");
        return push_int(m, arg[0]);
    case 'M': /* BININT2 */
        if (!(arg = take(m, 2)))
            return fail(m, "truncated BININT2");
        return push_int(m, (int64_t)little_endian(arg, 2));
    case 0x8a: return push_long(m, 1); /* LONG1 */
    case 0x8b: return push_long(m, 4); /* LONG4 */
    case 'G': { /* BINFLOAT: big-endian IEEE double */
        if (!(arg = take(m, 8)))
            return fail(m, "truncated BINFLOAT");
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits = bits << 8 | arg[i];
        fb_pk_value *v = new_value(m, FB_PK_FLOAT);
        if (v)
            memcpy(&v->real, &bits, sizeof v->real);
        return push(m, v);
    }
    case 'X': return push_text(m, FB_PK_STRING, 4);    /* BINUNICODE */
    case 0x8c: return push_text(m, FB_PK_STRING, 1);   /* SHORT_BINUNICODE */
    case 0x8d: return push_text(m, FB_PK_STRING, 8);   /* BINUNICODE8 */
    case 'T': return push_text(m, FB_PK_STRING, 4);    /* BINSTRING */
    case 'U': return push_text(m, FB_PK_STRING, 1);    /* SHORT_BINSTRING */
    case 'B': return push_text(m, FB_PK_BYTES, 4);     /* BINBYTES */
    case 'C': return push_text(m, FB_PK_BYTES, 1);     /* SHORT_BINBYTES */
    case 'q': /* BINPUT */
        if (!(arg = take(m, 1)))
            return fail(m, "truncated BINPUT");
        return memo_put(m, arg[0]);
    case 'r': /* LONG_BINPUT */
        if (!(arg = take(m, 4)))
            return fail(m, "truncated LONG_BINPUT");
        return memo_put(m, little_endian(arg, 4));
    case 0x94: /* MEMOIZE: the next free index */
        return memo_put(m, m->memo_used);
    case 'h': /* BINGET */
        if (!(arg = take(m, 1)))
            return fail(m, "truncated BINGET");
        return memo_get(m, arg[0]);
    case 'j': /* LONG_BINGET */
        if (!(arg = take(m, 4)))
            return fail(m, "truncated LONG_BINGET");
        return memo_get(m, little_endian(arg, 4));
    case 'c': return op_global(m); /* GLOBAL */
    case 0x93: { /* STACK_GLOBAL: module and name from the stack */
        fb_pk_value *name = pop(m), *module = pop(m);
        if (!name || !module || name->kind != FB_PK_STRING || module->kind != FB_PK_STRING)
            return fail(m, "STACK_GLOBAL wants two strings");
        return push_global(m, module->text, module->length, name->text, name->length);
    }
    case 'R': return op_reduce(m);
    case 'Q': return op_persistent_id(m); /* BINPERSID */
    case 'b': { /* BUILD: set an object's state; only an OrderedDict's (ignored) */
        fb_pk_value *state = pop(m);
        if (!state || m->depth == 0 || m->stack[m->depth - 1]->kind != FB_PK_DICT)
            return fail(m, "BUILD on something other than an OrderedDict");
        return FB_OK;
    }
    default: {
        char why[96];
        snprintf(why, sizeof why, "opcode 0x%02x is not supported in a weights-only load", op);
        return fail(m, why);
    }
    }
}

fb_status fb_pickle_load(const uint8_t *bytes, size_t size, const char *label, fb_pickle *out)
{
    memset(out, 0, sizeof *out);
    vm m = {.bytes = bytes, .size = size, .label = label, .arena = out};
    fb_status status = FB_OK;
    int stopped = 0;
    while (status == FB_OK && !stopped) {
        if (m.at >= size) {
            status = fail(&m, "the pickle ends without STOP");
            break;
        }
        uint8_t op = bytes[m.at++];
        status = step(&m, op, &stopped);
    }
    if (status == FB_OK && (m.depth != 1 || m.mark_count != 0))
        status = fail(&m, "STOP with other than exactly one value on the stack");
    if (status == FB_OK)
        out->root = m.stack[0];
    free(m.stack);
    free(m.memo);
    if (status != FB_OK)
        fb_pickle_free(out);
    return status;
}

void fb_pickle_free(fb_pickle *pickle)
{
    for (size_t i = 0; i < pickle->count; i++) {
        free(pickle->values[i]->items);
        free(pickle->values[i]);
    }
    free(pickle->values);
    memset(pickle, 0, sizeof *pickle);
}

const fb_pk_value *fb_pk_dict_get(const fb_pk_value *dict, const char *key)
{
    const fb_pk_value *found = NULL;
    size_t length = strlen(key);
    if (!dict || dict->kind != FB_PK_DICT)
        return NULL;
    for (size_t i = 0; i + 1 < dict->count; i += 2) {
        const fb_pk_value *k = dict->items[i];
        if (k->kind == FB_PK_STRING && k->length == length && memcmp(k->text, key, length) == 0)
            found = dict->items[i + 1];
    }
    return found;
}
