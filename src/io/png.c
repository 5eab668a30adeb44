/* png.c — the RGB canvas behind every figure: pixels, lines, text, PNG.
 *
 * The two stb headers used for figures live in this file only, with their
 * warnings silenced around the include:
 *
 *   stb_easy_font    turns a string into axis-aligned quads on a small grid
 *                    (about 7 units per capital letter, 12 per line). We fill
 *                    each quad scaled by an integer factor, so text stays
 *                    crisp: scale 1 for small labels, 2 for titles.
 *   stb_image_write  encodes the canvas as a PNG into a memory buffer
 *                    (stbi_write_png_to_func); the bytes then go to disk
 *                    through fb_atomic_open/commit, so a reader never sees a
 *                    half-written figure and errors name the path.
 *
 * Lines are drawn by stepping one pixel at a time along the longer axis
 * (a DDA), stamping a 1×1 or 2×2 square at each step. Rotated text is drawn
 * on a scratch canvas and copied turned by 90°.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/atomic_file.h"
#include "freqbias/plot.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wconversion"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

/* Glyph box height in font units: capitals span rows 0..6, descenders
 * (g, j, p, q, y) reach row 8. */
enum { FONT_HEIGHT = 9 };

fb_status fb_canvas_create(fb_canvas *canvas, int width, int height)
{
    canvas->width = canvas->height = 0;
    canvas->pixels = NULL;
    if (width <= 0 || height <= 0 || width > 32768 || height > 32768)
        return fb_error(FB_ERR_USAGE, "canvas size %d x %d is not in 1..32768", width, height);
    canvas->pixels = malloc((size_t)width * (size_t)height * 3);
    if (!canvas->pixels)
        return fb_error(FB_ERR_NOMEM, "canvas %d x %d: out of memory", width, height);
    canvas->width = width;
    canvas->height = height;
    memset(canvas->pixels, 255, (size_t)width * (size_t)height * 3);
    return FB_OK;
}

void fb_canvas_free(fb_canvas *canvas)
{
    free(canvas->pixels);
    canvas->pixels = NULL;
    canvas->width = canvas->height = 0;
}

void fb_canvas_fill(fb_canvas *canvas, fb_rgb color)
{
    fb_canvas_rect(canvas, 0, 0, canvas->width, canvas->height, color);
}

void fb_canvas_set(fb_canvas *canvas, int x, int y, fb_rgb color)
{
    if (x < 0 || y < 0 || x >= canvas->width || y >= canvas->height)
        return;
    uint8_t *p = canvas->pixels + ((size_t)y * (size_t)canvas->width + (size_t)x) * 3;
    p[0] = color.r;
    p[1] = color.g;
    p[2] = color.b;
}

fb_rgb fb_canvas_get(const fb_canvas *canvas, int x, int y)
{
    fb_rgb black = {0, 0, 0};
    if (x < 0 || y < 0 || x >= canvas->width || y >= canvas->height)
        return black;
    const uint8_t *p = canvas->pixels + ((size_t)y * (size_t)canvas->width + (size_t)x) * 3;
    fb_rgb c = {p[0], p[1], p[2]};
    return c;
}

void fb_canvas_rect(fb_canvas *canvas, int x, int y, int w, int h, fb_rgb color)
{
    int xa = x < 0 ? 0 : x, ya = y < 0 ? 0 : y;
    int xb = x + w > canvas->width ? canvas->width : x + w;
    int yb = y + h > canvas->height ? canvas->height : y + h;
    for (int j = ya; j < yb; j++)
        for (int i = xa; i < xb; i++)
            fb_canvas_set(canvas, i, j, color);
}

void fb_canvas_line(fb_canvas *canvas, double x0, double y0, double x1, double y1, int thickness,
                    fb_rgb color)
{
    double dx = x1 - x0, dy = y1 - y0;
    double longer = fabs(dx) > fabs(dy) ? fabs(dx) : fabs(dy);
    int steps = (int)ceil(longer);
    if (steps < 1)
        steps = 1;
    /* a 2-px line stamps a 2×2 square centred on the ideal point */
    double shift = thickness >= 2 ? 0.5 : 0.0;
    int size = thickness >= 2 ? 2 : 1;
    for (int i = 0; i <= steps; i++) {
        double t = (double)i / steps;
        int px = (int)lround(x0 + t * dx - shift), py = (int)lround(y0 + t * dy - shift);
        fb_canvas_rect(canvas, px, py, size, size, color);
    }
}

/* A copy of text that stb_easy_font can index safely: printable ASCII only. */
static char *printable_copy(const char *text)
{
    size_t n = strlen(text);
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        copy[i] = ch >= 32 && ch < 127 ? (char)ch : '?';
    }
    copy[n] = '\0';
    return copy;
}

int fb_text_height(int scale)
{
    return FONT_HEIGHT * scale;
}

/* Runs text through stb_easy_font and, for each quad scaled by scale and
 * placed at (x, y), fills it on canvas (when not NULL). Returns the right
 * edge of the inked area relative to x, i.e. the exact text width. */
static int text_quads(fb_canvas *canvas, int x, int y, const char *text, int scale, fb_rgb color)
{
    if (!text || !*text || scale < 1)
        return 0;
    int right = 0;
    char *copy = printable_copy(text);
    size_t bytes = strlen(text) * 1024 + 1024; /* up to ~12 quads of 64 bytes per glyph (8, B, W) */
    float *quads = malloc(bytes);           /* [quad, 4 vertices, (x, y, z, rgba)] */
    if (copy && quads) {
        int count = stb_easy_font_print(0, 0, copy, NULL, quads, (int)bytes);
        for (int q = 0; q < count; q++) {
            const float *v = quads + (size_t)q * 16; /* 4 vertices of 4 floats each */
            float xa = v[0], xb = v[0], ya = v[1], yb = v[1];
            for (int k = 1; k < 4; k++) {
                xa = fminf(xa, v[4 * k]);
                xb = fmaxf(xb, v[4 * k]);
                ya = fminf(ya, v[4 * k + 1]);
                yb = fmaxf(yb, v[4 * k + 1]);
            }
            int px = (int)lroundf(xa * scale), py = (int)lroundf(ya * scale);
            int pw = (int)lroundf((xb - xa) * scale), ph = (int)lroundf((yb - ya) * scale);
            if (px + pw > right)
                right = px + pw;
            if (canvas)
                fb_canvas_rect(canvas, x + px, y + py, pw, ph, color);
        }
    }
    free(quads);
    free(copy);
    return right;
}

int fb_text_width(const char *text, int scale)
{
    fb_rgb unused = {0, 0, 0};
    return text_quads(NULL, 0, 0, text, scale, unused);
}

void fb_canvas_text(fb_canvas *canvas, int x, int y, const char *text, int scale, fb_rgb color)
{
    text_quads(canvas, x, y, text, scale, color);
}

fb_status fb_canvas_text_vertical(fb_canvas *canvas, int x, int y, const char *text, int scale,
                                  fb_rgb color)
{
    int tw = fb_text_width(text, scale), th = fb_text_height(scale);
    if (tw <= 0)
        return FB_OK;
    fb_canvas scratch;
    FB_TRY(fb_canvas_create(&scratch, tw, th));
    fb_rgb black = {0, 0, 0};
    fb_canvas_text(&scratch, 0, 0, text, scale, black);
    /* scratch (u, v) → canvas (x + v, y + tw − 1 − u): a quarter turn
     * counter-clockwise, so the first letter ends up at the bottom */
    for (int v = 0; v < th; v++)
        for (int u = 0; u < tw; u++)
            if (fb_canvas_get(&scratch, u, v).r == 0)
                fb_canvas_set(canvas, x + v, y + tw - 1 - u, color);
    fb_canvas_free(&scratch);
    return FB_OK;
}

/* Growing byte buffer that stb_image_write appends to. */
typedef struct png_buffer {
    unsigned char *data; /* [size] */
    size_t size, capacity;
    int failed;
} png_buffer;

static void png_append(void *context, void *data, int size)
{
    png_buffer *b = context;
    if (b->failed || size <= 0)
        return;
    if (b->size + (size_t)size > b->capacity) {
        size_t cap = b->capacity ? b->capacity : 65536;
        while (cap < b->size + (size_t)size)
            cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->capacity = cap;
    }
    memcpy(b->data + b->size, data, (size_t)size);
    b->size += (size_t)size;
}

fb_status fb_canvas_save_png(const fb_canvas *canvas, const char *path)
{
    if (!canvas->pixels)
        return fb_error(FB_ERR_USAGE, "%s: the canvas is empty", path);
    png_buffer buffer = {0};
    int ok = stbi_write_png_to_func(png_append, &buffer, canvas->width, canvas->height, 3,
                                    canvas->pixels, canvas->width * 3);
    if (!ok || buffer.failed) {
        free(buffer.data);
        return fb_error(FB_ERR_NOMEM, "%s: PNG encoding failed (out of memory)", path);
    }
    fb_atomic_file out = {0};
    fb_status status = fb_atomic_open(path, &out);
    if (status == FB_OK) {
        if (fwrite(buffer.data, 1, buffer.size, out.stream) != buffer.size) {
            int saved = errno;
            fb_atomic_abort(&out);
            status = fb_error(FB_ERR_IO, "%s: write failed: %s", path, strerror(saved));
        } else {
            status = fb_atomic_commit(&out);
        }
    }
    free(buffer.data);
    return status;
}
