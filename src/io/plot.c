/* plot.c — line charts, heat maps and image grids on an fb_canvas.
 *
 * Every chart is laid out the same way: measure the text that sits around
 * the data (title, axis titles, tick labels, legend or colour bar), give it
 * fixed margins, and hand the rest of the canvas to the data. The plot
 * rectangle and its data range are returned in an fb_plot_frame so tests can
 * find a data point's pixel without parsing the PNG.
 *
 *   ┌──────────────── title ─────────────────┐
 *   │  y    ┌──────────────────────┐ ┌──────┐ │
 *   │  l  1 ┤  data                │ │legend│ │   line chart: legend right
 *   │  a    │                      │ └──────┘ │   heat map:   colour bar right
 *   │  b  0 ┤                      │          │
 *   │       └──┬───────┬───────┬───┘          │
 *   │          0       5      10             │
 *   │              x label                    │
 *   └─────────────────────────────────────────┘
 *
 * Ticks are "nice" numbers: steps of 1, 2 or 5 times a power of ten, picked
 * so that about the requested number of them fit. Heat-map rows are drawn
 * with row 0 at the BOTTOM (epoch 0 at the bottom of a gradient-spectrum
 * map), cell (r, c) filling an exact cell_w × cell_h block of pixels.
 *
 * The jet colormap is the usual piecewise-linear one (dark blue at 0, dark
 * red at 1). The sequential map interpolates five anchor colours chosen to
 * look like viridis; each anchor is brighter than the last, so luminance
 * rises with the value and the map reads correctly in grey scale.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/plot.h"

enum {
    TITLE_SCALE = 2, /* plot title                          */
    LABEL_SCALE = 2, /* axis titles, legend, colour bar     */
    TICK_SCALE = 2,  /* tick labels                         */
    PAD = 12,        /* space between blocks of text        */
    TICK_LEN = 5,
    MAX_TICKS = 32,
};

static const fb_rgb WHITE = {255, 255, 255}, BLACK = {0, 0, 0}, GRID = {225, 225, 225},
                    DARK_GREY = {90, 90, 90}, FRAME_GREY = {160, 160, 160},
                    NAN_GREY = {128, 128, 128};

/* ------------------------------------------------------------- colormaps */

static double clamp01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static uint8_t to_byte(double v)
{
    return (uint8_t)lround(clamp01(v) * 255.0);
}

void fb_colormap_jet(double v, uint8_t rgb[3])
{
    if (isnan(v)) {
        rgb[0] = rgb[1] = rgb[2] = 128;
        return;
    }
    v = clamp01(v);
    /* three overlapping ramps centred at 0.75 (red), 0.5 (green), 0.25 (blue) */
    rgb[0] = to_byte(1.5 - fabs(4.0 * v - 3.0));
    rgb[1] = to_byte(1.5 - fabs(4.0 * v - 2.0));
    rgb[2] = to_byte(1.5 - fabs(4.0 * v - 1.0));
}

void fb_colormap_viridis(double v, uint8_t rgb[3])
{
    /* anchors at v = 0, 0.25, 0.5, 0.75, 1: purple, blue, teal, green, yellow */
    static const double anchors[5][3] = {
        {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37},
    };
    if (isnan(v)) {
        rgb[0] = rgb[1] = rgb[2] = 128;
        return;
    }
    double t = clamp01(v) * 4.0;
    int k = t >= 4.0 ? 3 : (int)t;
    double f = t - k;
    for (int i = 0; i < 3; i++)
        rgb[i] = (uint8_t)lround(anchors[k][i] + f * (anchors[k + 1][i] - anchors[k][i]));
}

static fb_rgb colormap(fb_colormap map, double v)
{
    uint8_t c[3];
    if (map == FB_COLORMAP_JET)
        fb_colormap_jet(v, c);
    else
        fb_colormap_viridis(v, c);
    fb_rgb out = {c[0], c[1], c[2]};
    return out;
}

fb_rgb fb_plot_series_color(int index)
{
    static const fb_rgb palette[10] = {
        {31, 119, 180}, {255, 127, 14}, {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
        {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
    };
    return palette[(index % 10 + 10) % 10];
}

/* ------------------------------------------------------------------ ticks */

/* The smallest 1-2-5 step ≥ raw. */
static double nice_step(double raw)
{
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    double nice = f <= 1.0 + 1e-9 ? 1 : f <= 2.0 + 1e-9 ? 2 : f <= 5.0 + 1e-9 ? 5 : 10;
    return nice * mag;
}

/* Like fb_nice_ticks, with the step at least min_step (e.g. 1 for epochs). */
static int ticks_between(double lo, double hi, int target, double min_step, double *ticks,
                         int cap, double *step_out)
{
    if (!(hi > lo)) {
        if (cap > 0)
            ticks[0] = lo;
        if (step_out)
            *step_out = 1;
        return cap > 0 ? 1 : 0;
    }
    if (target < 1)
        target = 1;
    /* round (hi − lo) / target to the nearest 1-2-5 step, not just up */
    double raw = (hi - lo) / target;
    double step = nice_step(raw / 1.4);
    if (step < min_step)
        step = nice_step(min_step);
    long first = (long)ceil(lo / step - 1e-9), last = (long)floor(hi / step + 1e-9);
    int count = 0;
    for (long k = first; k <= last && count < cap; k++) {
        double t = (double)k * step;
        ticks[count++] = fabs(t) < step * 1e-9 ? 0.0 : t;
    }
    if (step_out)
        *step_out = step;
    return count;
}

int fb_nice_ticks(double lo, double hi, int target, double *ticks /*[cap]*/, int cap,
                  double *step)
{
    return ticks_between(lo, hi, target, 0.0, ticks, cap, step);
}

/* A tick value printed with just enough decimals for its step. */
static void format_tick(char *out, size_t size, double value, double step)
{
    double mag = fabs(value) > step ? fabs(value) : step;
    if (mag >= 1e6 || step < 1e-4) {
        snprintf(out, size, "%.3g", value);
        return;
    }
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    /* a step like 0.25 or 2.5 needs one more digit than its magnitude says */
    double scaled = step * pow(10.0, decimals);
    if (fabs(scaled - lround(scaled)) > 1e-6)
        decimals++;
    snprintf(out, size, "%.*f", decimals, value);
    if (strcmp(out, "-0") == 0 || strspn(out, "-0.") == strlen(out))
        snprintf(out, size, "%.*f", decimals, 0.0);
}

/* Widest formatted tick label. */
static int widest_tick(const double *ticks, int count, double step)
{
    int widest = 0;
    char text[64];
    for (int i = 0; i < count; i++) {
        format_tick(text, sizeof text, ticks[i], step);
        int w = fb_text_width(text, TICK_SCALE);
        widest = w > widest ? w : widest;
    }
    return widest;
}

/* ------------------------------------------------------------ text helpers */

static void text_centered(fb_canvas *c, int cx, int y, const char *text, int scale, fb_rgb color)
{
    if (text && *text)
        fb_canvas_text(c, cx - fb_text_width(text, scale) / 2, y, text, scale, color);
}

/* The title: centred, drawn twice one pixel apart to look bold. */
static void title_text(fb_canvas *c, int cx, int y, const char *text)
{
    text_centered(c, cx, y, text, TITLE_SCALE, BLACK);
    text_centered(c, cx + 1, y, text, TITLE_SCALE, BLACK);
}

static void outline(fb_canvas *c, int x, int y, int w, int h, fb_rgb color)
{
    fb_canvas_rect(c, x, y, w, 1, color);
    fb_canvas_rect(c, x, y + h - 1, w, 1, color);
    fb_canvas_rect(c, x, y, 1, h, color);
    fb_canvas_rect(c, x + w - 1, y, 1, h, color);
}

static int has_text(const char *s)
{
    return s && *s;
}

/* Left margin for a y axis: title (rotated), tick labels, tick marks. */
static int left_margin(const char *y_label, int tick_width)
{
    int m = PAD + tick_width + TICK_LEN + 6;
    if (has_text(y_label))
        m += fb_text_height(LABEL_SCALE) + PAD;
    return m;
}

/* Top margin: the title, or just padding. */
static int top_margin(const char *title)
{
    return has_text(title) ? PAD + fb_text_height(TITLE_SCALE) + PAD + 4 : PAD + 8;
}

/* Bottom margin: tick marks, tick labels, the x-axis title. */
static int bottom_margin(const char *x_label)
{
    int m = TICK_LEN + 6 + fb_text_height(TICK_SCALE) + PAD;
    if (has_text(x_label))
        m += fb_text_height(LABEL_SCALE) + PAD;
    return m;
}

/* Title above the plot, x-axis title below it, y-axis title (rotated) at
 * the left edge: the text both chart kinds share. */
static fb_status draw_surroundings(fb_canvas *c, const fb_plot_frame *f, const char *title,
                                   const char *x_label, const char *y_label)
{
    int th = fb_text_height(LABEL_SCALE);
    if (has_text(title))
        title_text(c, (f->x0 + f->x1) / 2, PAD, title);
    if (has_text(x_label))
        text_centered(c, (f->x0 + f->x1) / 2, c->height - PAD - th, x_label, LABEL_SCALE, BLACK);
    if (has_text(y_label)) {
        int w = fb_text_width(y_label, LABEL_SCALE);
        FB_TRY(fb_canvas_text_vertical(c, PAD, (f->y0 + f->y1) / 2 - w / 2, y_label, LABEL_SCALE,
                                       BLACK));
    }
    return FB_OK;
}

static void y_tick(fb_canvas *c, int x_axis, int py, double value, double step)
{
    char text[64];
    format_tick(text, sizeof text, value, step);
    int tw = fb_text_width(text, TICK_SCALE), th = fb_text_height(TICK_SCALE);
    fb_canvas_rect(c, x_axis - TICK_LEN, py, TICK_LEN, 1, BLACK);
    /* digits sit on rows 0..6 of 9: centre those on the tick */
    fb_canvas_text(c, x_axis - TICK_LEN - 6 - tw, py - (th * 7 / 9) / 2, text, TICK_SCALE, BLACK);
}

static void x_tick(fb_canvas *c, int y_axis, int px, double value, double step)
{
    char text[64];
    format_tick(text, sizeof text, value, step);
    fb_canvas_rect(c, px, y_axis + 1, 1, TICK_LEN, BLACK);
    text_centered(c, px, y_axis + 1 + TICK_LEN + 6, text, TICK_SCALE, BLACK);
}

/* ------------------------------------------------------------ line chart */

fb_plot_labels fb_plot_labels_default(void)
{
    fb_plot_labels l;
    memset(&l, 0, sizeof l);
    return l;
}

void fb_plot_frame_to_pixel(const fb_plot_frame *f, double x, double y, int *px, int *py)
{
    double fx = (x - f->x_min) / (f->x_max - f->x_min);
    double fy = (y - f->y_min) / (f->y_max - f->y_min);
    *px = (int)lround(f->x0 + fx * (f->x1 - f->x0));
    *py = (int)lround(f->y1 - fy * (f->y1 - f->y0));
}

static double series_x(const fb_line_series *s, int i)
{
    return s->x ? s->x[i] : (double)i;
}

/* Clips the segment to [xa, xb] × [ya, yb] (Liang–Barsky); 0 if nothing is left. */
static int clip_segment(double *x0, double *y0, double *x1, double *y1, double xa, double ya,
                        double xb, double yb)
{
    double dx = *x1 - *x0, dy = *y1 - *y0, t0 = 0, t1 = 1;
    double p[4] = {-dx, dx, -dy, dy}, q[4] = {*x0 - xa, xb - *x0, *y0 - ya, yb - *y0};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0)
                return 0;
            continue;
        }
        double r = q[i] / p[i];
        if (p[i] < 0 && r > t0)
            t0 = r;
        if (p[i] > 0 && r < t1)
            t1 = r;
    }
    if (t0 > t1)
        return 0;
    double sx = *x0, sy = *y0;
    *x0 = sx + t0 * dx;
    *y0 = sy + t0 * dy;
    *x1 = sx + t1 * dx;
    *y1 = sy + t1 * dy;
    return 1;
}

static void marker(fb_canvas *c, int px, int py, fb_rgb color)
{
    /* a filled disc of radius 4 with a white rim, so crossing lines stay visible */
    for (int dy = -5; dy <= 5; dy++)
        for (int dx = -5; dx <= 5; dx++) {
            int r2 = dx * dx + dy * dy;
            if (r2 <= 16)
                fb_canvas_set(c, px + dx, py + dy, color);
            else if (r2 <= 25)
                fb_canvas_set(c, px + dx, py + dy, WHITE);
        }
}

/* Half-width of point i's error bar (0 when the series has none there). */
static double series_err(const fb_line_series *s, int i)
{
    return s->err && isfinite(s->err[i]) && s->err[i] > 0 ? s->err[i] : 0.0;
}

/* A vertical bar from y − e to y + e with 9-px caps, clipped to the plot. */
static void error_bar(fb_canvas *c, const fb_plot_frame *f, double x, double y, double e, fb_rgb color)
{
    int px, top, bottom;
    fb_plot_frame_to_pixel(f, x, y + e, &px, &top);
    fb_plot_frame_to_pixel(f, x, y - e, &px, &bottom);
    if (px < f->x0 || px > f->x1)
        return;
    int from = top < f->y0 ? f->y0 : top, to = bottom > f->y1 ? f->y1 : bottom;
    if (from <= to)
        fb_canvas_rect(c, px, from, 1, to - from + 1, color);
    if (top >= f->y0 && top <= f->y1)
        fb_canvas_rect(c, px - 4, top, 9, 1, color);
    if (bottom >= f->y0 && bottom <= f->y1)
        fb_canvas_rect(c, px - 4, bottom, 9, 1, color);
}

static void dashed_hline(fb_canvas *c, int xa, int xb, int y, fb_rgb color)
{
    for (int x = xa; x <= xb; x += 12)
        fb_canvas_rect(c, x, y - 1, x + 7 <= xb ? 7 : xb - x + 1, 2, color);
}

/* Auto range of one axis: data min..max widened to whole ticks. */
static void auto_range(double lo, double hi, double *out_lo, double *out_hi)
{
    if (!(lo <= hi)) {
        lo = 0;
        hi = 1;
    }
    if (hi == lo) {
        double d = fabs(lo) > 0 ? fabs(lo) * 0.1 : 0.5;
        lo -= d;
        hi += d;
    }
    double ticks[MAX_TICKS], step;
    ticks_between(lo, hi, 6, 0.0, ticks, MAX_TICKS, &step);
    *out_lo = floor(lo / step + 1e-9) * step;
    *out_hi = ceil(hi / step - 1e-9) * step;
}

fb_status fb_render_lines(fb_canvas *canvas, const fb_line_series *series, int count,
                          const fb_plot_labels *labels, fb_plot_frame *frame)
{
    canvas->pixels = NULL;
    fb_plot_labels lab = labels ? *labels : fb_plot_labels_default();
    if (count < 0 || (count > 0 && !series))
        return fb_error(FB_ERR_USAGE, "line chart: %d series", count);
    if (lab.fixed_y && !(lab.y_max > lab.y_min))
        return fb_error(FB_ERR_USAGE, "line chart '%s': fixed y range %g..%g is empty",
                        lab.title ? lab.title : "", lab.y_min, lab.y_max);
    int width = lab.width > 0 ? lab.width : 900, height = lab.height > 0 ? lab.height : 560;

    /* data ranges */
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int s = 0; s < count; s++)
        for (int i = 0; i < series[s].count; i++) {
            double x = series_x(&series[s], i), y = series[s].y[i];
            if (!isfinite(x) || !isfinite(y))
                continue;
            double e = series_err(&series[s], i);
            xlo = fmin(xlo, x);
            xhi = fmax(xhi, x);
            ylo = fmin(ylo, y - e);
            yhi = fmax(yhi, y + e);
        }
    if (lab.has_reference && isfinite(lab.reference)) {
        ylo = fmin(ylo, lab.reference);
        yhi = fmax(yhi, lab.reference);
    }
    fb_plot_frame f;
    memset(&f, 0, sizeof f);
    auto_range(xlo, xhi, &f.x_min, &f.x_max);
    if (lab.fixed_y) {
        f.y_min = lab.y_min;
        f.y_max = lab.y_max;
    } else {
        auto_range(ylo, yhi, &f.y_min, &f.y_max);
    }

    /* legend entries and size */
    int entries = 0, name_w = 0;
    for (int s = 0; s < count; s++)
        if (has_text(series[s].name)) {
            entries++;
            int w = fb_text_width(series[s].name, LABEL_SCALE);
            name_w = w > name_w ? w : name_w;
        }
    const char *ref_name = has_text(lab.reference_label) ? lab.reference_label : "reference";
    if (lab.has_reference) {
        entries++;
        int w = fb_text_width(ref_name, LABEL_SCALE);
        name_w = w > name_w ? w : name_w;
    }
    int row_h = fb_text_height(LABEL_SCALE) + 10, sample_w = 36;
    int legend_w = entries ? 10 + sample_w + 10 + name_w + 10 : 0;
    int legend_h = entries ? 8 + entries * row_h : 0;

    /* layout */
    double yt[MAX_TICKS], xt[MAX_TICKS], ystep, xstep;
    int ny = ticks_between(f.y_min, f.y_max, 6, 0.0, yt, MAX_TICKS, &ystep);
    f.x0 = left_margin(lab.y_label, widest_tick(yt, ny, ystep));
    f.y0 = top_margin(lab.title);
    f.x1 = width - 1 - PAD - (entries ? legend_w + PAD : 16);
    f.y1 = height - 1 - bottom_margin(lab.x_label);
    if (f.x1 - f.x0 < 40 || f.y1 - f.y0 < 40)
        return fb_error(FB_ERR_USAGE, "line chart '%s': %d x %d is too small for its labels",
                        lab.title ? lab.title : "", width, height);
    int nx = ticks_between(f.x_min, f.x_max, (f.x1 - f.x0) / 90, 0.0, xt, MAX_TICKS, &xstep);

    FB_TRY(fb_canvas_create(canvas, width, height));

    /* grid, frame and ticks */
    int px, py;
    for (int i = 0; i < ny; i++) {
        fb_plot_frame_to_pixel(&f, f.x_min, yt[i], &px, &py);
        fb_canvas_rect(canvas, f.x0, py, f.x1 - f.x0 + 1, 1, GRID);
        y_tick(canvas, f.x0 - 1, py, yt[i], ystep);
    }
    for (int i = 0; i < nx; i++) {
        fb_plot_frame_to_pixel(&f, xt[i], f.y_min, &px, &py);
        fb_canvas_rect(canvas, px, f.y0, 1, f.y1 - f.y0 + 1, GRID);
        x_tick(canvas, f.y1 + 1, px, xt[i], xstep);
    }
    outline(canvas, f.x0 - 1, f.y0 - 1, f.x1 - f.x0 + 3, f.y1 - f.y0 + 3, BLACK);

    /* reference line, then each series: lines first, markers on top */
    if (lab.has_reference && lab.reference >= f.y_min && lab.reference <= f.y_max) {
        fb_plot_frame_to_pixel(&f, f.x_min, lab.reference, &px, &py);
        dashed_hline(canvas, f.x0, f.x1, py, DARK_GREY);
    }
    for (int s = 0; s < count; s++)
        for (int i = 0; i < series[s].count; i++) {
            double x = series_x(&series[s], i), y = series[s].y[i], e = series_err(&series[s], i);
            if (isfinite(x) && isfinite(y) && e > 0)
                error_bar(canvas, &f, x, y, e, fb_plot_series_color(s));
        }
    for (int s = 0; s < count; s++) {
        fb_rgb color = fb_plot_series_color(s);
        int have_prev = 0, qx = 0, qy = 0;
        for (int i = 0; i < series[s].count; i++) {
            double x = series_x(&series[s], i), y = series[s].y[i];
            if (!isfinite(x) || !isfinite(y)) {
                have_prev = 0;
                continue;
            }
            fb_plot_frame_to_pixel(&f, x, y, &px, &py);
            double ax = qx, ay = qy, bx = px, by = py;
            if (have_prev && clip_segment(&ax, &ay, &bx, &by, f.x0, f.y0, f.x1, f.y1))
                fb_canvas_line(canvas, ax, ay, bx, by, 2, color);
            have_prev = 1;
            qx = px;
            qy = py;
        }
    }
    for (int s = 0; s < count; s++)
        for (int i = 0; i < series[s].count; i++) {
            double x = series_x(&series[s], i), y = series[s].y[i];
            if (!isfinite(x) || !isfinite(y))
                continue;
            fb_plot_frame_to_pixel(&f, x, y, &px, &py);
            if (px >= f.x0 && px <= f.x1 && py >= f.y0 && py <= f.y1)
                marker(canvas, px, py, fb_plot_series_color(s));
        }

    /* legend to the right of the plot, top-aligned */
    if (entries) {
        int lx = f.x1 + 1 + PAD, ly = f.y0;
        fb_canvas_rect(canvas, lx, ly, legend_w, legend_h, WHITE);
        outline(canvas, lx, ly, legend_w, legend_h, FRAME_GREY);
        int row = 0;
        for (int s = 0; s <= count; s++) {
            int is_ref = s == count;
            if (is_ref ? !lab.has_reference : !has_text(series[s].name))
                continue;
            int cy = ly + 4 + row * row_h + row_h / 2;
            int sx = lx + 10;
            if (is_ref) {
                dashed_hline(canvas, sx, sx + sample_w - 1, cy, DARK_GREY);
            } else {
                fb_canvas_line(canvas, sx, cy, sx + sample_w - 1, cy, 2, fb_plot_series_color(s));
                marker(canvas, sx + sample_w / 2, cy, fb_plot_series_color(s));
            }
            int th = fb_text_height(LABEL_SCALE);
            fb_canvas_text(canvas, sx + sample_w + 10, cy - (th * 7 / 9) / 2,
                           is_ref ? ref_name : series[s].name, LABEL_SCALE, BLACK);
            row++;
        }
    }

    fb_status status = draw_surroundings(canvas, &f, lab.title, lab.x_label, lab.y_label);
    if (status != FB_OK) {
        fb_canvas_free(canvas);
        return status;
    }
    if (frame)
        *frame = f;
    return FB_OK;
}

fb_status fb_plot_lines(const char *path, const fb_line_series *series, int count,
                        const fb_plot_labels *labels)
{
    fb_canvas canvas;
    FB_TRY(fb_render_lines(&canvas, series, count, labels, NULL));
    fb_status status = fb_canvas_save_png(&canvas, path);
    fb_canvas_free(&canvas);
    return status;
}

/* --------------------------------------------------------------- heat map */

fb_heatmap_labels fb_heatmap_labels_default(void)
{
    fb_heatmap_labels l;
    memset(&l, 0, sizeof l);
    l.x_step = 1;
    l.y_step = 1;
    return l;
}

/* Ticks for a heat-map axis whose cell k has value first + k·step. Writes
 * tick values and their cell positions (fractional cell index). */
static int cell_ticks(int cells, double first, double step, int target, double *values,
                      double *positions, double *tick_step)
{
    if (step == 0)
        step = 1;
    double a = first, b = first + (cells - 1) * step;
    double lo = fmin(a, b), hi = fmax(a, b);
    /* whole-number axes (epochs, radii) never get fractional ticks */
    int whole = first == floor(first) && step == floor(step);
    int n = ticks_between(lo, hi, target, whole ? 1.0 : 0.0, values, MAX_TICKS, tick_step);
    for (int i = 0; i < n; i++)
        positions[i] = (values[i] - first) / step;
    return n;
}

fb_status fb_render_heatmap(fb_canvas *canvas, const float *values /*[rows, cols]*/, int rows,
                            int cols, const fb_heatmap_labels *labels, fb_plot_frame *frame)
{
    canvas->pixels = NULL;
    fb_heatmap_labels lab = labels ? *labels : fb_heatmap_labels_default();
    if (rows < 1 || cols < 1 || !values)
        return fb_error(FB_ERR_USAGE, "heat map '%s': %d x %d cells", lab.title ? lab.title : "",
                        rows, cols);
    if (lab.x_step == 0)
        lab.x_step = 1;
    if (lab.y_step == 0)
        lab.y_step = 1;

    /* colour range */
    double vlo = lab.v_min, vhi = lab.v_max;
    if (!lab.fixed_range) {
        vlo = INFINITY;
        vhi = -INFINITY;
        for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++)
            if (isfinite(values[i])) {
                vlo = fmin(vlo, values[i]);
                vhi = fmax(vhi, values[i]);
            }
        if (!(vlo <= vhi)) {
            vlo = 0;
            vhi = 1;
        }
    }
    if (!(vhi > vlo)) {
        double d = fabs(vlo) > 0 ? fabs(vlo) * 0.1 : 0.5;
        vlo -= d;
        vhi += d;
    }

    fb_plot_frame f;
    memset(&f, 0, sizeof f);
    f.cell_w = lab.cell_w > 0 ? lab.cell_w : (640 / cols > 1 ? 640 / cols : 1);
    f.cell_h = lab.cell_h > 0 ? lab.cell_h : (420 / rows > 1 ? 420 / rows : 1);
    int area_w = cols * f.cell_w, area_h = rows * f.cell_h;
    f.x_min = lab.x_first;
    f.x_max = lab.x_first + (cols - 1) * lab.x_step;
    f.y_min = lab.y_first;
    f.y_max = lab.y_first + (rows - 1) * lab.y_step;

    double yv[MAX_TICKS], yp[MAX_TICKS], xv[MAX_TICKS], xp[MAX_TICKS], cv[MAX_TICKS];
    double ystep, xstep, cstep;
    int ny = cell_ticks(rows, lab.y_first, lab.y_step, area_h / 50 + 1, yv, yp, &ystep);
    int nx = cell_ticks(cols, lab.x_first, lab.x_step, area_w / 90 + 1, xv, xp, &xstep);
    int nc = ticks_between(vlo, vhi, area_h / 60 + 1, 0.0, cv, MAX_TICKS, &cstep);

    /* colour bar block: gap, bar, ticks, labels, rotated title */
    int bar_w = 22;
    int bar_block = 24 + bar_w + TICK_LEN + 6 + widest_tick(cv, nc, cstep) + PAD;
    if (has_text(lab.colorbar_label))
        bar_block += fb_text_height(LABEL_SCALE) + PAD;

    f.x0 = left_margin(lab.y_label, widest_tick(yv, ny, ystep));
    f.y0 = top_margin(lab.title);
    f.x1 = f.x0 + area_w - 1;
    f.y1 = f.y0 + area_h - 1;
    int width = f.x1 + 1 + bar_block, height = f.y1 + 1 + bottom_margin(lab.x_label);
    int title_w = has_text(lab.title) ? fb_text_width(lab.title, TITLE_SCALE) + 2 * PAD : 0;
    if (title_w > width) {
        /* a long title: widen the canvas and centre the chart under it */
        int shift = (title_w - width) / 2;
        f.x0 += shift;
        f.x1 += shift;
        width = title_w;
    }
    FB_TRY(fb_canvas_create(canvas, width, height));

    /* cells, row 0 at the bottom */
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double v = values[(size_t)r * (size_t)cols + (size_t)c];
            fb_rgb color = isfinite(v) ? colormap(lab.colormap, (v - vlo) / (vhi - vlo)) : NAN_GREY;
            fb_canvas_rect(canvas, f.x0 + c * f.cell_w, f.y1 + 1 - (r + 1) * f.cell_h, f.cell_w,
                           f.cell_h, color);
        }
    outline(canvas, f.x0 - 1, f.y0 - 1, area_w + 2, area_h + 2, BLACK);
    for (int i = 0; i < ny; i++)
        y_tick(canvas, f.x0 - 1, (int)lround(f.y1 + 1 - (yp[i] + 0.5) * f.cell_h), yv[i], ystep);
    for (int i = 0; i < nx; i++)
        x_tick(canvas, f.y1 + 1, (int)lround(f.x0 + (xp[i] + 0.5) * f.cell_w), xv[i], xstep);

    /* colour bar: value vlo at the bottom row, vhi at the top */
    int bx = f.x1 + 1 + 24;
    for (int j = 0; j < area_h; j++) {
        double v = (j + 0.5) / area_h;
        fb_canvas_rect(canvas, bx, f.y1 - j, bar_w, 1, colormap(lab.colormap, v));
    }
    outline(canvas, bx - 1, f.y0 - 1, bar_w + 2, area_h + 2, BLACK);
    for (int i = 0; i < nc; i++) {
        int py = (int)lround(f.y1 - (cv[i] - vlo) / (vhi - vlo) * (area_h - 1));
        char text[64];
        format_tick(text, sizeof text, cv[i], cstep);
        int th = fb_text_height(TICK_SCALE);
        fb_canvas_rect(canvas, bx + bar_w + 1, py, TICK_LEN, 1, BLACK);
        fb_canvas_text(canvas, bx + bar_w + 1 + TICK_LEN + 6, py - (th * 7 / 9) / 2, text,
                       TICK_SCALE, BLACK);
    }
    fb_status status = FB_OK;
    if (has_text(lab.colorbar_label)) {
        int w = fb_text_width(lab.colorbar_label, LABEL_SCALE);
        status = fb_canvas_text_vertical(canvas, width - PAD - fb_text_height(LABEL_SCALE),
                                         (f.y0 + f.y1) / 2 - w / 2, lab.colorbar_label,
                                         LABEL_SCALE, BLACK);
    }
    if (status == FB_OK)
        status = draw_surroundings(canvas, &f, lab.title, lab.x_label, lab.y_label);
    if (status != FB_OK) {
        fb_canvas_free(canvas);
        return status;
    }
    if (frame)
        *frame = f;
    return FB_OK;
}

fb_status fb_plot_heatmap(const char *path, const float *values /*[rows, cols]*/, int rows,
                          int cols, const fb_heatmap_labels *labels)
{
    fb_canvas canvas;
    FB_TRY(fb_render_heatmap(&canvas, values, rows, cols, labels, NULL));
    fb_status status = fb_canvas_save_png(&canvas, path);
    fb_canvas_free(&canvas);
    return status;
}

/* ------------------------------------------------------------- image grid */

fb_status fb_render_image_grid(fb_canvas *canvas, const float *images /*[n, C, h, w]*/, int n,
                               int channels, int h, int w, int columns, int scale,
                               const char *const *captions /*[n] or NULL*/, const char *title,
                               fb_plot_frame *frame)
{
    canvas->pixels = NULL;
    if (!images || n < 1 || h < 1 || w < 1 || (channels != 1 && channels != 3))
        return fb_error(FB_ERR_USAGE,
                        "image grid '%s': %d images of %d x %d x %d (channels must be 1 or 3)",
                        title ? title : "", n, channels, h, w);
    if (scale < 1)
        scale = 1;
    if (columns < 1)
        columns = (int)ceil(sqrt((double)n));
    if (columns > n)
        columns = n;
    int rows = (n + columns - 1) / columns;
    int tile_w = w * scale, tile_h = h * scale, gap = 8;
    int caption_scale = tile_w >= 80 ? 2 : 1, caption_w = 0;
    for (int k = 0; captions && k < n; k++)
        if (has_text(captions[k])) {
            int cw = fb_text_width(captions[k], caption_scale);
            caption_w = cw > caption_w ? cw : caption_w;
        }

    fb_plot_frame f;
    memset(&f, 0, sizeof f);
    f.pitch_x = (tile_w > caption_w ? tile_w : caption_w) + gap;
    f.pitch_y = tile_h + gap + (captions ? fb_text_height(caption_scale) + 4 : 0);
    int grid_w = columns * f.pitch_x - gap, grid_h = rows * f.pitch_y - gap;
    int width = grid_w + 2 * PAD;
    int title_w = has_text(title) ? fb_text_width(title, TITLE_SCALE) + 2 * PAD : 0;
    width = title_w > width ? title_w : width;
    f.x0 = (width - grid_w) / 2 + (f.pitch_x - gap - tile_w) / 2;
    f.y0 = has_text(title) ? PAD + fb_text_height(TITLE_SCALE) + PAD : PAD;
    int height = f.y0 + grid_h + PAD;
    f.x1 = f.x0 + (columns - 1) * f.pitch_x + tile_w - 1;
    f.y1 = f.y0 + (rows - 1) * f.pitch_y + tile_h - 1;
    FB_TRY(fb_canvas_create(canvas, width, height));

    if (has_text(title))
        title_text(canvas, width / 2, PAD, title);
    size_t plane = (size_t)h * (size_t)w;
    for (int k = 0; k < n; k++) {
        int tx = f.x0 + (k % columns) * f.pitch_x, ty = f.y0 + (k / columns) * f.pitch_y;
        const float *img = images + (size_t)k * (size_t)channels * plane; /* [C, h, w] */
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t at = (size_t)y * (size_t)w + (size_t)x;
                fb_rgb color;
                color.r = to_byte(img[at]);
                color.g = channels == 3 ? to_byte(img[plane + at]) : color.r;
                color.b = channels == 3 ? to_byte(img[2 * plane + at]) : color.r;
                fb_canvas_rect(canvas, tx + x * scale, ty + y * scale, scale, scale, color);
            }
        if (captions && has_text(captions[k]))
            text_centered(canvas, tx + tile_w / 2, ty + tile_h + 4, captions[k], caption_scale,
                          BLACK);
    }
    if (frame)
        *frame = f;
    return FB_OK;
}

fb_status fb_plot_image_grid(const char *path, const float *images /*[n, C, h, w]*/, int n,
                             int channels, int h, int w, int columns, int scale,
                             const char *const *captions /*[n] or NULL*/, const char *title)
{
    fb_canvas canvas;
    FB_TRY(fb_render_image_grid(&canvas, images, n, channels, h, w, columns, scale, captions,
                                title, NULL));
    fb_status status = fb_canvas_save_png(&canvas, path);
    fb_canvas_free(&canvas);
    return status;
}
