/* freqbias/plot.h — figures as PNG files: line charts, heat maps with a
 * colour bar, and sample-image grids, drawn on a plain RGB canvas.
 *
 * Two layers:
 *
 *   the canvas   an 8-bit RGB raster with a few drawing primitives (fill,
 *                rectangles, lines, text from stb_easy_font, text rotated
 *                by 90° for y-axis titles) and an atomic PNG writer;
 *   the charts   fb_render_* draw a complete figure onto a canvas and report
 *                where the data landed (fb_plot_frame), so tests can check
 *                the pixels behind a figure; fb_plot_* render and save.
 *
 * Coordinates are pixels, x to the right and y DOWN, (0, 0) the top-left
 * pixel. Text is drawn with its box's top-left corner at (x, y); scale 1
 * gives glyphs about 7 px tall, scale 2 about 14 px. Only printable ASCII
 * is drawn; other bytes show as '?'.
 *
 *     fb_line_series acc = {.name = "test accuracy", .x = radius, .y = acc, .count = 16};
 *     fb_plot_labels lab = fb_plot_labels_default();
 *     lab.title = "Accuracy vs. low-pass radius";
 *     lab.x_label = "radius (px)";
 *     lab.y_label = "accuracy";
 *     lab.fixed_y = 1; lab.y_min = 0; lab.y_max = 1;
 *     lab.has_reference = 1; lab.reference = 0.93; lab.reference_label = "clean";
 *     FB_TRY(fb_plot_lines("out/sweep.png", &acc, 1, &lab));
 */
#ifndef FREQBIAS_PLOT_H
#define FREQBIAS_PLOT_H

#include <stdint.h>

#include "freqbias/error.h"

/* ---------------------------------------------------------------- canvas */

typedef struct fb_rgb {
    uint8_t r, g, b;
} fb_rgb;

typedef struct fb_canvas {
    int width, height;
    uint8_t *pixels; /* [height, width, 3] row-major RGB */
} fb_canvas;

/* Allocates a width × height canvas filled with white. */
fb_status fb_canvas_create(fb_canvas *canvas, int width, int height);
/* Frees the pixels; safe on a zeroed canvas. */
void fb_canvas_free(fb_canvas *canvas);

void fb_canvas_fill(fb_canvas *canvas, fb_rgb color);
/* One pixel; outside the canvas does nothing. */
void fb_canvas_set(fb_canvas *canvas, int x, int y, fb_rgb color);
/* The pixel at (x, y) (black outside the canvas). */
fb_rgb fb_canvas_get(const fb_canvas *canvas, int x, int y);
/* Filled rectangle [x, x + w) × [y, y + h), clipped to the canvas. */
void fb_canvas_rect(fb_canvas *canvas, int x, int y, int w, int h, fb_rgb color);
/* Straight line between pixel centres, any direction; thickness 1 or 2. */
void fb_canvas_line(fb_canvas *canvas, double x0, double y0, double x1, double y1, int thickness,
                    fb_rgb color);

/* Size of the text box in pixels at a scale (1, 2, 3, ...). */
int fb_text_width(const char *text, int scale);
int fb_text_height(int scale);
/* Horizontal text with its box's top-left at (x, y). */
void fb_canvas_text(fb_canvas *canvas, int x, int y, const char *text, int scale, fb_rgb color);
/* Text turned 90° counter-clockwise (reads bottom to top, as a y-axis
 * title does); its box, fb_text_height wide and fb_text_width tall, has its
 * top-left at (x, y). */
fb_status fb_canvas_text_vertical(fb_canvas *canvas, int x, int y, const char *text, int scale,
                                  fb_rgb color);

/* Writes the canvas as an 8-bit RGB PNG through a temp file and rename.
 * Errors name the path. */
fb_status fb_canvas_save_png(const fb_canvas *canvas, const char *path);

/* ------------------------------------------------------------- colormaps */

/* v in [0, 1] (clamped) → RGB. NaN gives mid grey. jet runs dark blue →
 * cyan → yellow → dark red; viridis is a viridis-like sequential map, dark
 * purple → teal → yellow, whose luminance rises with v. */
void fb_colormap_jet(double v, uint8_t rgb[3]);
void fb_colormap_viridis(double v, uint8_t rgb[3]);

typedef enum fb_colormap { FB_COLORMAP_VIRIDIS = 0, FB_COLORMAP_JET } fb_colormap;

/* --------------------------------------------------------------- charts */

/* Where a chart put its data: the plot rectangle in pixels (x0, y0 the
 * top-left, x1, y1 the bottom-right, inclusive) and the data range it
 * spans. Data (x, y) lands at
 *     px = x0 + (x − x_min) / (x_max − x_min) · (x1 − x0)
 *     py = y1 − (y − y_min) / (y_max − y_min) · (y1 − y0)
 * For a heat map the rectangle holds the cells: each cell_w × cell_h
 * pixels, row 0 at the bottom. For an image grid, tile k has its top-left
 * at (x0 + (k % columns)·pitch_x, y0 + (k / columns)·pitch_y). */
typedef struct fb_plot_frame {
    int x0, y0, x1, y1;
    double x_min, x_max, y_min, y_max;
    int cell_w, cell_h;       /* heat map cells                  */
    int pitch_x, pitch_y;     /* image-grid tile spacing         */
} fb_plot_frame;

/* Data point → pixel centre for a line chart frame (rounded). */
void fb_plot_frame_to_pixel(const fb_plot_frame *frame, double x, double y, int *px, int *py);

/* Up to cap "nice" tick values (steps of 1, 2 or 5 × 10^k) inside
 * [lo, hi], about target of them. Returns how many; *step gets the step. */
int fb_nice_ticks(double lo, double hi, int target, double *ticks /*[cap]*/, int cap,
                  double *step);

typedef struct fb_line_series {
    const char *name;     /* legend entry (NULL: not in the legend)      */
    const double *x;      /* [count]; NULL means 0, 1, 2, ...            */
    const double *y;      /* [count]; NaN points are skipped             */
    int count;
    const double *err;    /* [count] or NULL: an error bar y ± err[i] at
                             each point (e.g. the std over seeds), in the
                             series colour with 4-px caps; NaN or 0: none */
} fb_line_series;

typedef struct fb_plot_labels {
    const char *title, *x_label, *y_label;   /* NULL: none                */
    int fixed_y;                             /* 1: y range is y_min..y_max */
    double y_min, y_max;
    int has_reference;                       /* dashed horizontal line    */
    double reference;
    const char *reference_label;             /* its legend entry          */
    int width, height;                       /* 0: 900 × 560              */
} fb_plot_labels;

fb_plot_labels fb_plot_labels_default(void);

/* Line chart with markers (and error bars where a series has err), axes
 * with 1-2-5 ticks, grid, axis titles, title and a legend to the right of
 * the plot; an automatic y range includes the error bars. Series colours follow a fixed
 * palette (fb_plot_series_color). */
fb_status fb_render_lines(fb_canvas *canvas, const fb_line_series *series, int count,
                          const fb_plot_labels *labels, fb_plot_frame *frame);
fb_status fb_plot_lines(const char *path, const fb_line_series *series, int count,
                        const fb_plot_labels *labels);
fb_rgb fb_plot_series_color(int index);

typedef struct fb_heatmap_labels {
    const char *title, *x_label, *y_label, *colorbar_label;  /* NULL: none */
    fb_colormap colormap;
    int fixed_range;                 /* 1: colours span v_min..v_max      */
    double v_min, v_max;             /* else the data's finite min..max   */
    double x_first, x_step;          /* column c is x_first + c·x_step    */
    double y_first, y_step;          /* row r is y_first + r·y_step       */
    int cell_w, cell_h;              /* pixels per cell; 0: fit ~640×420  */
} fb_heatmap_labels;

/* x_step = y_step = 1, everything else zero/NULL (viridis, data range). */
fb_heatmap_labels fb_heatmap_labels_default(void);

/* Heat map of values [rows, cols], row 0 at the BOTTOM, with tick labels on
 * both axes (at cell centres) and a vertical colour bar with its own ticks.
 * NaN cells are grey. */
fb_status fb_render_heatmap(fb_canvas *canvas, const float *values /*[rows, cols]*/, int rows,
                            int cols, const fb_heatmap_labels *labels, fb_plot_frame *frame);
fb_status fb_plot_heatmap(const char *path, const float *values /*[rows, cols]*/, int rows,
                          int cols, const fb_heatmap_labels *labels);

/* A grid of n images [n, channels, h, w] with values in [0, 1] (clamped),
 * channels 1 (grey) or 3 (RGB), columns tiles per row (≤ 0: about square),
 * each pixel drawn scale × scale, an optional caption under each tile and a title. */
fb_status fb_render_image_grid(fb_canvas *canvas, const float *images /*[n, C, h, w]*/, int n,
                               int channels, int h, int w, int columns, int scale,
                               const char *const *captions /*[n] or NULL*/, const char *title,
                               fb_plot_frame *frame);
fb_status fb_plot_image_grid(const char *path, const float *images /*[n, C, h, w]*/, int n,
                             int channels, int h, int w, int columns, int scale,
                             const char *const *captions /*[n] or NULL*/, const char *title);

#endif
