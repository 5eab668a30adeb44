/* test_spectrum.c — the spectrum module against definitions, hand counts and numpy.
 *
 * FFT: fft2 against a naive double-precision DFT (square, odd, non-square,
 * single row/column), the round trip, the half-spectrum functions, and the
 * inverse of a non-Hermitian spectrum. fftshift/ifftshift against numpy and
 * the roll definition for even and odd sizes. Masks: the C1 low-mask sizes
 * at 32×32 (45 ... 927), complements and bands, Hermitian symmetry; the
 * seed's C3 masks (276 / 692 / 56) and their general-size form against numpy.
 * Azimuthal averages: pixel counts per band, exact results on hand-made
 * images, numpy references of |F| and 20·ln(1+|F|) in both conventions.
 * Filter: numpy references (C1 r = 4, 12 and C3 r = 10; norm none and minmax),
 * X_l + X_h = x, 1 vs 2 threads bit-identical, errors.
 *
 * References: ref_data/spectrum_ref.safetensors, made by
 * ref_data/gen/make_spectrum.py (numpy float64, stored float32).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/runtime.h"
#include "freqbias/safetensors.h"
#include "freqbias/spectrum.h"
#include "testutil.h"

/* ---- tolerances of this file (relative to the reference's max |value|) --- */

/* float32 FFT vs a double DFT: FFTW's rounding error grows like
 * ε·log2(H·W) ≈ 6e-8 · 10 relative to the spectrum's norm; measured ≤ 1.6e-7
 * relative to max|X| (naive DFT and numpy). A wrong twiddle, sign or index
 * gives O(1). */
#define TOL_SPEC_FFT 2e-6
/* ifft2(fft2(x)) = x in float32: two transforms' rounding, ≤ 3.6e-7 measured. */
#define TOL_SPEC_ROUNDTRIP 2e-6
/* Filtered images vs numpy float64: two float32 FFTs, ~2e-7 of the input
 * scale (1); relative to max|ref| that grows for high-pass images, whose max
 * is ~0.2 (measured worst 9e-7, high r12 none; min-max ones ≤ 6e-7). */
#define TOL_SPEC_FILTER 1e-5
/* Azimuthal averages of |F| and 20·ln(1+|F|) of float32 spectra (band means
 * summed in double): the FFT's relative error carries through (measured
 * ≤ 2.7e-7). */
#define TOL_SPEC_RADIAL 1e-5
/* Grayscale in float vs float64: three products and two sums, ~2 ulp. */
#define TOL_SPEC_GRAY 1e-6
/* |X_l + X_h − x| on [0,1] images, absolute: each of the two filtered images
 * carries ~1e-7 of FFT rounding (measured 3.4e-7 worst; 4.4e-5 on 0–255
 * pixels, checked against 255× this bound). */
#define TOL_SPEC_SUM_UNIT 1e-6

/* ---- helpers ------------------------------------------------------------- */

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    assert_non_null(p);
    return p;
}

static float *aligned_floats(size_t n)
{
    float *p = aligned_alloc(64, ((n * sizeof(float)) + 63) & ~(size_t)63);
    assert_non_null(p);
    return p;
}

static fb_st_file ref_file;
static int ref_loaded;

static const float *ref(const char *name, size_t expect_count)
{
    if (!ref_loaded) {
        char path[512];
        snprintf(path, sizeof path, "%s/spectrum_ref.safetensors", ref_data_dir());
        if (fb_st_read(path, &ref_file) != FB_OK)
            fail_msg("%s (regenerate: /usr/bin/python3 ref_data/gen/make_spectrum.py)",
                     fb_error_message());
        ref_loaded = 1;
    }
    const fb_st_entry *e = fb_st_find(&ref_file, name);
    if (!e)
        fail_msg("spectrum_ref.safetensors has no tensor '%s'", name);
    assert_int_equal((long long)fb_st_numel(e), (long long)expect_count);
    return e->data;
}

/* out[H,W,2] = Σ x[m,n] e^{−2πi(km/H + ln/W)} in double, exact angle reduction. */
static void naive_dft(double *out, const float *x, int h, int w)
{
    const double tau = 6.283185307179586476925286766559;
    for (int k = 0; k < h; k++)
        for (int l = 0; l < w; l++) {
            double re = 0.0, im = 0.0;
            for (int m = 0; m < h; m++)
                for (int n = 0; n < w; n++) {
                    double a = tau * ((double)((k * m) % h) / h + (double)((l * n) % w) / w);
                    re += x[m * w + n] * cos(a);
                    im -= x[m * w + n] * sin(a);
                }
            out[(k * w + l) * 2] = re;
            out[(k * w + l) * 2 + 1] = im;
        }
}

/* out[H,W] = real(1/(HW) Σ X[k,l] e^{+2πi(km/H + ln/W)}) in double. */
static void naive_idft_real(double *out, const float *spectrum, int h, int w)
{
    const double tau = 6.283185307179586476925286766559;
    for (int m = 0; m < h; m++)
        for (int n = 0; n < w; n++) {
            double re = 0.0;
            for (int k = 0; k < h; k++)
                for (int l = 0; l < w; l++) {
                    double a = tau * ((double)((k * m) % h) / h + (double)((l * n) % w) / w);
                    re += spectrum[(k * w + l) * 2] * cos(a) - spectrum[(k * w + l) * 2 + 1] * sin(a);
                }
            out[m * w + n] = re / ((double)h * w);
        }
}

/* ---- FFT ----------------------------------------------------------------- */

static void test_fft_vs_naive(void **state)
{
    (void)state;
    static const int sizes[][2] = {{32, 32}, {7, 10}, {5, 5}, {6, 15}, {1, 8}, {9, 1}, {3, 4}, {16, 9}};
    int ok = 1;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int h = sizes[s][0], w = sizes[s][1], count = 3;
        size_t hw = (size_t)h * w;
        float *x = xmalloc(count * hw * sizeof *x);               /* [3, H, W] */
        float *spec = xmalloc(count * hw * 2 * sizeof *spec);     /* [3, H, W, 2] */
        float *back = xmalloc(count * hw * sizeof *back);         /* [3, H, W] */
        double *want = xmalloc(hw * 2 * sizeof *want);            /* [H, W, 2] */
        fill_uniform(x, count * hw, 100 + s, -1.0f, 1.0f);
        assert_int_equal(fb_fft2(spec, x, count, h, w), FB_OK);
        char label[96];
        for (int p = 0; p < count; p++) {
            naive_dft(want, x + p * hw, h, w);
            snprintf(label, sizeof label, "fft2 %dx%d plane %d vs naive DFT", h, w, p);
            ok &= compare_f32_f64(label, spec + p * hw * 2, want, hw * 2, TOL_SPEC_FFT).ok;
        }
        float ratio = -1.0f;
        assert_int_equal(fb_ifft2_real(back, spec, count, h, w, &ratio), FB_OK);
        snprintf(label, sizeof label, "ifft2(fft2(x)) %dx%d = x (imag/real %.1e)", h, w, ratio);
        ok &= compare_f32(label, back, x, count * hw, TOL_SPEC_ROUNDTRIP).ok;
        ok &= ratio >= 0.0f && ratio < 1e-5f;

        /* the inverse of an arbitrary (non-Hermitian) spectrum: real part */
        fill_uniform(spec, hw * 2, 200 + s, -1.0f, 1.0f);
        assert_int_equal(fb_ifft2_real(back, spec, 1, h, w, &ratio), FB_OK);
        naive_idft_real(want, spec, h, w);
        snprintf(label, sizeof label, "real(ifft2(random X)) %dx%d vs naive (imag/real %.2f)", h,
                 w, ratio);
        ok &= compare_f32_f64(label, back, want, hw, TOL_SPEC_FFT).ok;
        if (hw > 2)
            ok &= ratio > 0.01f; /* a random spectrum has a real imaginary part */

        /* half spectrum = the first W/2+1 columns; irfft2 inverts it */
        int wh = w / 2 + 1;
        float *work = aligned_floats(fb_fft_work_floats(h, w));
        float *half = xmalloc((size_t)h * wh * 2 * sizeof *half); /* [H, W/2+1, 2] */
        assert_int_equal(fb_fft2(spec, x, 1, h, w), FB_OK);
        assert_int_equal(fb_rfft2_plane(half, x, h, w, work), FB_OK);
        int same = 1;
        for (int k = 0; k < h; k++)
            same &= memcmp(half + (size_t)k * wh * 2, spec + (size_t)k * w * 2,
                           (size_t)wh * 2 * sizeof(float)) == 0;
        printf("[rfft2 %dx%d] columns 0..W/2 of fft2: %s\n", h, w, same ? "identical" : "DIFFER");
        ok &= same;
        assert_int_equal(fb_irfft2_plane(back, half, h, w, work), FB_OK);
        snprintf(label, sizeof label, "irfft2(rfft2(x)) %dx%d = x", h, w);
        ok &= compare_f32(label, back, x, hw, TOL_SPEC_ROUNDTRIP).ok;
        free(work);
        free(half);
        free(x);
        free(spec);
        free(back);
        free(want);
    }
    assert_true(ok);
}

static void test_fft_vs_numpy(void **state)
{
    (void)state;
    float spec[32 * 32 * 2]; /* [32, 32, 2] */
    assert_int_equal(fb_fft2(spec, ref("gray", 4 * 1024), 1, 32, 32), FB_OK);
    int ok = compare_f32("fft2(gray[0]) vs numpy", spec, ref("fft_gray0", 2048), 2048,
                         TOL_SPEC_FFT).ok;
    float odd[7 * 10 * 2]; /* [7, 10, 2] */
    assert_int_equal(fb_fft2(odd, ref("fft_rand_7x10_in", 70), 1, 7, 10), FB_OK);
    ok &= compare_f32("fft2 7x10 vs numpy", odd, ref("fft_rand_7x10", 140), 140, TOL_SPEC_FFT).ok;
    assert_true(ok);
}

static void test_fftshift(void **state)
{
    (void)state;
    static const int sizes[][2] = {{5, 7}, {6, 4}, {5, 4}};
    int ok = 1;
    for (int s = 0; s < 3; s++) {
        int h = sizes[s][0], w = sizes[s][1], hw = h * w;
        char name[64], label[96];
        snprintf(name, sizeof name, "shift_in_%dx%d", h, w);
        const float *in = ref(name, (size_t)hw);
        float got[64], cin[128], cgot[128], cback[128];
        snprintf(name, sizeof name, "fftshift_%dx%d", h, w);
        fb_fftshift_real(got, in, h, w);
        snprintf(label, sizeof label, "fftshift %dx%d vs numpy", h, w);
        ok &= compare_f32(label, got, ref(name, (size_t)hw), (size_t)hw, 0.0).ok;
        snprintf(name, sizeof name, "ifftshift_%dx%d", h, w);
        fb_ifftshift_real(got, in, h, w);
        snprintf(label, sizeof label, "ifftshift %dx%d vs numpy", h, w);
        ok &= compare_f32(label, got, ref(name, (size_t)hw), (size_t)hw, 0.0).ok;

        /* complex: out[s,t] = in[(s − H/2) mod H, (t − W/2) mod W], and back */
        for (int p = 0; p < hw; p++) {
            cin[2 * p] = (float)p;
            cin[2 * p + 1] = (float)-p - 0.5f;
        }
        fb_fftshift_complex(cgot, cin, h, w);
        int bad = 0;
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                int src = ((i - h / 2 + h) % h) * w + (j - w / 2 + w) % w;
                bad += cgot[2 * (i * w + j)] != cin[2 * src] ||
                       cgot[2 * (i * w + j) + 1] != cin[2 * src + 1];
            }
        fb_ifftshift_complex(cback, cgot, h, w);
        bad += memcmp(cback, cin, (size_t)hw * 2 * sizeof(float)) != 0;
        printf("[fftshift complex %dx%d] definition and ifftshift inverse: %d mismatches\n", h, w,
               bad);
        ok &= bad == 0;
    }
    assert_true(ok);
}

/* ---- masks --------------------------------------------------------------- */

static void test_masks(void **state)
{
    (void)state;
    static const int radii[] = {4, 8, 10, 12, 14, 16, 18};
    static const int sizes[] = {45, 193, 305, 437, 609, 793, 927};
    float low[33 * 33], high[33 * 33], band[33 * 33]; /* [H, W] each */
    for (int i = 0; i < 7; i++) {
        int n_low = fb_mask_low(low, 32, 32, radii[i]);
        int n_high = fb_mask_high(high, 32, 32, radii[i]);
        printf("[C1 32x32 r=%d] low %d (want %d), high %d, hermitian violations %d/%d\n",
               radii[i], n_low, sizes[i], n_high, fb_mask_hermitian_violations(low, 32, 32),
               fb_mask_hermitian_violations(high, 32, 32));
        assert_int_equal(n_low, sizes[i]);
        assert_int_equal(fb_mask_count(low, 32, 32), sizes[i]);
        assert_int_equal(n_high, 1024 - sizes[i]);
        for (int p = 0; p < 1024; p++)
            assert_true(low[p] + high[p] == 1.0f);
        assert_int_equal(fb_mask_hermitian_violations(low, 32, 32), 0);
        assert_int_equal(fb_mask_hermitian_violations(high, 32, 32), 0);
    }
    assert_float_equal(high[16 * 32 + 16], 0.0f, 0.0f); /* r = 18: the DC is low */
    fb_mask_low(low, 32, 32, 4);
    assert_float_equal(low[16 * 32 + 16], 1.0f, 0.0f); /* the DC bin is at (16,16) */
    assert_int_equal(fb_mask_band(band, 32, 32, 8, 12), 437 - 193);
    /* odd and non-square sizes: still Hermitian about the shifted DC bin */
    static const int shapes[][2] = {{33, 33}, {31, 24}, {5, 8}, {7, 7}};
    for (int s = 0; s < 4; s++) {
        int h = shapes[s][0], w = shapes[s][1];
        int n = fb_mask_low(low, h, w, 3.5);
        int v = fb_mask_hermitian_violations(low, h, w);
        printf("[C1 %dx%d r=3.5] low %d, hermitian violations %d\n", h, w, n, v);
        assert_int_equal(v, 0);
        assert_float_equal(low[(h / 2) * w + w / 2], 1.0f, 0.0f);
    }
    /* a mask that is not symmetric is caught */
    fb_mask_low(low, 32, 32, 4);
    low[16 * 32 + 17] = 0.0f;
    assert_int_equal(fb_mask_hermitian_violations(low, 32, 32), 2);
    assert_int_equal(fb_mask_low(low, 0, 32, 4), -1);
    printf("[bad shape] %s\n", fb_error_message());
}

static void test_cdes_masks(void **state)
{
    (void)state;
    float low[33 * 33], high[33 * 33]; /* [H, W] */
    int nl, nh;
    assert_int_equal(fb_mask_cdes(low, high, 32, 32, 10, &nl, &nh), FB_OK);
    int neither = 0;
    for (int p = 0; p < 1024; p++)
        neither += low[p] == 0.0f && high[p] == 0.0f;
    printf("[C3 32x32 r=10] low %d high %d neither %d, hermitian violations low %d high %d\n", nl,
           nh, neither, fb_mask_hermitian_violations(low, 32, 32),
           fb_mask_hermitian_violations(high, 32, 32));
    assert_int_equal(nl, 276);
    assert_int_equal(nh, 692);
    assert_int_equal(neither, 56);
    assert_true(fb_mask_hermitian_violations(low, 32, 32) > 0); /* centred at 15.5, not 16 */
    static const int cases[][3] = {{32, 32, 10}, {33, 33, 10}, {31, 24, 6}};
    int ok = 1;
    for (int c = 0; c < 3; c++) {
        int h = cases[c][0], w = cases[c][1], r = cases[c][2];
        char name[64], label[64];
        assert_int_equal(fb_mask_cdes(low, high, h, w, r, &nl, &nh), FB_OK);
        snprintf(name, sizeof name, "cdes_low_%dx%d_r%d", h, w, r);
        snprintf(label, sizeof label, "C3 low %dx%d r=%d (%d) vs numpy", h, w, r, nl);
        ok &= compare_f32(label, low, ref(name, (size_t)h * w), (size_t)h * w, 0.0).ok;
        snprintf(name, sizeof name, "cdes_high_%dx%d_r%d", h, w, r);
        snprintf(label, sizeof label, "C3 high %dx%d r=%d (%d) vs numpy", h, w, r, nh);
        ok &= compare_f32(label, high, ref(name, (size_t)h * w), (size_t)h * w, 0.0).ok;
    }
    assert_true(ok);
}

/* ---- azimuthal average --------------------------------------------------- */

static void test_radial_counts_and_hand_images(void **state)
{
    (void)state;
    static const int want_counts[20] = {8,  20, 20, 28,  32, 44, 52, 48, 60, 68,
                                        64, 92, 76, 100, 96, 68, 52, 32, 36, 12};
    fb_radial_bins fb, cen;
    assert_int_equal(fb_radial_init(&fb, 32, 32, FB_RADIAL_FREQBIAS), FB_OK);
    assert_int_equal(fb_radial_init(&cen, 32, 32, FB_RADIAL_CENTERED), FB_OK);
    printf("[radial 32x32] freqbias %d bands, centered %d bands\n", fb.bands, cen.bands);
    assert_int_equal(fb.bands, 20);
    assert_int_equal(cen.bands, 24);
    for (int b = 0; b < 20; b++)
        assert_int_equal(fb.counts[b], want_counts[b]);
    const int32_t *cen_want = (const int32_t *)ref("ai_centered_counts", 24);
    const int32_t *fb_want = (const int32_t *)ref("ai_freqbias_counts", 20);
    for (int b = 0; b < 24; b++)
        assert_int_equal(cen.counts[b], cen_want[b]);
    for (int b = 0; b < 20; b++)
        assert_int_equal(fb.counts[b], fb_want[b]);

    /* hand-made images: exact results */
    float img[2 * 1024], prof[2 * 24]; /* [2, 32, 32], [2, bands] */
    memset(img, 0, sizeof img);
    img[17 * 32 + 17] = 1.0f;                 /* radius hypot(1.5,1.5) = 2.12: ring 2 = band 1 */
    img[16 * 32 + 16] = 5.0f;                 /* radius 0.71: ring 0, dropped */
    img[0] = 7.0f;                            /* corner, radius 21.9: last ring, dropped */
    for (int y = 0; y < 32; y++)              /* plane 1: ring number of each pixel */
        for (int x = 0; x < 32; x++)
            img[1024 + y * 32 + x] = (float)(int)hypot(y - 15.5, x - 15.5);
    assert_int_equal(fb_radial_average(prof, img, 2, &fb), FB_OK);
    for (int b = 0; b < 20; b++) {
        assert_float_equal(prof[b], b == 1 ? 1.0f / 20.0f : 0.0f, 0.0f);
        assert_float_equal(prof[20 + b], (float)(b + 1), 0.0f);
    }
    printf("[radial freqbias hand images] delta at (17,17) -> band 1 = 1/20; ring image -> 1..20: exact\n");
    /* centered: the DC bin alone is band 0; (17,17) has radius 1.41 → band 1 (8 pixels) */
    assert_int_equal(fb_radial_average(prof, img, 1, &cen), FB_OK);
    assert_float_equal(prof[0], 5.0f, 0.0f);
    assert_float_equal(prof[1], 1.0f / 8.0f, 0.0f);
    assert_float_equal(prof[23], 7.0f, 0.0f);  /* (0,0): radius 22.6 → 23, alone */
    printf("[radial centered hand image] DC 5, band 1 = 1/8, corner band 23 = 7: exact\n");
    fb_radial_free(&fb);
    fb_radial_free(&cen);
}

static void test_radial_vs_numpy(void **state)
{
    (void)state;
    const float *images = ref("images", 4 * 3072);
    float gray[4 * 1024], spec[4 * 1024 * 2], shifted[1024 * 2]; /* [4,32,32] [4,32,32,2] */
    float mag[4 * 1024], logmag[4 * 1024], prof[4 * 24];          /* [4,32,32] x2, [4, bands] */
    fb_grayscale(gray, images, 4, 32, 32);
    int ok = compare_f32("grayscale vs numpy", gray, ref("gray", 4096), 4096, TOL_SPEC_GRAY).ok;
    assert_int_equal(fb_fft2(spec, gray, 4, 32, 32), FB_OK);
    for (int n = 0; n < 4; n++) {
        fb_fftshift_complex(shifted, spec + n * 2048, 32, 32);
        fb_spectrum_magnitude(mag + n * 1024, shifted, 1024);
        fb_spectrum_log_magnitude(logmag + n * 1024, shifted, 1024);
    }
    static const fb_radial_convention conventions[2] = {FB_RADIAL_FREQBIAS, FB_RADIAL_CENTERED};
    for (int c = 0; c < 2; c++) {
        fb_radial_bins bins;
        assert_int_equal(fb_radial_init(&bins, 32, 32, conventions[c]), FB_OK);
        const char *cname = fb_radial_convention_name(conventions[c]);
        char name[64], label[96];
        assert_int_equal(fb_radial_average(prof, mag, 4, &bins), FB_OK);
        snprintf(name, sizeof name, "ai_%s_mag", cname);
        snprintf(label, sizeof label, "AI %s of |F| vs numpy", cname);
        ok &= compare_f32(label, prof, ref(name, 4 * (size_t)bins.bands), 4 * (size_t)bins.bands,
                          TOL_SPEC_RADIAL).ok;
        assert_int_equal(fb_radial_average(prof, logmag, 4, &bins), FB_OK);
        snprintf(name, sizeof name, "ai_%s_log", cname);
        snprintf(label, sizeof label, "AI %s of 20ln(1+|F|) vs numpy", cname);
        ok &= compare_f32(label, prof, ref(name, 4 * (size_t)bins.bands), 4 * (size_t)bins.bands,
                          TOL_SPEC_RADIAL).ok;
        fb_radial_free(&bins);
    }
    /* power = magnitude² */
    float power[1024];
    fb_spectrum_power(power, spec, 1024);
    fb_spectrum_magnitude(mag, spec, 1024);
    for (int p = 0; p < 1024; p++)
        mag[p] *= mag[p];
    ok &= compare_f32("power vs magnitude^2", power, mag, 1024, 1e-6).ok;
    assert_true(ok);
}

/* ---- filter -------------------------------------------------------------- */

static void test_filter_vs_numpy(void **state)
{
    (void)state;
    const size_t n = 4 * 3072;
    const float *images = ref("images", n);
    /* the helper gives the reference's input bit for bit */
    char path[512];
    snprintf(path, sizeof path, "%s/cifar10_test512.bin", ref_data_dir());
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t records[4 * 3073];
    assert_int_equal(fread(records, 1, sizeof records, f), sizeof records);
    fclose(f);
    float *x = xmalloc(n * sizeof *x), *y = xmalloc(n * sizeof *y); /* [4, 3, 32, 32] */
    for (int i = 0; i < 4; i++)
        fb_u8_to_unit(x + i * 3072, records + i * 3073 + 1, 3072);
    assert_true(compare_bits("uint8/255 helper vs numpy input", x, images, n * sizeof(float)));

    float mask[1024]; /* [32, 32] */
    int ok = 1;
    static const int radii[2] = {4, 12};
    for (int r = 0; r < 2; r++)
        for (int kind = 0; kind < 2; kind++)
            for (int norm = 0; norm < 2; norm++) {
                if (kind == 0)
                    fb_mask_low(mask, 32, 32, radii[r]);
                else
                    fb_mask_high(mask, 32, 32, radii[r]);
                float ratio = -1.0f;
                assert_int_equal(fb_spectral_filter(y, x, 4, 3, 32, 32, mask,
                                                    norm ? FB_NORM_MINMAX : FB_NORM_NONE, &ratio),
                                 FB_OK);
                char name[64], label[96];
                snprintf(name, sizeof name, "filter_%s_r%d_%s", kind ? "high" : "low", radii[r],
                         fb_norm_name(norm ? FB_NORM_MINMAX : FB_NORM_NONE));
                snprintf(label, sizeof label, "%s vs numpy", name);
                ok &= compare_f32(label, y, ref(name, n), n, TOL_SPEC_FILTER).ok;
                ok &= ratio == 0.0f;
            }
    float low[1024], high[1024]; /* [32, 32] */
    assert_int_equal(fb_mask_cdes(low, high, 32, 32, 10, NULL, NULL), FB_OK);
    float ratio;
    assert_int_equal(fb_spectral_filter(y, x, 4, 3, 32, 32, low, FB_NORM_NONE, &ratio), FB_OK);
    printf("[C3 low filter] imag/real of the dropped part %.3f\n", ratio);
    ok &= compare_f32("filter_cdes_low_r10_none vs numpy", y, ref("filter_cdes_low_r10_none", n),
                      n, TOL_SPEC_FILTER).ok;
    ok &= ratio > 1e-3f; /* not Hermitian: the real part drops signal */
    assert_int_equal(fb_spectral_filter(y, x, 4, 3, 32, 32, high, FB_NORM_NONE, &ratio), FB_OK);
    ok &= compare_f32("filter_cdes_high_r10_none vs numpy", y, ref("filter_cdes_high_r10_none", n),
                      n, TOL_SPEC_FILTER).ok;
    /* in place */
    memcpy(y, x, n * sizeof *y);
    fb_mask_low(mask, 32, 32, 12);
    assert_int_equal(fb_spectral_filter(y, y, 4, 3, 32, 32, mask, FB_NORM_NONE, NULL), FB_OK);
    ok &= compare_f32("filter in place (low r12 none)", y, ref("filter_low_r12_none", n), n,
                      TOL_SPEC_FILTER).ok;
    free(x);
    free(y);
    assert_true(ok);
}

static void test_low_plus_high(void **state)
{
    (void)state;
    const size_t n = 4 * 3072;
    const float *images = ref("images", n);
    float *xl = xmalloc(n * sizeof *xl), *xh = xmalloc(n * sizeof *xh); /* [4, 3, 32, 32] */
    float *x255 = xmalloc(n * sizeof *x255);                            /* [4, 3, 32, 32] */
    for (size_t i = 0; i < n; i++)
        x255[i] = images[i] * 255.0f;
    float mask[1024];
    int ok = 1;
    static const int radii[] = {4, 8, 10, 12, 14, 16, 18};
    for (int r = 0; r < 7; r++) {
        fb_mask_low(mask, 32, 32, radii[r]);
        assert_int_equal(fb_spectral_filter(xl, images, 4, 3, 32, 32, mask, FB_NORM_NONE, NULL),
                         FB_OK);
        fb_mask_high(mask, 32, 32, radii[r]);
        assert_int_equal(fb_spectral_filter(xh, images, 4, 3, 32, 32, mask, FB_NORM_NONE, NULL),
                         FB_OK);
        double e = fb_check_low_high_sum(images, xl, xh, n);
        printf("[X_l + X_h = x, r=%d, [0,1] pixels] max abs error %.2e\n", radii[r], e);
        ok &= e <= TOL_SPEC_SUM_UNIT;
    }
    /* 0-255 pixels (HARS scale): the error scales with the pixels */
    fb_mask_low(mask, 32, 32, 12);
    assert_int_equal(fb_spectral_filter(xl, x255, 4, 3, 32, 32, mask, FB_NORM_NONE, NULL), FB_OK);
    fb_mask_high(mask, 32, 32, 12);
    assert_int_equal(fb_spectral_filter(xh, x255, 4, 3, 32, 32, mask, FB_NORM_NONE, NULL), FB_OK);
    double e = fb_check_low_high_sum(x255, xl, xh, n);
    printf("[X_l + X_h = x, r=12, 0-255 pixels] max abs error %.2e\n", e);
    ok &= e <= 255.0 * TOL_SPEC_SUM_UNIT;
    free(xl);
    free(xh);
    free(x255);
    assert_true(ok);
}

static void test_threads_bit_identical(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/cifar10_test512.bin", ref_data_dir());
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    const int count = 64;
    uint8_t *records = xmalloc((size_t)count * 3073);
    assert_int_equal(fread(records, 1, (size_t)count * 3073, f), (size_t)count * 3073);
    fclose(f);
    size_t n = (size_t)count * 3072;
    float *x = xmalloc(n * sizeof *x), *a = xmalloc(n * sizeof *a), *b = xmalloc(n * sizeof *b);
    for (int i = 0; i < count; i++)
        fb_u8_to_unit(x + (size_t)i * 3072, records + (size_t)i * 3073 + 1, 3072);
    int saved = fb_get_threads(), ok = 1;
    float mask[1024], cdes_high[1024];
    fb_mask_low(mask, 32, 32, 12);
    fb_mask_cdes(NULL, cdes_high, 32, 32, 10, NULL, NULL);
    const float *masks[2] = {mask, cdes_high};
    const char *labels[2] = {"filter low r12 minmax: 1 vs 2 threads",
                             "filter C3 high r10 minmax: 1 vs 2 threads"};
    for (int m = 0; m < 2; m++) {
        fb_set_threads(1);
        assert_int_equal(fb_spectral_filter(a, x, count, 3, 32, 32, masks[m], FB_NORM_MINMAX, NULL),
                         FB_OK);
        fb_set_threads(2);
        assert_int_equal(fb_spectral_filter(b, x, count, 3, 32, 32, masks[m], FB_NORM_MINMAX, NULL),
                         FB_OK);
        ok &= compare_bits(labels[m], a, b, n * sizeof(float));
    }
    fb_set_threads(saved);
    free(records);
    free(x);
    free(a);
    free(b);
    assert_true(ok);
}

static void test_errors(void **state)
{
    (void)state;
    float buf[64];
    float *work = aligned_floats(fb_fft_work_floats(3, 17));
    fb_status s = fb_fft2_plane(buf, buf, 3, 17, work); /* never prepared */
    printf("[unprepared plane] %s: %s\n", fb_status_name(s), fb_error_message());
    assert_int_equal(s, FB_ERR_USAGE);
    assert_int_equal(fb_fft_prepare(3, 17), FB_OK);
    s = fb_fft2_plane(buf, buf, 3, 17, work + 1); /* misaligned scratch */
    printf("[misaligned scratch] %s: %s\n", fb_status_name(s), fb_error_message());
    assert_int_equal(s, FB_ERR_USAGE);
    assert_int_equal(fb_fft2(buf, buf, 1, 0, 4), FB_ERR_USAGE);
    assert_int_equal(fb_fft2(buf, buf, -1, 4, 4), FB_ERR_USAGE);
    fb_radial_bins bins;
    assert_int_equal(fb_radial_init(&bins, 1, 1, FB_RADIAL_FREQBIAS), FB_ERR_USAGE);
    printf("[tiny radial] %s\n", fb_error_message());
    assert_int_equal(fb_spectral_filter(buf, buf, 1, 0, 4, 4, buf, FB_NORM_NONE, NULL),
                     FB_ERR_USAGE);
    assert_int_equal(fb_mask_cdes(buf, buf, 4, 4, -1, NULL, NULL), FB_ERR_USAGE);
    /* min-max of a constant plane is 0, not NaN */
    for (int i = 0; i < 16; i++)
        buf[i] = 3.0f;
    fb_minmax_planes(buf, 1, 16);
    for (int i = 0; i < 16; i++)
        assert_float_equal(buf[i], 0.0f, 0.0f);
    free(work);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fft_vs_naive),
        cmocka_unit_test(test_fft_vs_numpy),
        cmocka_unit_test(test_fftshift),
        cmocka_unit_test(test_masks),
        cmocka_unit_test(test_cdes_masks),
        cmocka_unit_test(test_radial_counts_and_hand_images),
        cmocka_unit_test(test_radial_vs_numpy),
        cmocka_unit_test(test_filter_vs_numpy),
        cmocka_unit_test(test_low_plus_high),
        cmocka_unit_test(test_threads_bit_identical),
        cmocka_unit_test(test_errors),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (ref_loaded)
        fb_st_free(&ref_file);
    fb_fft_cleanup();
    return failed;
}
