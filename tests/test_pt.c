/* test_pt.c — PyTorch torch.save (.pt) checkpoints: twins, models, CLI, hostile and broken files.
 *
 * The fixtures come from ref_data/gen/make_pt.py, written by torch.save
 * itself (torch 1.13), each with a safetensors twin holding the same values:
 *   - every .pt loads to the twin's tensors bit for bit (robustness layout,
 *     plain, {'state_dict'}, transposed/offset/float64 views, deflated zip);
 *   - a model loaded from the .pt equals one loaded from the twin, and
 *     `freqbias test` writes byte-identical logits for .pt, twin and the
 *     `freqbias convert` copy;
 *   - a legacy (non-zip) file, a big-endian one, and every forbidden global (os.system,
 *     builtins.eval, posix.system via STACK_GLOBAL, datetime.timedelta deep in
 *     an optimizer state) are refused with messages naming them;
 *   - archives cut at every 7th byte, with each central-directory byte
 *     flipped, with corrupt data or lying sizes (a deflate bomb among them),
 *     a storage declared twice with different sizes, and hand-built hostile
 *     pickles give errors and never crash (this file
 *     also runs under `make test SANITIZE=1`).
 * No torch is needed to run it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "freqbias/checkpoint.h"
#include "freqbias/runtime.h"
#include "freqbias/safetensors.h"
#include "freqbias/torch_pt.h"
#include "io/pickle.h"
#include "testutil.h"

static const char *fixture(const char *name)
{
    static char path[4][600];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 600, "%s/%s", ref_data_dir(), name);
    return p;
}

/* ---- .pt against its safetensors twin ---- */

/* Every twin tensor is in the .pt under prefix+name with the same bits. */
static int same_as_twin(const char *pt_name, const char *twin_name, const char *prefix)
{
    fb_st_file pt, twin;
    if (fb_pt_read(fixture(pt_name), &pt) != FB_OK)
        fail_msg("%s", fb_error_message());
    if (fb_st_read(fixture(twin_name), &twin) != FB_OK)
        fail_msg("%s", fb_error_message());
    int ok = 1, matched = 0;
    size_t bytes = 0;
    char name[600];
    for (int i = 0; i < twin.count; i++) {
        const fb_st_entry *want = &twin.entries[i];
        snprintf(name, sizeof name, "%s%s", prefix, want->name);
        const fb_st_entry *got = fb_st_find(&pt, name);
        if (!got || got->dtype != want->dtype || got->ndim != want->ndim ||
            memcmp(got->shape, want->shape, sizeof want->shape[0] * (size_t)want->ndim) != 0 ||
            got->end - got->begin != want->end - want->begin) {
            printf("[%s] '%s' missing or of another dtype/shape\n", pt_name, name);
            ok = 0;
            continue;
        }
        ok &= memcmp(got->data, want->data, want->end - want->begin) == 0;
        bytes += want->end - want->begin;
        matched++;
    }
    printf("[%s%s vs %s] %d of %d tensors, %zu bytes: %s (the .pt holds %d tensors)\n", pt_name,
           *prefix ? label(" %s*", prefix) : "", twin_name,
           matched, twin.count, bytes, ok ? "bit-identical" : "DIFFERENT", pt.count);
    int complete = matched == twin.count;
    fb_st_free(&pt);
    fb_st_free(&twin);
    return ok && complete;
}

static void test_twins(void **state)
{
    (void)state;
    assert_true(same_as_twin("pt_r18w4_robustness.pt", "pt_r18w4.safetensors", "module.model."));
    /* the attacker's copy shares the model's storages */
    assert_true(same_as_twin("pt_r18w4_robustness.pt", "pt_r18w4.safetensors", "module.attacker.model."));
    assert_true(same_as_twin("pt_toy_plain.pt", "pt_toy.safetensors", ""));
    assert_true(same_as_twin("pt_toy_wrapped.pt", "pt_toy.safetensors", ""));
    assert_true(same_as_twin("pt_toy_views.pt", "pt_toy.safetensors", ""));
    assert_true(same_as_twin("pt_toy_deflated.pt", "pt_toy.safetensors", ""));

    fb_st_file pt;
    assert_int_equal(fb_pt_read(fixture("pt_r18w4_robustness.pt"), &pt), FB_OK);
    const char *epoch = fb_st_meta(&pt, "epoch");
    printf("[robustness] epoch metadata '%s' (saved 7), %d tensors (122 model + 122 attacker + 4 normalizer)\n",
           epoch ? epoch : "(none)", pt.count);
    assert_non_null(epoch);
    assert_string_equal(epoch, "7");
    assert_int_equal(pt.count, 248);
    const fb_st_entry *counter = fb_st_find(&pt, "module.model.bn1.num_batches_tracked");
    assert_non_null(counter);
    assert_int_equal(counter->dtype, FB_ST_I64);
    assert_int_equal(counter->ndim, 0);
    assert_int_equal(*(const int64_t *)counter->data, 391 * 7);
    fb_st_free(&pt);
}

/* ---- into models ---- */

static int same_model_state(fb_model *a, fb_model *b, const char *what)
{
    fb_registry *ra = fb_model_registry(a), *rb = fb_model_registry(b);
    int ok = ra->count == rb->count, differing = 0;
    size_t bytes = 0;
    for (int i = 0; ok && i < ra->count; i++) {
        const fb_tensor *x = &ra->tensors[i], *y = &rb->tensors[i];
        if (x->role == FB_ROLE_COUNTER) {
            differing += *x->counter != *y->counter;
        } else {
            differing += memcmp(x->value, y->value, x->numel * sizeof(float)) != 0;
            bytes += x->numel * sizeof(float);
        }
    }
    printf("[model from %s vs from its twin] %d registry tensors (%zu float bytes): %d differ\n", what,
           ra->count, bytes, differing);
    return ok && differing == 0;
}

static void load_both(const char *pt_name, const char *twin_name, fb_arch arch)
{
    fb_model_config from_pt, from_twin;
    assert_int_equal(fb_checkpoint_inspect(fixture(pt_name), &from_pt), FB_OK);
    assert_int_equal(fb_checkpoint_inspect(fixture(twin_name), &from_twin), FB_OK);
    printf("[inspect %s] %s width %d classes %d\n", pt_name, fb_arch_name(from_pt.arch),
           from_pt.arch == FB_ARCH_TOYKERNEL ? from_pt.toy_filters : from_pt.width, from_pt.num_classes);
    assert_int_equal(from_pt.arch, arch);
    assert_int_equal(from_pt.width, from_twin.width);
    assert_int_equal(from_pt.toy_filters, from_twin.toy_filters);
    assert_int_equal(from_pt.num_classes, from_twin.num_classes);
    fb_model *a, *b;
    assert_int_equal(fb_model_create(&a, &from_pt, &fb_backend_cpu), FB_OK);
    assert_int_equal(fb_model_create(&b, &from_twin, &fb_backend_cpu), FB_OK);
    if (fb_checkpoint_load(a, fixture(pt_name), NULL) != FB_OK)
        fail_msg("%s", fb_error_message());
    assert_int_equal(fb_checkpoint_load(b, fixture(twin_name), NULL), FB_OK);
    assert_true(same_model_state(a, b, pt_name));
    fb_model_free(a);
    fb_model_free(b);
}

static void test_models(void **state)
{
    (void)state;
    load_both("pt_r18w4_robustness.pt", "pt_r18w4.safetensors", FB_ARCH_RESNET18);
    load_both("pt_toy_views.pt", "pt_toy.safetensors", FB_ARCH_TOYKERNEL);
}

/* ---- the CLI ---- */

static void expect_refusal(const char *log, const char *file, const char *phrase)
{
    int code = RUN(log, "convert", fixture(file), in_work("refused.safetensors"));
    size_t size;
    char *text = read_file(log, &size);
    assert_non_null(text);
    int named = strstr(text, phrase) != NULL;
    printf("[convert %s] exit %d, message %s '%s'\n", file, code, named ? "names" : "LACKS", phrase);
    if (code != 2 || !named)
        print_log(log);
    free(text);
    assert_int_equal(code, 2);
    assert_true(named);
    assert_null(fopen(in_work("refused.safetensors"), "rb"));
}

static void test_cli(void **state)
{
    (void)state;
    char log[600]; /* in_work's buffers rotate: keep a copy */
    snprintf(log, sizeof log, "%s", in_work("cli.log"));
    char data[600];
    snprintf(data, sizeof data, "%s", fixture("cifar10_test512.bin"));
    int code = RUN(log, "convert", fixture("pt_r18w4_robustness.pt"), in_work("converted.safetensors"));
    if (code != 0)
        print_log(log);
    assert_int_equal(code, 0);
    const char *runs[3][2] = {{fixture("pt_r18w4_robustness.pt"), "pt"},
                              {fixture("pt_r18w4.safetensors"), "twin"},
                              {in_work("converted.safetensors"), "converted"}};
    for (int r = 0; r < 3; r++) {
        char logits[64], json[64];
        snprintf(logits, sizeof logits, "%s.npy", runs[r][1]);
        snprintf(json, sizeof json, "%s.json", runs[r][1]);
        code = RUN(log, "test", "--ckpt", runs[r][0], "--test-data", data, "--logits", in_work(logits),
                   "--json", in_work(json));
        if (code != 0)
            print_log(log);
        assert_int_equal(code, 0);
    }
    int ok = same_file("freqbias test logits: .pt vs twin", in_work("pt.npy"), in_work("twin.npy"));
    ok &= same_file("freqbias test logits: .pt vs convert", in_work("pt.npy"), in_work("converted.npy"));
    ok &= same_file("freqbias test json: .pt vs twin", in_work("pt.json"), in_work("twin.json"));
    ok &= same_file("freqbias test json: .pt vs convert", in_work("pt.json"), in_work("converted.json"));
    assert_true(ok);

    fb_st_file converted;
    assert_int_equal(fb_st_read(in_work("converted.safetensors"), &converted), FB_OK);
    printf("[convert] metadata arch=%s width=%s num_classes=%s epoch=%s\n", fb_st_meta(&converted, "arch"),
           fb_st_meta(&converted, "width"), fb_st_meta(&converted, "num_classes"), fb_st_meta(&converted, "epoch"));
    assert_string_equal(fb_st_meta(&converted, "arch"), "resnet18");
    assert_string_equal(fb_st_meta(&converted, "width"), "4");
    assert_string_equal(fb_st_meta(&converted, "num_classes"), "10");
    assert_string_equal(fb_st_meta(&converted, "epoch"), "7");
    fb_st_free(&converted);

    expect_refusal(log, "pt_toy_legacy.pt", "re-save it with PyTorch >= 1.6");
    expect_refusal(log, "pt_hostile_os_system.pt", "'os.system'");
    expect_refusal(log, "pt_hostile_eval.pt", "'builtins.eval'");
    expect_refusal(log, "pt_hostile_stack_global.pt", "'posix.system'");
    expect_refusal(log, "pt_hostile_optimizer.pt", "'datetime.timedelta'");
    expect_refusal(log, "pt_toy_bigendian.pt", "big-endian storages are not supported");
    assert_int_equal(RUN(log, "convert", fixture("pt_toy_plain.pt")), 1);
}

/* ---- broken archives ---- */

static uint32_t u32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Offset of the central header whose name ends in suffix (the files have no comment). */
static size_t central_header_of(const uint8_t *bytes, size_t size, const char *suffix, size_t *dir_start)
{
    *dir_start = u32_at(bytes + size - 22 + 16);
    size_t at = *dir_start;
    while (u32_at(bytes + at) == 0x02014b50u) {
        size_t name_len = bytes[at + 28] | bytes[at + 29] << 8;
        size_t skip = 46 + name_len + (bytes[at + 30] | bytes[at + 31] << 8) + (bytes[at + 32] | bytes[at + 33] << 8);
        if (name_len >= strlen(suffix) &&
            memcmp(bytes + at + 46 + name_len - strlen(suffix), suffix, strlen(suffix)) == 0)
            return at;
        at += skip;
    }
    fail_msg("no central header for %s", suffix);
    return 0;
}

/* Reads bytes; returns the status, freeing any result. */
static fb_status try_read(const uint8_t *bytes, size_t size)
{
    fb_st_file file;
    fb_status status = fb_pt_read_memory(bytes, size, "mutant.pt", &file);
    if (status == FB_OK)
        fb_st_free(&file);
    return status;
}

static void expect_error(const uint8_t *bytes, size_t size, const char *what, const char *phrase)
{
    fb_status status = try_read(bytes, size);
    const char *message = status == FB_OK ? "(loaded)" : fb_error_message();
    printf("[%s] %s\n", what, message);
    assert_int_not_equal(status, FB_OK);
    if (phrase && !strstr(message, phrase))
        fail_msg("the message lacks '%s'", phrase);
}

static void test_broken_archives(void **state)
{
    (void)state;
    const char *names[] = {"pt_toy_plain.pt", "pt_toy_deflated.pt"};
    for (int f = 0; f < 2; f++) {
        size_t size;
        uint8_t *good = (uint8_t *)read_file(fixture(names[f]), &size);
        assert_non_null(good);
        assert_int_equal(try_read(good, size), FB_OK);
        uint8_t *bytes = malloc(size);
        assert_non_null(bytes);

        int cuts = 0;
        for (size_t cut = 0; cut < size; cut += 7, cuts++)
            assert_int_not_equal(try_read(good, cut), FB_OK);
        printf("[%s] %d truncations (every 7th byte): all refused\n", names[f], cuts);

        size_t dir_start, pickle_header = central_header_of(good, size, "/data.pkl", &dir_start);
        int refused = 0, loaded = 0;
        for (size_t at = dir_start; at < size; at++) {
            memcpy(bytes, good, size);
            bytes[at] ^= 0xFF;
            if (try_read(bytes, size) == FB_OK)
                loaded++;
            else
                refused++;
        }
        printf("[%s] each of %zu directory/end-record bytes flipped: %d refused, %d still load "
               "(times, attributes), no crash\n", names[f], size - dir_start, refused, loaded);
        assert_true(refused > loaded);

        /* every byte of the pickle's data flipped: the CRC-32 catches it */
        size_t local = u32_at(good + pickle_header + 42);
        size_t data_at = local + 30 + (good[local + 26] | good[local + 27] << 8) +
                         (good[local + 28] | good[local + 29] << 8);
        size_t data_len = u32_at(good + pickle_header + 20);
        refused = 0;
        for (size_t at = data_at; at < data_at + data_len; at++) {
            memcpy(bytes, good, size);
            bytes[at] ^= 0x20;
            refused += try_read(bytes, size) != FB_OK;
        }
        printf("[%s] each of %zu data.pkl bytes flipped: %d refused (CRC-32)%s\n", names[f], data_len,
               refused, f ? "; a deflate stream ignores its last byte's padding bits" : "");
        assert_true(f == 0 ? (size_t)refused == data_len : (size_t)refused + 1 >= data_len);

        uint32_t true_size = u32_at(good + pickle_header + 24);
        memcpy(bytes, good, size);
        put_u32(bytes + pickle_header + 24, true_size + 1);
        expect_error(bytes, size, "data.pkl size +1", NULL);
        memcpy(bytes, good, size);
        put_u32(bytes + pickle_header + 24, true_size - 1);
        expect_error(bytes, size, "data.pkl size -1", NULL);
        memcpy(bytes, good, size);
        put_u32(bytes + pickle_header + 20, (uint32_t)size);
        expect_error(bytes, size, "data.pkl compressed size past the end", "run past the end");
        memcpy(bytes, good, size);
        put_u32(bytes + pickle_header + 42, (uint32_t)size - 10);
        expect_error(bytes, size, "local header offset near the end", "no local header");
        if (f == 1) {
            memcpy(bytes, good, size);
            put_u32(bytes + pickle_header + 24, 200000000u);
            expect_error(bytes, size, "deflate bomb: 200 MB claimed from 333 bytes", "deflate bomb");
        }
        free(bytes);
        free(good);
    }
}

/* A zip of n entries, as torch lays them out: local header + data each, then
 * the central directory and the end record. method 8 entries are given
 * already deflated (raw), with their inflated size and CRC. */
typedef struct zip_item {
    const char *name;
    const void *data;
    size_t size;       /* bytes stored                                   */
    int method;        /* 0 stored, 8 deflated                           */
    size_t plain_size; /* inflated size (= size when stored)             */
    uint32_t crc;      /* CRC-32 of the inflated bytes                   */
} zip_item;

static uint8_t *zip_of(zip_item *items, int n, size_t *total)
{
    size_t local = 0, central = 0;
    for (int i = 0; i < n; i++) {
        local += 30 + strlen(items[i].name) + items[i].size;
        central += 46 + strlen(items[i].name);
    }
    *total = local + central + 22;
    uint8_t *zip = calloc(*total, 1), *at = zip, *dir = zip + local;
    assert_non_null(zip);
    for (int i = 0; i < n; i++) {
        size_t name_len = strlen(items[i].name);
        uint8_t *headers[2] = {at, dir};
        for (int h = 0; h < 2; h++) { /* local: fields at +8..; central: 2 bytes later */
            uint8_t *p = headers[h] + 2 * h;
            put_u32(headers[h], h ? 0x02014b50u : 0x04034b50u);
            p[8] = (uint8_t)items[i].method;
            put_u32(p + 14, items[i].crc);
            put_u32(p + 18, (uint32_t)items[i].size);
            put_u32(p + 22, (uint32_t)items[i].plain_size);
            p[26] = (uint8_t)name_len;
        }
        put_u32(dir + 42, (uint32_t)(at - zip));
        memcpy(at + 30, items[i].name, name_len);
        memcpy(at + 30 + name_len, items[i].data, items[i].size);
        memcpy(dir + 46, items[i].name, name_len);
        at += 30 + name_len + items[i].size;
        dir += 46 + name_len;
    }
    put_u32(dir, 0x06054b50u);
    dir[8] = dir[10] = (uint8_t)n;
    put_u32(dir + 12, (uint32_t)central);
    put_u32(dir + 16, (uint32_t)local);
    return zip;
}

static zip_item stored(const char *name, const void *data, size_t size)
{
    zip_item item = {name, data, size, 0, size, (uint32_t)crc32(0, data, (uInt)size)};
    return item;
}

/* An honest deflate stream inflating to 64 MiB of zeros (~64 KB compressed)
 * in a torch-shaped zip: the pickle cap (256 MiB) is not hit, the data is
 * not a pickle: refused at its first byte. */
static void test_inflated_garbage(void **state)
{
    (void)state;
    size_t plain_size = (size_t)64 << 20;
    uint8_t *zeros = calloc(plain_size, 1);
    uLongf packed_size = compressBound((uLong)plain_size);
    uint8_t *packed = malloc(packed_size);
    assert_non_null(zeros);
    assert_non_null(packed);
    z_stream s;
    memset(&s, 0, sizeof s);
    assert_int_equal(deflateInit2(&s, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
    s.next_in = zeros;
    s.avail_in = (uInt)plain_size;
    s.next_out = packed;
    s.avail_out = (uInt)packed_size;
    assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
    zip_item item = {"archive/data.pkl", packed, s.total_out, 8, plain_size,
                     (uint32_t)crc32(0, zeros, (uInt)plain_size)};
    deflateEnd(&s);
    size_t total;
    uint8_t *zip = zip_of(&item, 1, &total);
    printf("[inflate] %zu zero bytes deflated to %zu (ratio %.0f:1)\n", plain_size, item.size,
           (double)plain_size / (double)item.size);
    expect_error(zip, total, "64 MiB of zeros as data.pkl", "opcode 0x00");
    free(zip);
    free(packed);
    free(zeros);
}

/* One storage key declared twice, first with 1 element (matching its 4-byte
 * entry), then with 1000, with a 1000-element view on the second: the
 * second declaration must not borrow the first one's bytes. */
static void test_storage_declared_twice(void **state)
{
    (void)state;
#define PERSID(numel_op) "(X\x07\x00\x00\x00storage" "ctorch\nFloatStorage\n" "X\x01\x00\x00\x00" \
                         "0X\x03\x00\x00\x00" "cpu" numel_op "tQ"
#define REBUILD "ctorch._utils\n_rebuild_tensor_v2\n("
    static const char pickle[] =
        "\x80\x02}(X\x01\x00\x00\x00" "a" REBUILD PERSID("K\x01") "K\x00K\x01\x85K\x01\x85\x89}tR"
        "X\x01\x00\x00\x00" "b" REBUILD PERSID("M\xe8\x03") "K\x00M\xe8\x03\x85K\x01\x85\x89}tRu.";
    float one = 1.5f;
    zip_item items[2] = {stored("archive/data.pkl", pickle, sizeof pickle - 1),
                         stored("archive/data/0", &one, sizeof one)};
    size_t total;
    uint8_t *zip = zip_of(items, 2, &total);
    expect_error(zip, total, "storage '0' as 1 and as 1000 floats", "declared twice");
    /* control: the same archive with only the honest tensor loads */
    static const char honest[] = "\x80\x02}(X\x01\x00\x00\x00" "a" REBUILD PERSID("K\x01")
                                 "K\x00K\x01\x85K\x01\x85\x89}tRu.";
    items[0] = stored("archive/data.pkl", honest, sizeof honest - 1);
    free(zip);
    zip = zip_of(items, 2, &total);
    fb_st_file file;
    assert_int_equal(fb_pt_read_memory(zip, total, "honest.pt", &file), FB_OK);
    printf("[control] hand-built archive: %d tensor, 'a' = %g\n", file.count, *(const float *)file.entries[0].data);
    assert_int_equal(file.count, 1);
    assert_true(*(const float *)file.entries[0].data == 1.5f);
    fb_st_free(&file);
    free(zip);
#undef PERSID
#undef REBUILD
}

/* ---- hand-built pickles ---- */

static void expect_pickle(const char *what, const char *bytes, size_t size, int ok, const char *phrase)
{
    fb_pickle pickle;
    fb_status status = fb_pickle_load((const uint8_t *)bytes, size, what, &pickle);
    printf("[pickle %s] %s\n", what, status == FB_OK ? "loaded" : fb_error_message());
    if (status == FB_OK)
        fb_pickle_free(&pickle);
    assert_int_equal(status == FB_OK, ok);
    if (!ok && phrase && !strstr(fb_error_message(), phrase))
        fail_msg("the message lacks '%s'", phrase);
}

#define PICKLE(what, literal, ok, phrase) expect_pickle(what, literal, sizeof literal - 1, ok, phrase)

static void test_pickles(void **state)
{
    (void)state;
    /* (C hex escapes are greedy: a literal is split wherever a hex digit follows one) */
    PICKLE("an OrderedDict with an int", "\x80\x02" "ccollections\nOrderedDict\n)R" "X\x01\x00\x00\x00" "aK\x05s.",
           1, NULL);
    PICKLE("subprocess.Popen", "\x80\x02" "csubprocess\nPopen\n" "X\x02\x00\x00\x00ls\x85R.", 0,
           "'subprocess.Popen'");
    PICKLE("torch.load itself", "\x80\x02" "ctorch\nload\n.", 0, "'torch.load'");
    PICKLE("a storage type called", "\x80\x02" "ctorch\nFloatStorage\n)R.", 0, "cannot be called");
    PICKLE("NEWOBJ", "\x80\x02" "ccollections\nOrderedDict\n)\x81.", 0, "opcode 0x81");
    PICKLE("INST", "(ios\nsystem\n.", 0, "opcode 0x69");
    PICKLE("no STOP", "\x80\x02}", 0, "without STOP");
    PICKLE("two values at STOP", "\x80\x02}}.", 0, "exactly one value");
    PICKLE("memo get never put", "\x80\x02h\x07.", 0, "never put");
    PICKLE("memo index past the pickle", "\x80\x02}r\xff\xff\xff\x7f.", 0, "memo index");
    PICKLE("string longer than the pickle", "\x80\x02X\xff\xff\xff\x7f" "abc.", 0, "past the end");
    PICKLE("LONG1 wider than 64 bits", "\x80\x02\x8a\x09" "123456789.", 0, "wider than 64 bits");
    PICKLE("SETITEM on a list", "\x80\x02]K\x01K\x02s.", 0, "not a dict");
    PICKLE("APPEND across a MARK", "\x80\x02](K\x01" "a.", 0, "too few items");
    PICKLE("a list that contains itself", "\x80\x02]q\x00h\x00" "a.", 1, NULL);
    PICKLE("BUILD on a list", "\x80\x02]}b.", 0, "BUILD");
    PICKLE("persistent id not a storage", "\x80\x02X\x01\x00\x00\x00xQ.", 0, "persistent id");
    PICKLE("tensor past its storage",
           "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n"
           "((X\x07\x00\x00\x00storage" "ctorch\nFloatStorage\n" "X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x04tQ"
           "K\x02K\x03\x85K\x01\x85\x89}tR.", 0, "past the end of its storage");
    PICKLE("tensor inside its storage",
           "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n"
           "((X\x07\x00\x00\x00storage" "ctorch\nFloatStorage\n" "X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x04tQ"
           "K\x01K\x03\x85K\x01\x85\x89}tR.", 1, NULL);
    PICKLE("tensor with a huge stride",
           "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n"
           "((X\x07\x00\x00\x00storage" "ctorch\nFloatStorage\n" "X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x04tQ"
           "K\x00K\x02\x85\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x3f\x85\x89}tR.", 0, "past the end");
    char deep[2 + 1100 + 1];
    memcpy(deep, "\x80\x02", 2);
    memset(deep + 2, '(', 1100);
    deep[1102] = '.';
    expect_pickle("1100 nested MARKs", deep, sizeof deep, 0, "nested too deeply");
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    set_freqbias_binary(argv[0]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twins),
        cmocka_unit_test(test_models),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_broken_archives),
        cmocka_unit_test(test_inflated_garbage),
        cmocka_unit_test(test_storage_declared_twice),
        cmocka_unit_test(test_pickles),
    };
    return cmocka_run_group_tests(tests, work_dir_setup, work_dir_teardown);
}
