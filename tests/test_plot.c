/* test_plot.c — figures: the pixels behind them, not the PNG bytes.
 *
 * Colormap endpoints and the sequential map's rising luminance; 1-2-5
 * ticks; text and lines landing where they should; heat-map cells with
 * row 0 at the bottom; line-chart markers at the pixels the frame predicts;
 * image-grid tiles holding the input values; PNG files that decode (with
 * stb_image) to exactly the canvas that was rendered; and a missing folder
 * reported as an I/O error that names the path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

#include "freqbias/plot.h"
#include "freqbias/runtime.h"
#include "testutil.h"

static int same_rgb(fb_rgb a, fb_rgb b)
{
    return a.r == b.r && a.g == b.g && a.b == b.b;
}

static fb_rgb from_map(void (*map)(double, uint8_t *), double v)
{
    uint8_t c[3];
    map(v, c);
    fb_rgb out = {c[0], c[1], c[2]};
    return out;
}

static double luminance(const uint8_t c[3])
{
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

static void test_colormaps(void **state)
{
    (void)state;
    uint8_t c[3];
    fb_colormap_jet(0.0, c);
    assert_true(c[0] == 0 && c[1] == 0 && c[2] == 128); /* dark blue */
    fb_colormap_jet(1.0, c);
    assert_true(c[0] == 128 && c[1] == 0 && c[2] == 0); /* dark red  */
    fb_colormap_jet(0.5, c);
    assert_true(c[0] == 128 && c[1] == 255 && c[2] == 128);
    fb_colormap_jet(-3.0, c);
    assert_true(c[0] == 0 && c[1] == 0 && c[2] == 128); /* clamped */
    fb_colormap_jet(NAN, c);
    assert_true(c[0] == 128 && c[1] == 128 && c[2] == 128);

    fb_colormap_viridis(0.0, c);
    assert_true(c[0] == 68 && c[1] == 1 && c[2] == 84);
    fb_colormap_viridis(1.0, c);
    assert_true(c[0] == 253 && c[1] == 231 && c[2] == 37);
    fb_colormap_viridis(7.0, c);
    assert_true(c[0] == 253 && c[1] == 231 && c[2] == 37);
    /* 256 steps, the resolution of an 8-bit map: each step no darker (finer
     * steps can dip by a rounding unit); 16 steps: each clearly brighter */
    for (int steps = 16; steps <= 256; steps *= 16) {
        double previous = -1, least = 1e9;
        for (int i = 0; i <= steps; i++) {
            fb_colormap_viridis((double)i / steps, c);
            double y = luminance(c);
            if (i > 0 && y - previous < least)
                least = y - previous;
            previous = y;
        }
        printf("[viridis] %d steps: smallest luminance rise %.3f\n", steps, least);
        assert_true(steps == 16 ? least > 5.0 : least >= 0.0);
    }
}

static void test_nice_ticks(void **state)
{
    (void)state;
    double t[32], step;
    int n = fb_nice_ticks(0, 1, 6, t, 32, &step);
    assert_int_equal(n, 6);
    assert_true(fabs(step - 0.2) < 1e-12);
    assert_true(fabs(t[5] - 1.0) < 1e-12);
    n = fb_nice_ticks(0, 16, 8, t, 32, &step);
    assert_true(step == 2.0 && n == 9);
    n = fb_nice_ticks(-16, 15, 6, t, 32, &step);
    assert_true(step == 5.0 && t[0] == -15.0 && t[n - 1] == 15.0);
    n = fb_nice_ticks(0.001, 0.0042, 4, t, 32, &step);
    assert_true(fabs(step - 0.001) < 1e-15 && n == 4);
}

/* Bounding box of pixels whose red channel differs from white. */
static int ink_box(const fb_canvas *c, int *x0, int *y0, int *x1, int *y1)
{
    int count = 0;
    *x0 = *y0 = 1 << 30;
    *x1 = *y1 = -1;
    for (int y = 0; y < c->height; y++)
        for (int x = 0; x < c->width; x++)
            if (fb_canvas_get(c, x, y).r != 255) {
                count++;
                *x0 = x < *x0 ? x : *x0;
                *y0 = y < *y0 ? y : *y0;
                *x1 = x > *x1 ? x : *x1;
                *y1 = y > *y1 ? y : *y1;
            }
    return count;
}

static void test_text(void **state)
{
    (void)state;
    const fb_rgb black = {0, 0, 0};
    const char *text = "Epoch 42 (acc)";
    for (int scale = 1; scale <= 2; scale++) {
        fb_canvas c;
        assert_int_equal(fb_canvas_create(&c, 300, 60), FB_OK);
        int w = fb_text_width(text, scale), h = fb_text_height(scale);
        fb_canvas_text(&c, 10, 20, text, scale, black);
        int x0, y0, x1, y1, ink = ink_box(&c, &x0, &y0, &x1, &y1);
        printf("[text scale %d] box %dx%d, ink %d px in [%d..%d]x[%d..%d]\n", scale, w, h, ink,
               x0, x1, y0, y1);
        assert_true(ink > 40 * scale * scale);
        assert_true(x0 >= 10 && x1 < 10 + w && y0 >= 20 && y1 < 20 + h);
        assert_true(x0 == 10 && x1 == 10 + w - 1); /* the width is exact */
        assert_true(h >= 6 * scale && h <= 10 * scale);

        /* rotated: same ink, box turned (h wide, w tall) */
        fb_canvas v;
        assert_int_equal(fb_canvas_create(&v, 60, 300), FB_OK);
        assert_int_equal(fb_canvas_text_vertical(&v, 20, 10, text, scale, black), FB_OK);
        int vx0, vy0, vx1, vy1, vink = ink_box(&v, &vx0, &vy0, &vx1, &vy1);
        assert_int_equal(vink, ink);
        assert_true(vx0 >= 20 && vx1 < 20 + h && vy0 >= 10 && vy1 < 10 + w);
        /* the first letter is at the bottom: the 'E' column becomes the last rows */
        assert_int_equal(vy1, 10 + w - 1);
        fb_canvas_free(&c);
        fb_canvas_free(&v);
    }
}

static void test_lines_and_rects(void **state)
{
    (void)state;
    const fb_rgb red = {255, 0, 0}, white = {255, 255, 255};
    fb_canvas c;
    assert_int_equal(fb_canvas_create(&c, 50, 40), FB_OK);
    fb_canvas_line(&c, 5, 5, 40, 30, 1, red);  /* shallow diagonal */
    fb_canvas_line(&c, 45, 2, 45, 35, 2, red); /* vertical, 2 px */
    fb_canvas_line(&c, 30, 10, 2, 12, 1, red); /* right to left */
    assert_true(same_rgb(fb_canvas_get(&c, 5, 5), red));
    assert_true(same_rgb(fb_canvas_get(&c, 40, 30), red));
    assert_true(same_rgb(fb_canvas_get(&c, 2, 12), red));
    assert_true(same_rgb(fb_canvas_get(&c, 30, 10), red));
    /* the 1-px diagonal has exactly one pixel per column, no gaps */
    for (int x = 5; x <= 40; x++) {
        int hits = 0;
        for (int y = 0; y < 40; y++)
            hits += same_rgb(fb_canvas_get(&c, x, y), red) && y >= 4 && y <= 31;
        assert_true(hits >= 1);
    }
    /* 2-px vertical line covers two columns */
    int two = 0;
    for (int x = 43; x <= 47; x++)
        two += same_rgb(fb_canvas_get(&c, x, 20), red);
    assert_int_equal(two, 2);
    fb_canvas_fill(&c, white);
    fb_canvas_rect(&c, -5, 30, 10, 100, red); /* clipped, no crash */
    assert_true(same_rgb(fb_canvas_get(&c, 0, 39), red));
    assert_true(same_rgb(fb_canvas_get(&c, 4, 30), red));
    assert_true(same_rgb(fb_canvas_get(&c, 5, 30), white));
    assert_true(same_rgb(fb_canvas_get(&c, 4, 29), white));
    fb_canvas_free(&c);
}

static void test_heatmap_cells(void **state)
{
    (void)state;
    enum { ROWS = 3, COLS = 4 };
    float values[ROWS * COLS] = {0.0f, 0.1f, 0.2f, 0.3f,  /* row 0: drawn at the bottom */
                                 0.4f, 0.5f, NAN,  0.6f,  /* row 1 (one missing value)  */
                                 0.7f, 0.8f, 0.9f, 1.0f}; /* row 2: drawn at the top    */
    fb_heatmap_labels lab = fb_heatmap_labels_default();
    lab.title = "cells";
    lab.x_label = "radius";
    lab.y_label = "epoch";
    lab.colorbar_label = "energy";
    lab.fixed_range = 1;
    lab.v_min = 0;
    lab.v_max = 1;
    lab.cell_w = 20;
    lab.cell_h = 10;
    for (int map = 0; map < 2; map++) {
        lab.colormap = map ? FB_COLORMAP_JET : FB_COLORMAP_VIRIDIS;
        void (*fn)(double, uint8_t *) = map ? fb_colormap_jet : fb_colormap_viridis;
        fb_canvas c;
        fb_plot_frame f;
        assert_int_equal(fb_render_heatmap(&c, values, ROWS, COLS, &lab, &f), FB_OK);
        assert_int_equal(f.x1 - f.x0 + 1, COLS * 20);
        assert_int_equal(f.y1 - f.y0 + 1, ROWS * 10);
        int wrong = 0;
        for (int r = 0; r < ROWS; r++)
            for (int col = 0; col < COLS; col++) {
                /* every pixel of the cell: x from the left, row 0 at the bottom */
                for (int dy = 0; dy < 10; dy++)
                    for (int dx = 0; dx < 20; dx++) {
                        int x = f.x0 + col * 20 + dx, y = f.y1 - r * 10 - dy;
                        float v = values[r * COLS + col];
                        fb_rgb want = isnan(v) ? (fb_rgb){128, 128, 128} : from_map(fn, v);
                        wrong += !same_rgb(fb_canvas_get(&c, x, y), want);
                    }
            }
        printf("[heatmap %s] %d of %d cell pixels differ from the colormap\n",
               map ? "jet" : "viridis", wrong, ROWS * COLS * 200);
        assert_int_equal(wrong, 0);
        /* bottom-left pixel is value 0, top-right is value 1 */
        assert_true(same_rgb(fb_canvas_get(&c, f.x0, f.y1), from_map(fn, 0.0)));
        assert_true(same_rgb(fb_canvas_get(&c, f.x1, f.y0), from_map(fn, 1.0)));
        fb_canvas_free(&c);
    }
}

static void test_line_markers(void **state)
{
    (void)state;
    double x[5] = {0, 1, 2, 3, 4}, y[5] = {0.0, 0.25, 0.5, 0.75, 1.0};
    double y2[3] = {0.9, NAN, 0.1};
    fb_line_series s[2] = {{"rising", x, y, 5, NULL}, {"second", NULL, y2, 3, NULL}};
    fb_plot_labels lab = fb_plot_labels_default();
    lab.title = "markers";
    lab.x_label = "x (unit)";
    lab.y_label = "y (unit)";
    lab.fixed_y = 1;
    lab.y_min = 0;
    lab.y_max = 1;
    lab.has_reference = 1;
    lab.reference = 0.6;
    lab.reference_label = "clean";
    fb_canvas c;
    fb_plot_frame f;
    assert_int_equal(fb_render_lines(&c, s, 2, &lab, &f), FB_OK);
    assert_true(f.y_min == 0 && f.y_max == 1);
    assert_true(f.x_min <= 0 && f.x_max >= 4);
    for (int i = 0; i < 5; i++) {
        int px, py;
        fb_plot_frame_to_pixel(&f, x[i], y[i], &px, &py);
        /* the disc of radius 4 around the point is the series colour */
        for (int d = -3; d <= 3; d++) {
            assert_true(same_rgb(fb_canvas_get(&c, px + d, py), fb_plot_series_color(0)));
            assert_true(same_rgb(fb_canvas_get(&c, px, py + d), fb_plot_series_color(0)));
        }
    }
    /* y = 0 sits on the bottom row of the plot, y = 1 on the top row */
    int px, py;
    fb_plot_frame_to_pixel(&f, 0, 0, &px, &py);
    assert_int_equal(py, f.y1);
    fb_plot_frame_to_pixel(&f, 4, 1, &px, &py);
    assert_int_equal(py, f.y0);
    /* second series: x defaults to 0, 1, 2; the NaN point has no marker */
    fb_plot_frame_to_pixel(&f, 0, 0.9, &px, &py);
    assert_true(same_rgb(fb_canvas_get(&c, px, py), fb_plot_series_color(1)));
    fb_plot_frame_to_pixel(&f, 2, 0.1, &px, &py);
    assert_true(same_rgb(fb_canvas_get(&c, px, py), fb_plot_series_color(1)));
    /* a legend exists right of the plot: series colours appear there */
    int legend_ink = 0;
    for (int yy = f.y0; yy < f.y0 + 100; yy++)
        for (int xx = f.x1 + 2; xx < c.width; xx++)
            legend_ink += same_rgb(fb_canvas_get(&c, xx, yy), fb_plot_series_color(1));
    assert_true(legend_ink > 20);
    fb_canvas_free(&c);

    fb_plot_labels bad = lab;
    bad.y_max = bad.y_min;
    assert_int_equal(fb_render_lines(&c, s, 2, &bad, &f), FB_ERR_USAGE);
}

/* Error bars: a vertical bar y ± err in the series colour with caps at
 * both ends, none where err is NaN, and an automatic y range that holds
 * the bars. */
static void test_error_bars(void **state)
{
    (void)state;
    double x[3] = {0, 1, 2}, y[3] = {0.5, 0.5, 0.5}, err[3] = {0.2, NAN, 0.1};
    fb_line_series s = {"mean", x, y, 3, err};
    fb_plot_labels lab = fb_plot_labels_default();
    lab.fixed_y = 1;
    lab.y_min = 0;
    lab.y_max = 1;
    fb_canvas c;
    fb_plot_frame f;
    assert_int_equal(fb_render_lines(&c, &s, 1, &lab, &f), FB_OK);
    fb_rgb color = fb_plot_series_color(0);
    int px, top, bottom, mid;
    fb_plot_frame_to_pixel(&f, 0, 0.7, &px, &top);
    fb_plot_frame_to_pixel(&f, 0, 0.3, &px, &bottom);
    fb_plot_frame_to_pixel(&f, 0, 0.6, &px, &mid);
    /* the bar between the marker and the caps, and both caps 4 px either side */
    assert_true(same_rgb(fb_canvas_get(&c, px, mid), color));
    for (int d = -4; d <= 4; d++) {
        assert_true(same_rgb(fb_canvas_get(&c, px + d, top), color));
        assert_true(same_rgb(fb_canvas_get(&c, px + d, bottom), color));
    }
    assert_false(same_rgb(fb_canvas_get(&c, px, top - 2), color)); /* it ends at the cap */
    /* point 1 (err NaN): nothing above its marker */
    fb_plot_frame_to_pixel(&f, 1, 0.6, &px, &mid);
    assert_false(same_rgb(fb_canvas_get(&c, px, mid), color));
    printf("[error bars] cap rows %d and %d around the marker at y = 0.5; no bar where err is NaN\n", top, bottom);
    fb_canvas_free(&c);
    /* automatic range: 0.5 ± 0.2 must fit */
    lab.fixed_y = 0;
    assert_int_equal(fb_render_lines(&c, &s, 1, &lab, &f), FB_OK);
    printf("[error bars] automatic y range %g..%g\n", f.y_min, f.y_max);
    assert_true(f.y_min <= 0.3 + 1e-9 && f.y_max >= 0.7 - 1e-9);
    fb_canvas_free(&c);
}

static void test_image_grid(void **state)
{
    (void)state;
    enum { N = 3, H = 2, W = 3, SCALE = 2 };
    for (int channels = 1; channels <= 3; channels += 2) {
        float images[N * 3 * H * W];
        fill_uniform(images, (size_t)N * channels * H * W, 7, -0.2f, 1.2f); /* some clamp */
        const char *captions[N] = {"cat", "dog", "frog"};
        fb_canvas c;
        fb_plot_frame f;
        assert_int_equal(fb_render_image_grid(&c, images, N, channels, H, W, 2, SCALE, captions,
                                              "grid", &f),
                         FB_OK);
        int wrong = 0;
        for (int k = 0; k < N; k++) {
            int tx = f.x0 + (k % 2) * f.pitch_x, ty = f.y0 + (k / 2) * f.pitch_y;
            for (int y = 0; y < H * SCALE; y++)
                for (int x = 0; x < W * SCALE; x++) {
                    uint8_t want[3];
                    for (int ch = 0; ch < 3; ch++) {
                        int from = channels == 3 ? ch : 0;
                        float v = images[((k * channels + from) * H + y / SCALE) * W + x / SCALE];
                        v = v < 0 ? 0 : v > 1 ? 1 : v;
                        want[ch] = (uint8_t)lround(v * 255.0);
                    }
                    fb_rgb got = fb_canvas_get(&c, tx + x, ty + y);
                    wrong += got.r != want[0] || got.g != want[1] || got.b != want[2];
                }
        }
        printf("[image grid C=%d] %d of %d tile pixels wrong\n", channels, wrong,
               N * H * W * SCALE * SCALE);
        assert_int_equal(wrong, 0);
        fb_canvas_free(&c);
    }
    fb_canvas c;
    float one[4] = {0};
    assert_int_equal(fb_render_image_grid(&c, one, 1, 2, 1, 2, 1, 1, NULL, NULL, NULL),
                     FB_ERR_USAGE);
}

/* Decodes path and compares it with the canvas, pixel for pixel. */
static void assert_png_is_canvas(const char *path, const fb_canvas *c)
{
    int w, h, comp;
    unsigned char *pixels = stbi_load(path, &w, &h, &comp, 3);
    assert_non_null(pixels);
    printf("[png] %s: %dx%d, %d channels in file\n", path, w, h, comp);
    assert_int_equal(w, c->width);
    assert_int_equal(h, c->height);
    assert_int_equal(comp, 3);
    assert_true(compare_bits("png pixels", pixels, c->pixels, (size_t)w * h * 3));
    stbi_image_free(pixels);
}

static void test_png_files(void **state)
{
    (void)state;
    char *dir = make_temp_dir(), path[600];
    double yv[4] = {3, 1, 4, 1};
    fb_line_series s = {"pi digits", NULL, yv, 4, NULL};
    fb_plot_labels lab = fb_plot_labels_default();
    lab.title = "png";
    lab.width = 500;
    lab.height = 300;
    fb_canvas c;
    assert_int_equal(fb_render_lines(&c, &s, 1, &lab, NULL), FB_OK);
    snprintf(path, sizeof path, "%s/lines.png", dir);
    assert_int_equal(fb_plot_lines(path, &s, 1, &lab), FB_OK);
    assert_int_equal(c.width, 500);
    assert_png_is_canvas(path, &c);
    fb_canvas_free(&c);

    float hm[6] = {1, 2, 3, 4, 5, 6};
    fb_heatmap_labels hl = fb_heatmap_labels_default();
    assert_int_equal(fb_render_heatmap(&c, hm, 2, 3, &hl, NULL), FB_OK);
    snprintf(path, sizeof path, "%s/heat.png", dir);
    assert_int_equal(fb_plot_heatmap(path, hm, 2, 3, &hl), FB_OK);
    assert_png_is_canvas(path, &c);
    fb_canvas_free(&c);

    float img[2 * 4 * 4];
    fill_uniform(img, 32, 3, 0, 1);
    assert_int_equal(fb_render_image_grid(&c, img, 2, 1, 4, 4, 2, 3, NULL, "t", NULL), FB_OK);
    snprintf(path, sizeof path, "%s/grid.png", dir);
    assert_int_equal(fb_plot_image_grid(path, img, 2, 1, 4, 4, 2, 3, NULL, "t"), FB_OK);
    assert_png_is_canvas(path, &c);
    fb_canvas_free(&c);

    /* a folder that does not exist: I/O error naming the path */
    snprintf(path, sizeof path, "%s/no/such/folder/fig.png", dir);
    assert_int_equal(fb_plot_lines(path, &s, 1, &lab), FB_ERR_IO);
    printf("[missing folder] %s\n", fb_error_message());
    assert_non_null(strstr(fb_error_message(), path));
    remove_tree(dir);
    free(dir);
}

/* A single glyph made of many quads ("8": 12 quads) is drawn whole: the
 * quad buffer once held too few, and a lone "8" came out as a "3". */
static int ink(const char *text)
{
    fb_canvas c;
    assert_int_equal(fb_canvas_create(&c, 40, 40), FB_OK);
    fb_canvas_fill(&c, (fb_rgb){255, 255, 255});
    fb_canvas_text(&c, 2, 2, text, 2, (fb_rgb){0, 0, 0});
    int count = 0;
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 40; x++)
            count += fb_canvas_get(&c, x, y).r == 0;
    fb_canvas_free(&c);
    return count;
}

static void test_lone_glyph_complete(void **state)
{
    (void)state;
    int eight = ink("8"), three = ink("3");
    printf("[glyph] ink of a lone '8' %d px, of '3' %d px\n", eight, three);
    assert_true(eight > three);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lone_glyph_complete),
        cmocka_unit_test(test_colormaps),     cmocka_unit_test(test_nice_ticks),
        cmocka_unit_test(test_text),          cmocka_unit_test(test_lines_and_rects),
        cmocka_unit_test(test_heatmap_cells), cmocka_unit_test(test_line_markers),
        cmocka_unit_test(test_error_bars),
        cmocka_unit_test(test_image_grid),    cmocka_unit_test(test_png_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
