/* test_dct.c — the DCT square low-pass against its definition: a naive
 * orthogonal DCT-II in double (keep u < k and v < k, invert), plus the
 * identity at k = side and the plane mean at k = 1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "freqbias/runtime.h"
#include "freqbias/spectrum.h"
#include "testutil.h"

#define PI 3.14159265358979323846

/* Orthonormal 1-D DCT-II basis value: c(u) cos(π u (2n+1) / 2N). */
static double basis(int u, int n, int size)
{
    double c = u == 0 ? sqrt(1.0 / size) : sqrt(2.0 / size);
    return c * cos(PI * u * (2 * n + 1) / (2.0 * size));
}

/* out = B_hᵀ · mask(B_h · x · B_wᵀ) · B_w in double */
static void naive_lowpass(double *out /*[h,w]*/, const float *x /*[h,w]*/, int h, int w, int k)
{
    double coefficients[16][16];
    for (int u = 0; u < h; u++)
        for (int v = 0; v < w; v++) {
            double s = 0.0;
            for (int y = 0; y < h; y++)
                for (int z = 0; z < w; z++)
                    s += basis(u, y, h) * basis(v, z, w) * x[y * w + z];
            coefficients[u][v] = (u < k && v < k) ? s : 0.0;
        }
    for (int y = 0; y < h; y++)
        for (int z = 0; z < w; z++) {
            double s = 0.0;
            for (int u = 0; u < h; u++)
                for (int v = 0; v < w; v++)
                    s += basis(u, y, h) * basis(v, z, w) * coefficients[u][v];
            out[y * w + z] = s;
        }
}

static void test_dct_lowpass(void **state)
{
    (void)state;
    const int h = 6, w = 10;
    float x[60], got[60];
    double want[60];
    fill_uniform(x, 60, 41, -1.0f, 1.0f);
    int ok = 1;
    for (int k = 1; k <= 10; k += 3) {
        char label[64];
        assert_int_equal(fb_dct_square_lowpass(got, x, 1, h, w, k), FB_OK);
        naive_lowpass(want, x, h, w, k);
        snprintf(label, sizeof label, "DCT low-pass k=%d on 6x10 vs naive DCT-II", k);
        ok &= compare_f32_f64(label, got, want, 60, 1e-5).ok;
    }
    /* k = 1: every pixel becomes the mean */
    assert_int_equal(fb_dct_square_lowpass(got, x, 1, h, w, 1), FB_OK);
    double mean = 0.0;
    for (int i = 0; i < 60; i++)
        mean += x[i] / 60.0;
    double means[60];
    for (int i = 0; i < 60; i++)
        means[i] = mean;
    ok &= compare_f32_f64("DCT low-pass k=1 is the plane mean", got, means, 60, 1e-5).ok;
    assert_true(ok);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dct_lowpass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
