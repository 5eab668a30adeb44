/* cpu_conv_small.c — direct convolution for small maps, vectorised over
 * channels (PyTorch: F.conv2d(x, w, stride=s, padding=p) with K = 1 or 3).
 *
 * Why: on 8×8 and 4×4 maps (and the strided convs and 1×1 shortcuts that
 * lead into them) the im2col + sgemm route spends as long copying columns,
 * regrouping samples into chunks and packing tiny GEMM operands as it does
 * multiplying. cpu_conv3x3.c vectorises over 16 pixels of a row, which needs
 * rows of 16; here a vector holds 16 CHANNELS of one pixel instead, so any
 * map size and stride work, as long as the channel counts are multiples of 16.
 *
 * Layout. One sample at a time is transposed to pixel-major form:
 *   xT[Hp·Wp, C]  the input with a zero border of `pad` (Hp = H + 2·pad),
 *                 so pixel (y, x) of the padded plane is row y·Wp + x;
 *   dT[P, OC]     the output (or its gradient), P = OH·OW, q = oy·OW + ox.
 * Output pixel q under tap t = (ky, kx) reads padded row
 *   row(q, t) = (oy·s + ky)·Wp + (ox·s + kx).
 * Weights are repacked once per call with the vectorised channel innermost.
 *
 * Forward  dT[q, o] = Σ_t Σ_c xT[row(q,t), c] · w[o,c,ky,kx]
 *   tile: 8 pixels × up to 3 vectors of 16 output channels (24 accumulators,
 *   a weight vector loaded once per 8 fused multiply-adds), the sum
 *   one fused multiply-add chain from 0 in (t, c) order; then dT is
 *   transposed into out[n] (adding the bias there).
 * Backward data (a scatter, so stride 2 needs no special case)
 *   for each tile of 8 output pixels, for each tap t in order:
 *     acc[q, c] = Σ_o dT[q, o] · w[o,c,ky,kx]      (fma chain from 0, o in order)
 *     dinT[row(q,t), c] += acc[q, c]                (one rounded add)
 *   so each din element is a fixed sequence of adds: tiles in pixel order,
 *   taps in order within a tile. dinT is then transposed into din[n].
 * Backward filter  dw[o,c,t] = Σ_n Σ_q xT[row(q,t), c] · dT[q, o]
 *   tile: J input channels × B vectors of output channels at one tap (8 × 1-3,
 *   or 6, 6, 4 per 16 channels × 4: ≤ 24 accumulators); the
 *   sum is one fma chain over (n, q) for the samples n of a leaf of the
 *   batch tree, continued from the leaf's memory; the leaves' partials are
 *   added pairwise up the tree (tree_reduce.h), as in cpu_conv3x3.c.
 *
 * Bits. The AVX-512 tiles (built when the compiler targets AVX-512) and the
 * portable fmaf twins below them make the same chains, so both give
 * identical bits. Forward and backward data give each sample to one thread;
 * the filter gradient's threads own whole subtrees of the batch tree (up to
 * 32 at batch 128), so its bits do not depend on the thread count. The chains
 * differ from the im2col + sgemm path, so the path is chosen from the
 * geometry alone (fb_convsmall_selected).
 */
#include "cpu_conv_small.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "cpu_conv3x3.h"
#include "tree_reduce.h"

#ifdef __AVX512F__
#include <immintrin.h>
#endif

enum {
    LANES = 16,         /* channels in a vector                                */
    MAX_VECTORS = 4,    /* channel vectors per filter-gradient tile           */
    TILE_VECTORS = 3,   /* channel vectors per forward / backward-data tile   */
    TILE_PIXELS = 8,    /* pixels per forward / backward-data tile            */
    MAX_GROUP = FB_TREE_LEAF, /* samples transposed at once: at most a leaf    */
    MAX_CHANNELS = 128, /* measured only up to here (ResNet-18 width 16)       */
    MAX_OUT_PIXELS = 256,
};

int fb_convsmall_selected(const fb_conv_geom *g)
{
    return (g->kernel == 1 || g->kernel == 3) && (g->stride == 1 || g->stride == 2) &&
           g->pad < g->kernel && g->in_channels % LANES == 0 && g->out_channels % LANES == 0 &&
           g->in_channels <= MAX_CHANNELS && g->out_channels <= MAX_CHANNELS &&
           g->out_h * g->out_w <= MAX_OUT_PIXELS && !fb_conv3x3_selected(g);
}

/* ---- geometry and workspace ----------------------------------------------- */

typedef struct small_shape {
    int C, OC, K, KK, stride, pad;
    int h, w, hp, wp, oh, ow;
    size_t P, padded_rows; /* OH·OW and Hp·Wp */
} small_shape;

static small_shape shape_of(const fb_conv_geom *g)
{
    small_shape s;
    s.C = g->in_channels;
    s.OC = g->out_channels;
    s.K = g->kernel;
    s.KK = g->kernel * g->kernel;
    s.stride = g->stride;
    s.pad = g->pad;
    s.h = g->in_h;
    s.w = g->in_w;
    s.hp = g->in_h + 2 * g->pad;
    s.wp = g->in_w + 2 * g->pad;
    s.oh = g->out_h;
    s.ow = g->out_w;
    s.P = (size_t)g->out_h * g->out_w;
    s.padded_rows = (size_t)s.hp * s.wp;
    return s;
}

static size_t round16(size_t floats) { return (floats + 15) / 16 * 16; }

/* Shared: packed weights [KK·C·OC] and the filter gradient's total
 * [KK, C, OC] (also the scratch of the forward's packing); per thread:
 * `group` xT blocks, then `group` dT blocks; then the filter gradient's tree
 * partials (tree_reduce.h). The filter gradient transposes `group` samples
 * of a leaf at once and runs each tile over all of them, so a leaf's
 * partial sums are read and written once per group, not per sample (on
 * 4×4 maps they are larger than the sample); the fma chain is the same. */
typedef struct small_layout {
    size_t packed_floats, total_floats, padded_floats, grad_floats;
    size_t weights;           /* KK·C·OC */
    int group, batch;
} small_layout;

enum { GROUP_FLOATS = 65536 }; /* 256 KB of transposed samples per thread */

static small_layout layout_of(const fb_conv_geom *g)
{
    small_shape s = shape_of(g);
    size_t weights = (size_t)s.KK * s.C * s.OC;
    small_layout l = {round16(weights), round16(weights), round16(s.padded_rows * s.C),
                      round16(s.P * s.OC), weights, 1, g->batch};
    size_t fit = GROUP_FLOATS / (l.padded_floats + l.grad_floats);
    l.group = fit < 1 ? 1 : fit > MAX_GROUP ? MAX_GROUP : (int)fit;
    return l;
}

static size_t per_thread_floats(const small_layout *l)
{
    return (size_t)l->group * (l->padded_floats + l->grad_floats);
}

static size_t layout_floats(const small_layout *l, int threads)
{
    tree_plan tree = tree_plan_make(l->batch, l->weights, threads);
    return l->packed_floats + l->total_floats + (size_t)threads * per_thread_floats(l) +
           tree_plan_floats(&tree);
}

size_t fb_convsmall_workspace(const fb_conv_geom *g, int threads)
{
    small_layout l = layout_of(g);
    return layout_floats(&l, threads) * sizeof(float);
}

static int usable_threads(const small_layout *l, size_t workspace_bytes)
{
    int threads = omp_get_max_threads();
    while (threads > 1 && layout_floats(l, threads) * sizeof(float) > workspace_bytes)
        threads--;
    return threads;
}

static float *thread_block(float *workspace, const small_layout *l, int thread)
{
    return workspace + l->packed_floats + l->total_floats + (size_t)thread * per_thread_floats(l);
}

/* ---- data movement ---------------------------------------------------------- */

/* Where pixel p of a [H, W] plane lands in the rows of a padded buffer
 * (pad = 0 and wp = w: row p itself). */
typedef struct row_map {
    int w, pad, wp;
} row_map;

static size_t row_of(const row_map *m, size_t p)
{
    return (p / m->w + m->pad) * m->wp + p % m->w + m->pad;
}

#ifdef __AVX512F__
/* r[16] rows of 16 floats → its transpose, in registers. */
static inline __attribute__((always_inline)) void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int m = 0; m < 4; m++) {
        __m512 a = _mm512_shuffle_f32x4(r[m], r[4 + m], 0x88);
        __m512 b = _mm512_shuffle_f32x4(r[m], r[4 + m], 0xDD);
        __m512 c = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0x88);
        __m512 d = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0xDD);
        t[m] = _mm512_shuffle_f32x4(a, c, 0x88);
        t[8 + m] = _mm512_shuffle_f32x4(a, c, 0xDD);
        t[4 + m] = _mm512_shuffle_f32x4(b, d, 0x88);
        t[12 + m] = _mm512_shuffle_f32x4(b, d, 0xDD);
    }
    for (int i = 0; i < 16; i++)
        r[i] = t[i];
}
#endif

/* rows[row(p), c] = planes[c, p] for p < P; rows is [*, channels]. */
static void planes_to_rows(float *rows, const float *planes, int channels, size_t P,
                           const row_map *m)
{
    size_t p0 = 0;
#ifdef __AVX512F__
    for (; p0 + LANES <= P; p0 += LANES)
        for (int c0 = 0; c0 < channels; c0 += LANES) {
            __m512 v[16];
            for (int i = 0; i < 16; i++)
                v[i] = _mm512_loadu_ps(planes + (size_t)(c0 + i) * P + p0);
            transpose16(v);
            for (int j = 0; j < 16; j++)
                _mm512_storeu_ps(rows + row_of(m, p0 + j) * channels + c0, v[j]);
        }
#endif
    for (size_t p = p0; p < P; p++)
        for (int c = 0; c < channels; c++)
            rows[row_of(m, p) * channels + c] = planes[(size_t)c * P + p];
}

/* planes[c, p] = rows[row(p), c] (+ bias[c] when not NULL) for p < P. */
static void rows_to_planes(float *planes, const float *rows, const float *bias, int channels,
                           size_t P, const row_map *m)
{
    size_t p0 = 0;
#ifdef __AVX512F__
    for (; p0 + LANES <= P; p0 += LANES)
        for (int c0 = 0; c0 < channels; c0 += LANES) {
            __m512 v[16];
            for (int j = 0; j < 16; j++)
                v[j] = _mm512_loadu_ps(rows + row_of(m, p0 + j) * channels + c0);
            transpose16(v);
            for (int i = 0; i < 16; i++) {
                __m512 value = bias ? _mm512_add_ps(v[i], _mm512_set1_ps(bias[c0 + i])) : v[i];
                _mm512_storeu_ps(planes + (size_t)(c0 + i) * P + p0, value);
            }
        }
#endif
    for (size_t p = p0; p < P; p++)
        for (int c = 0; c < channels; c++) {
            float value = rows[row_of(m, p) * channels + c];
            planes[(size_t)c * P + p] = bias ? value + bias[c] : value;
        }
}

/* xT[Hp·Wp, C] = src[C, H, W] moved into the padded interior, border 0. */
static void to_padded_rows(float *xT, const float *src, const small_shape *s)
{
    row_map m = {s->w, s->pad, s->wp};
    if (s->pad > 0)
        memset(xT, 0, s->padded_rows * s->C * sizeof(float));
    planes_to_rows(xT, src, s->C, (size_t)s->h * s->w, &m);
}

/* din[C, H, W] = the interior of dinT[Hp·Wp, C]. */
static void from_padded_rows(float *din, const float *dinT, const small_shape *s)
{
    row_map m = {s->w, s->pad, s->wp};
    rows_to_planes(din, dinT, NULL, s->C, (size_t)s->h * s->w, &m);
}

/* dT[P, OC] = d[OC, P] */
static void to_pixel_major(float *dT, const float *d, size_t P, int channels)
{
    row_map m = {(int)P, 0, (int)P};
    planes_to_rows(dT, d, channels, P, &m);
}

/* out[OC, P] = dT[P, OC] (+ bias[o]) */
static void from_pixel_major(float *out, const float *dT, const float *bias, size_t P,
                             int channels)
{
    row_map m = {(int)P, 0, (int)P};
    rows_to_planes(out, dT, bias, channels, P, &m);
}

/* First padded row read by output pixel q (tap (0, 0)). */
static size_t base_row(const small_shape *s, size_t q)
{
    int oy = (int)(q / s->ow), ox = (int)(q % s->ow);
    return (size_t)oy * s->stride * s->wp + (size_t)ox * s->stride;
}

static size_t tap_rows(const small_shape *s, int t) { return (size_t)(t / s->K) * s->wp + t % s->K; }

/* Channel vectors in the forward / backward-data tile that starts at vector
 * v0: blocks of 3 (8 pixels × 3 vectors = 24 accumulators, each weight
 * vector loaded once per 8 FMAs), a remainder of 4 split 2 + 2. */
static int tile_vectors(int vectors, int v0)
{
    int left = vectors - v0;
    return left == 4 ? 2 : left < TILE_VECTORS ? left : TILE_VECTORS;
}

/* ---- forward and backward-data tiles ---------------------------------------- */

/* One tile: pixels q0..q0+n_pix−1 × channel vectors v0..v0+B−1. Forward:
 * dT[q, o] = Σ_t Σ_c xT[row(q,t), c] · packed[t, c, o], packed [KK, C, OC].
 * Backward data: per tap, dinT[row(q,t), c] += Σ_o dT[q, o] · packed[t, o, c],
 * packed [KK, OC, C]. */
typedef struct tile_args {
    const small_shape *s;
    const float *packed;
    const float *xT;   /* forward: [Hp·Wp, C]                  */
    float *dT;         /* forward output / backward input [P, OC] */
    float *dinT;       /* backward data output [Hp·Wp, C]      */
    size_t q0;
    int n_pix, v0;
} tile_args;

#ifdef __AVX512F__
static inline __attribute__((always_inline)) void forward_tile(const tile_args *a, int R, int B)
{
    const small_shape *s = a->s;
    size_t base[TILE_PIXELS];
    __m512 acc[TILE_PIXELS][TILE_VECTORS];
    for (int r = 0; r < R; r++) {
        base[r] = base_row(s, a->q0 + (r < a->n_pix ? r : a->n_pix - 1)) * s->C;
        for (int b = 0; b < B; b++)
            acc[r][b] = _mm512_setzero_ps();
    }
    for (int t = 0; t < s->KK; t++) {
        const float *x = a->xT + tap_rows(s, t) * s->C;
        const float *w = a->packed + (size_t)t * s->C * s->OC + (size_t)a->v0 * LANES;
        for (int c = 0; c < s->C; c++) {
            __m512 wv[TILE_VECTORS];
            for (int b = 0; b < B; b++)
                wv[b] = _mm512_loadu_ps(w + (size_t)c * s->OC + b * LANES);
            for (int r = 0; r < R; r++) {
                __m512 xb = _mm512_set1_ps(x[base[r] + c]);
                for (int b = 0; b < B; b++)
                    acc[r][b] = _mm512_fmadd_ps(xb, wv[b], acc[r][b]);
            }
        }
    }
    for (int r = 0; r < R; r++)
        if (r < a->n_pix)
            for (int b = 0; b < B; b++)
                _mm512_storeu_ps(a->dT + (a->q0 + r) * s->OC + (size_t)(a->v0 + b) * LANES,
                                 acc[r][b]);
}

static inline __attribute__((always_inline)) void data_tile(const tile_args *a, int R, int B)
{
    const small_shape *s = a->s;
    size_t base[TILE_PIXELS];
    const float *grad[TILE_PIXELS];
    for (int r = 0; r < R; r++) {
        size_t q = a->q0 + (r < a->n_pix ? r : a->n_pix - 1);
        base[r] = base_row(s, q);
        grad[r] = a->dT + q * s->OC;
    }
    for (int t = 0; t < s->KK; t++) {
        const float *w = a->packed + (size_t)t * s->OC * s->C + (size_t)a->v0 * LANES;
        __m512 acc[TILE_PIXELS][TILE_VECTORS];
        for (int r = 0; r < R; r++)
            for (int b = 0; b < B; b++)
                acc[r][b] = _mm512_setzero_ps();
        for (int o = 0; o < s->OC; o++) {
            __m512 wv[TILE_VECTORS];
            for (int b = 0; b < B; b++)
                wv[b] = _mm512_loadu_ps(w + (size_t)o * s->C + b * LANES);
            for (int r = 0; r < R; r++) {
                __m512 db = _mm512_set1_ps(grad[r][o]);
                for (int b = 0; b < B; b++)
                    acc[r][b] = _mm512_fmadd_ps(db, wv[b], acc[r][b]);
            }
        }
        size_t rows = tap_rows(s, t);
        for (int r = 0; r < R; r++)
            if (r < a->n_pix)
                for (int b = 0; b < B; b++) {
                    float *target = a->dinT + (base[r] + rows) * s->C + (size_t)(a->v0 + b) * LANES;
                    _mm512_storeu_ps(target, _mm512_add_ps(_mm512_loadu_ps(target), acc[r][b]));
                }
    }
}

/* Instantiates the tiles per vector count so their accumulators are registers. */
static void forward_tile_any(const tile_args *a, int B)
{
    switch (B) {
    case 1: forward_tile(a, TILE_PIXELS, 1); break;
    case 2: forward_tile(a, TILE_PIXELS, 2); break;
    default: forward_tile(a, TILE_PIXELS, 3); break;
    }
}

static void data_tile_any(const tile_args *a, int B)
{
    switch (B) {
    case 1: data_tile(a, TILE_PIXELS, 1); break;
    case 2: data_tile(a, TILE_PIXELS, 2); break;
    default: data_tile(a, TILE_PIXELS, 3); break;
    }
}
#else
/* Portable twins of the AVX-512 tiles: the same fmaf chains per element. */
static void forward_tile_any(const tile_args *a, int B)
{
    const small_shape *s = a->s;
    for (int r = 0; r < a->n_pix; r++) {
        size_t base = base_row(s, a->q0 + r) * s->C;
        for (int k = 0; k < B * LANES; k++) {
            int o = a->v0 * LANES + k;
            float acc = 0.0f;
            for (int t = 0; t < s->KK; t++) {
                const float *x = a->xT + tap_rows(s, t) * s->C + base;
                const float *w = a->packed + (size_t)t * s->C * s->OC + o;
                for (int c = 0; c < s->C; c++)
                    acc = fmaf(x[c], w[(size_t)c * s->OC], acc);
            }
            a->dT[(a->q0 + r) * s->OC + o] = acc;
        }
    }
}

static void data_tile_any(const tile_args *a, int B)
{
    const small_shape *s = a->s;
    for (int t = 0; t < s->KK; t++)
        for (int r = 0; r < a->n_pix; r++) {
            size_t q = a->q0 + r;
            const float *grad = a->dT + q * s->OC;
            float *target = a->dinT + (base_row(s, q) + tap_rows(s, t)) * s->C;
            for (int k = 0; k < B * LANES; k++) {
                int c = a->v0 * LANES + k;
                const float *w = a->packed + (size_t)t * s->OC * s->C + c;
                float acc = 0.0f;
                for (int o = 0; o < s->OC; o++)
                    acc = fmaf(grad[o], w[(size_t)o * s->C], acc);
                target[c] = target[c] + acc;
            }
        }
}
#endif

/* Tiles of one sample in a fixed order: vector blocks, then pixel tiles. */
static void run_tiles(tile_args a, int vectors, int backward)
{
    for (int v0 = 0, B; v0 < vectors; v0 += B) {
        B = tile_vectors(vectors, v0);
        for (size_t q0 = 0; q0 < a.s->P; q0 += TILE_PIXELS) {
            a.q0 = q0;
            a.v0 = v0;
            a.n_pix = a.s->P - q0 < TILE_PIXELS ? (int)(a.s->P - q0) : TILE_PIXELS;
            if (backward)
                data_tile_any(&a, B);
            else
                forward_tile_any(&a, B);
        }
    }
}

/* ---- the three ops ---------------------------------------------------------- */

/* by_tap[t, o, c] = weight[o, c, t]: the packing of backward data. */
static void weights_by_tap(float *by_tap, const float *weight, const small_shape *s)
{
    for (int o = 0; o < s->OC; o++)
        for (int c = 0; c < s->C; c++)
            for (int t = 0; t < s->KK; t++)
                by_tap[((size_t)t * s->OC + o) * s->C + c] = weight[((size_t)o * s->C + c) * s->KK + t];
}

/* packed[t, c, o] = weight[o, c, t]: the packing of the forward, through
 * scratch [KK, OC, C] and one [OC, C] → [C, OC] transpose per tap. */
static void pack_forward(float *packed, float *scratch, const float *weight, const small_shape *s)
{
    weights_by_tap(scratch, weight, s);
    row_map identity = {s->C, 0, s->C};
    size_t per_tap = (size_t)s->C * s->OC;
    for (int t = 0; t < s->KK; t++)
        planes_to_rows(packed + t * per_tap, scratch + t * per_tap, s->OC, (size_t)s->C, &identity);
}

void fb_convsmall_forward(float *out, const float *in, const float *weight, const float *bias,
                          const fb_conv_geom *g, void *workspace, size_t workspace_bytes)
{
    small_shape s = shape_of(g);
    small_layout l = layout_of(g);
    float *packed = workspace;
    pack_forward(packed, packed + l.packed_floats, weight, &s); /* scratch: the total area */
    int threads = usable_threads(&l, workspace_bytes);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int n = 0; n < g->batch; n++) {
        float *xT = thread_block(workspace, &l, omp_get_thread_num()), *dT = xT + (size_t)l.group * l.padded_floats;
        to_padded_rows(xT, in + (size_t)n * s.C * s.h * s.w, &s);
        tile_args a = {&s, packed, xT, dT, NULL, 0, 0, 0};
        run_tiles(a, s.OC / LANES, 0);
        from_pixel_major(out + (size_t)n * s.OC * s.P, dT, bias, s.P, s.OC);
    }
}

void fb_convsmall_backward_data(float *din, const float *dout, const float *weight,
                                const fb_conv_geom *g, void *workspace, size_t workspace_bytes)
{
    small_shape s = shape_of(g);
    small_layout l = layout_of(g);
    float *packed = workspace;
    weights_by_tap(packed, weight, &s);
    int threads = usable_threads(&l, workspace_bytes);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int n = 0; n < g->batch; n++) {
        float *dinT = thread_block(workspace, &l, omp_get_thread_num()), *dT = dinT + (size_t)l.group * l.padded_floats;
        memset(dinT, 0, s.padded_rows * s.C * sizeof(float));
        to_pixel_major(dT, dout + (size_t)n * s.OC * s.P, s.P, s.OC);
        tile_args a = {&s, packed, NULL, dT, dinT, 0, 0, 0};
        run_tiles(a, s.C / LANES, 1);
        from_padded_rows(din + (size_t)n * s.C * s.h * s.w, dinT, &s);
    }
}

/* ---- filter gradient ---------------------------------------------------------- */

/* partial[t, c0+j, o] += Σ_q xT[row(q,t), c0+j] · dT[q, o] for j < J and the
 * B vectors of output channels from v0. partial is [KK, C, OC]. */
typedef struct filter_args {
    const small_shape *s;
    float *partial;
    const float *xT, *dT; /* `samples` blocks each, x_stride / d_stride floats apart */
    size_t x_stride, d_stride;
    int samples, t, c0, v0;
} filter_args;

#ifdef __AVX512F__
static inline __attribute__((always_inline)) void filter_tile(const filter_args *a, int J, int B)
{
    const small_shape *s = a->s;
    float *sum = a->partial + ((size_t)a->t * s->C + a->c0) * s->OC + (size_t)a->v0 * LANES;
    __m512 acc[8][MAX_VECTORS];
    for (int j = 0; j < J; j++)
        for (int b = 0; b < B; b++)
            acc[j][b] = _mm512_loadu_ps(sum + (size_t)j * s->OC + b * LANES);
    for (int i = 0; i < a->samples; i++) {
        const float *x0 = a->xT + i * a->x_stride + tap_rows(s, a->t) * s->C + a->c0;
        const float *grad = a->dT + i * a->d_stride + (size_t)a->v0 * LANES;
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                const float *x =
                    x0 + ((size_t)oy * s->stride * s->wp + (size_t)ox * s->stride) * s->C;
                __m512 d[MAX_VECTORS];
                for (int b = 0; b < B; b++)
                    d[b] = _mm512_loadu_ps(grad + b * LANES);
                for (int j = 0; j < J; j++) {
                    __m512 xb = _mm512_set1_ps(x[j]);
                    for (int b = 0; b < B; b++)
                        acc[j][b] = _mm512_fmadd_ps(xb, d[b], acc[j][b]);
                }
                grad += s->OC;
            }
    }
    for (int j = 0; j < J; j++)
        for (int b = 0; b < B; b++)
            _mm512_storeu_ps(sum + (size_t)j * s->OC + b * LANES, acc[j][b]);
}

/* Input channels per filter tile: 8, or with 4 vectors 6 + 6 + 4 per 16
 * channels (≤ 24 accumulators). */
static int filter_channels(int B, int c0) { return B < 4 ? 8 : c0 % 16 == 12 ? 4 : 6; }

/* Returns the channels it covered. */
static int filter_tile_any(const filter_args *a, int B)
{
    switch (B) {
    case 1: filter_tile(a, 8, 1); return 8;
    case 2: filter_tile(a, 8, 2); return 8;
    case 3: filter_tile(a, 8, 3); return 8;
    default:
        if (filter_channels(B, a->c0) == 6)
            filter_tile(a, 6, 4);
        else
            filter_tile(a, 4, 4);
        return filter_channels(B, a->c0);
    }
}
#else
static int filter_channels(int B, int c0) { return B < 4 ? 8 : c0 % 16 == 12 ? 4 : 6; }

/* Portable twin of the AVX-512 tile: the same fmaf chain per element. */
static int filter_tile_any(const filter_args *a, int B)
{
    const small_shape *s = a->s;
    int J = filter_channels(B, a->c0);
    for (int j = 0; j < J; j++)
        for (int k = 0; k < B * LANES; k++) {
            int o = a->v0 * LANES + k;
            float *sum = a->partial + ((size_t)a->t * s->C + a->c0 + j) * s->OC + o;
            float acc = *sum;
            for (int i = 0; i < a->samples; i++) {
                const float *xT = a->xT + i * a->x_stride, *dT = a->dT + i * a->d_stride;
                for (size_t q = 0; q < s->P; q++)
                    acc = fmaf(xT[(base_row(s, q) + tap_rows(s, a->t)) * s->C + a->c0 + j],
                               dT[q * s->OC + o], acc);
            }
            *sum = acc;
        }
    return J;
}
#endif

/* What a filter-gradient leaf reads. */
typedef struct filter_leaf_args {
    float *workspace;
    const small_layout *layout;
    const small_shape *shape;
    const float *dout, *in; /* [N, OC, OH, OW], [N, C, H, W] */
} filter_leaf_args;

/* partial[KK, C, OC] = the leaf's filter gradient: one fma chain per weight
 * over the leaf's samples in order (in groups of `group` transposed samples). */
static void filter_leaf(float *partial, fb_tree_node leaf, int thread, void *ctx)
{
    const filter_leaf_args *a = ctx;
    const small_shape *s = a->shape;
    const small_layout *l = a->layout;
    const int vectors = s->OC / LANES;
    float *xT = thread_block(a->workspace, l, thread), *dT = xT + (size_t)l->group * l->padded_floats;
    memset(partial, 0, l->weights * sizeof(float));
    for (int first = leaf.lo; first < leaf.hi; first += l->group) {
        int samples = leaf.hi - first < l->group ? leaf.hi - first : l->group;
        for (int i = 0; i < samples; i++) {
            int n = first + i;
            to_padded_rows(xT + i * l->padded_floats, a->in + (size_t)n * s->C * s->h * s->w, s);
            to_pixel_major(dT + i * l->grad_floats, a->dout + (size_t)n * s->OC * s->P, s->P, s->OC);
        }
        for (int t = 0; t < s->KK; t++)
            for (int v0 = 0; v0 < vectors; v0 += MAX_VECTORS) {
                int B = vectors - v0 < MAX_VECTORS ? vectors - v0 : MAX_VECTORS;
                for (int c0 = 0; c0 < s->C;) {
                    filter_args f = {s,       partial, xT, dT, l->padded_floats, l->grad_floats,
                                     samples, t,       c0, v0};
                    c0 += filter_tile_any(&f, B);
                }
            }
    }
}

void fb_convsmall_backward_filter(float *dweight, const float *dout, const float *in,
                                  const fb_conv_geom *g, void *workspace, size_t workspace_bytes)
{
    small_shape s = shape_of(g);
    small_layout l = layout_of(g);
    int threads = usable_threads(&l, workspace_bytes);
    float *total = (float *)workspace + l.packed_floats; /* [KK, C, OC] */
    filter_leaf_args args = {workspace, &l, &s, dout, in};
    tree_plan tree = tree_plan_make(g->batch, l.weights, threads);
    tree_reduce(total, &tree, thread_block(workspace, &l, threads), filter_leaf, &args);

    /* dweight[o, c, t] = total[t, c, o] through [C, OC] → [OC, C] transposes per tap */
    float *by_tap = (float *)workspace; /* [KK, OC, C], in the packed-weight area */
    row_map identity = {s.OC, 0, s.OC};
    size_t per_tap = (size_t)s.C * s.OC;
    for (int t = 0; t < s.KK; t++)
        rows_to_planes(by_tap + t * per_tap, total + t * per_tap, NULL, s.OC, (size_t)s.C,
                       &identity);
    for (int o = 0; o < s.OC; o++)
        for (int c = 0; c < s.C; c++)
            for (int t = 0; t < s.KK; t++)
                dweight[((size_t)o * s.C + c) * s.KK + t] = by_tap[((size_t)t * s.OC + o) * s.C + c];
}
