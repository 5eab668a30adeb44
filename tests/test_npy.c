/* test_npy.c — the .npy reader and writer.
 *
 * Round trips (f4, f8, u1, i8, i4; 0-d to 4-d; empty) compared bit for bit,
 * with the header checked byte for byte against what NumPy writes (dict
 * text, 64-byte alignment, final '\n'). Headers written by hand test the
 * parser's tolerance: keys in any order, odd spacing, double quotes, no
 * trailing comma, v2.0, 16-byte alignment, Python 2 'L' sizes, '|u1', '|i1'
 * and '>u1'. Corrupt files must fail with FB_ERR_FORMAT and a message that
 * names the file and the problem: bad magic, bad version, Fortran order,
 * big-endian, unknown and structured dtypes, missing and unknown keys,
 * truncated header and data, trailing bytes. When a python3 with NumPy is
 * installed (Debian's python3-numpy), NumPy also reads our files and writes
 * files we read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/npy.h"
#include "freqbias/runtime.h"
#include "testutil.h"

static char *read_all(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *bytes = malloc((size_t)size + 1);
    assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    bytes[size] = '\0';
    *length = (size_t)size;
    return bytes;
}

/* Writes a .npy file by hand: version major.0, the dict padded with spaces
 * and '\n' to `align`, then data[data_bytes]. */
static void write_raw(const char *path, int major, const char *dict, size_t align,
                      const void *data, size_t data_bytes)
{
    size_t prefix = major == 1 ? 10 : 12, length = strlen(dict) + 1;
    length += (align - (prefix + length) % align) % align;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("\x93NUMPY", 1, 6, f);
    fputc(major, f);
    fputc(0, f);
    for (size_t b = 0; b < prefix - 8; b++)
        fputc((int)(length >> (8 * b)) & 0xff, f);
    fputs(dict, f);
    for (size_t i = strlen(dict) + 1; i < length; i++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(data, 1, data_bytes, f);
    fclose(f);
}

static void round_trip(const char *dir, const char *name, fb_npy_dtype dtype, int ndim,
                       const int64_t *shape, const void *data, const char *expected_dict)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(fb_npy_write(path, dtype, ndim, shape, data), FB_OK);

    size_t length;
    char *bytes = read_all(path, &length);
    size_t header = (size_t)(unsigned char)bytes[8] | (size_t)(unsigned char)bytes[9] << 8;
    assert_memory_equal(bytes, "\x93NUMPY\x01\x00", 8);
    assert_int_equal((10 + header) % 64, 0);
    assert_int_equal(bytes[10 + header - 1], '\n');
    assert_memory_equal(bytes + 10, expected_dict, strlen(expected_dict));
    for (size_t i = 10 + strlen(expected_dict); i < 10 + header - 1; i++)
        assert_int_equal(bytes[i], ' ');

    fb_npy_array back;
    assert_int_equal(fb_npy_read(path, &back), FB_OK);
    assert_int_equal(back.dtype, dtype);
    assert_int_equal(back.ndim, ndim);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        assert_int_equal(back.shape[i], shape[i]);
        count *= (size_t)shape[i];
    }
    assert_int_equal(back.count, count);
    assert_int_equal(length, 10 + header + count * fb_npy_itemsize(dtype));
    int same = count == 0 || memcmp(back.data, data, count * fb_npy_itemsize(dtype)) == 0;
    printf("[npy round trip %s] %zu elements, header %zu bytes (data at %zu), dict %s, bits %s\n",
           name, count, header, 10 + header, expected_dict, same ? "identical" : "DIFFER");
    assert_true(same);
    free(bytes);
    fb_npy_free(&back);
}

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    float f4[6] = { 1.5f, -2.25f, 0.0f, 3e-8f, -1e30f, 7.0f };
    double f8[3] = { 3.141592653589793, -0.1, 1e300 };
    uint8_t u1[2 * 3 * 4];
    for (int i = 0; i < 24; i++)
        u1[i] = (uint8_t)(i * 11);
    int64_t i8[5] = { -1, 0, 1, INT64_MAX, INT64_MIN };
    int32_t i4[4] = { -7, 8, 65536, -2147483647 };
    round_trip(dir, "f4.npy", FB_NPY_F32, 2, (int64_t[]){ 2, 3 }, f4,
               "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
    round_trip(dir, "f8.npy", FB_NPY_F64, 1, (int64_t[]){ 3 }, f8,
               "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }");
    round_trip(dir, "u1.npy", FB_NPY_U8, 3, (int64_t[]){ 2, 3, 4 }, u1,
               "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4), }");
    round_trip(dir, "i8.npy", FB_NPY_I64, 1, (int64_t[]){ 5 }, i8,
               "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }");
    round_trip(dir, "i4.npy", FB_NPY_I32, 4, (int64_t[]){ 1, 2, 1, 2 }, i4,
               "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2, 1, 2), }");
    round_trip(dir, "scalar.npy", FB_NPY_F32, 0, NULL, f4,
               "{'descr': '<f4', 'fortran_order': False, 'shape': (), }");
    round_trip(dir, "empty.npy", FB_NPY_F32, 2, (int64_t[]){ 0, 5 }, NULL,
               "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }");
    remove_tree(dir);
    free(dir);
}

/* Headers NumPy would not write but other writers do; all must load. */
static void test_tolerant_parsing(void **state)
{
    (void)state;
    char *dir = make_temp_dir(), path[512];
    snprintf(path, sizeof path, "%s/odd.npy", dir);
    const float values[6] = { 1, 2, 3, 4, 5, 6 };
    const struct {
        const char *dict;
        int major;
        size_t align;
        fb_npy_dtype dtype;
        int ndim;
        int64_t dim0;
    } cases[] = {
        { "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}", 1, 64, FB_NPY_F32, 2, 2 },
        { "{ \"descr\" :\"<f4\",\"fortran_order\":False,\"shape\":(6,)}", 1, 64, FB_NPY_F32, 1, 6 },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2,3,),}", 1, 16, FB_NPY_F32, 2, 2 },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 2L), }", 1, 16, FB_NPY_F32, 2, 3 },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", 2, 64, FB_NPY_F32, 1, 6 },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", 3, 64, FB_NPY_F32, 1, 6 },
        { "{'descr': '|u1', 'fortran_order': False, 'shape': (24,), }", 1, 64, FB_NPY_U8, 1, 24 },
        { "{'descr': '|i1', 'fortran_order': False, 'shape': (24,), }", 1, 64, FB_NPY_I8, 1, 24 },
        { "{'descr': '>u1', 'fortran_order': False, 'shape': (24,), }", 1, 64, FB_NPY_U8, 1, 24 },
        { "{'descr': '<u1', 'fortran_order': False, 'shape': (4, 6), }", 1, 64, FB_NPY_U8, 2, 4 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_raw(path, cases[i].major, cases[i].dict, cases[i].align, values, sizeof values);
        fb_npy_array array;
        fb_status status = fb_npy_read(path, &array);
        printf("[npy tolerant] v%d.0 align %zu %s -> %s\n", cases[i].major, cases[i].align,
               cases[i].dict, status == FB_OK ? "ok" : fb_error_message());
        assert_int_equal(status, FB_OK);
        assert_int_equal(array.dtype, cases[i].dtype);
        assert_int_equal(array.ndim, cases[i].ndim);
        assert_int_equal(array.shape[0], cases[i].dim0);
        assert_memory_equal(array.data, values, sizeof values);
        fb_npy_free(&array);
    }
    remove_tree(dir);
    free(dir);
}

/* Expects fb_npy_read(path) to fail with FB_ERR_FORMAT and a message that
 * contains both the path and `phrase`. */
static void expect_rejected(const char *path, const char *phrase, const char *what)
{
    fb_npy_array array;
    fb_status status = fb_npy_read(path, &array);
    const char *message = fb_error_message();
    printf("[npy rejects %s] %s -> %s\n", what, fb_status_name(status), message);
    assert_int_equal(status, FB_ERR_FORMAT);
    assert_non_null(strstr(message, path));
    assert_non_null(strstr(message, phrase));
    assert_null(array.data);
}

static void test_rejections(void **state)
{
    (void)state;
    char *dir = make_temp_dir(), path[512];
    snprintf(path, sizeof path, "%s/bad.npy", dir);
    const float values[6] = { 1, 2, 3, 4, 5, 6 };
    const char *good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }";
    const struct {
        const char *dict;
        size_t data_bytes;
        const char *phrase;
        const char *what;
    } cases[] = {
        { "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24, "Fortran",
          "fortran order" },
        { "{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }", 24, "big-endian",
          "big-endian f4" },
        { "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", 24, "unsupported .npy dtype",
          "complex dtype" },
        { "{'descr': '|f4', 'fortran_order': False, 'shape': (6,), }", 24, "no byte order",
          "'|' on a 4-byte type" },
        { "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }", 24, "structured",
          "structured dtype" },
        { "{'descr': '<f4', 'shape': (6,), }", 24, "lacks the key 'fortran_order'", "missing key" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}", 24, "unknown key",
          "unknown key" },
        { "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", 24, "repeats",
          "repeated key" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (6 7), }", 24, "malformed",
          "bad shape syntax" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }", 24, "malformed",
          "negative size" },
        { good_dict, 20, "truncated", "short data" },
        { good_dict, 0, "truncated", "no data" },
        { good_dict, 28, "4 trailing bytes", "trailing bytes" },
    };
    uint8_t data[32] = { 0 };
    memcpy(data, values, sizeof values);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_raw(path, 1, cases[i].dict, 64, data, cases[i].data_bytes);
        expect_rejected(path, cases[i].phrase, cases[i].what);
    }

    FILE *f = fopen(path, "wb");
    fwrite("\x93NUMPX\x01\x00\x10\x00{}              ", 1, 26, f);
    fclose(f);
    expect_rejected(path, "bad magic", "bad magic");
    f = fopen(path, "wb");
    fwrite("\x93NUMPY\x04\x00\x10\x00{}              ", 1, 26, f);
    fclose(f);
    expect_rejected(path, "version 4.0", "version 4.0");
    f = fopen(path, "wb");
    fwrite("\x93NUMPY\x01\x00\x40\x00{'descr'", 1, 19, f);
    fclose(f);
    expect_rejected(path, "truncated", "header cut short");

    /* The writer refuses what it cannot describe. */
    assert_int_equal(fb_npy_write(path, FB_NPY_F32, 1, (int64_t[]){ -1 }, values), FB_ERR_USAGE);
    assert_int_equal(fb_npy_write(path, FB_NPY_F32, 9, (int64_t[9]){ 1 }, values), FB_ERR_USAGE);
    remove_tree(dir);
    free(dir);
}

/* NumPy reads our files and writes files we read (skipped without NumPy). */
static void test_numpy_interop(void **state)
{
    (void)state;
    const char *python = NULL;
    static const char *const candidates[] = { "/usr/bin/python3", "python3" };
    for (int i = 0; i < 2 && python == NULL; i++) {
        char probe[256];
        snprintf(probe, sizeof probe, "%s -c 'import numpy' >/dev/null 2>&1", candidates[i]);
        if (system(probe) == 0)
            python = candidates[i];
    }
    if (python == NULL) {
        printf("[numpy interop] no python3 with NumPy (apt-get install python3-numpy): skipped; "
               "the rest of the suite does not need it\n");
        return;
    }
    char *dir = make_temp_dir(), ours[512], theirs[512], script[512], command[2048];
    snprintf(ours, sizeof ours, "%s/ours.npy", dir);
    snprintf(theirs, sizeof theirs, "%s/theirs.npy", dir);
    snprintf(script, sizeof script, "%s/check.py", dir);
    float values[2 * 3 * 4];
    fill_uniform(values, 24, 7, -1.0f, 1.0f);
    assert_int_equal(fb_npy_write(ours, FB_NPY_F32, 3, (int64_t[]){ 2, 3, 4 }, values), FB_OK);
    FILE *f = fopen(script, "w");
    fprintf(f, "import sys, numpy as np\n"
               "a = np.load(sys.argv[1])\n"
               "assert a.dtype == np.float32 and a.shape == (2, 3, 4), (a.dtype, a.shape)\n"
               "np.save(sys.argv[2], (a.astype(np.float64) * 2).T.copy())\n");
    fclose(f);
    snprintf(command, sizeof command, "%s %s %s %s", python, script, ours, theirs);
    assert_int_equal(system(command), 0);
    fb_npy_array back;
    assert_int_equal(fb_npy_read(theirs, &back), FB_OK);
    assert_int_equal(back.dtype, FB_NPY_F64);
    assert_int_equal(back.ndim, 3);
    assert_int_equal(back.shape[0], 4);
    assert_int_equal(back.shape[2], 2);
    double want[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                want[(k * 3 + j) * 2 + i] = 2.0 * values[(i * 3 + j) * 4 + k];
    assert_true(compare_f64("numpy load(ours) -> 2*a.T -> our read", back.data, want, 24, 0).ok);
    fb_npy_free(&back);
    remove_tree(dir);
    free(dir);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_tolerant_parsing),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_numpy_interop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
