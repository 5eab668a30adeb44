/* cpu_conv3x3.c — direct 3×3 convolution, stride 1, pad 1, for the cpu
 * backend's layers with few channels (PyTorch: F.conv2d(x, w, padding=1)).
 *
 * Why: with 16 or 32 output channels the im2col + sgemm route has M = OC
 * rows, which OpenBLAS runs at a third of the machine's peak, and the
 * im2col copy costs as much again. Here the input of one sample is copied
 * once into a zero-bordered buffer and the convolution reads it in place.
 *
 * Shapes: in[N,C,H,W], weight[OC,C,3,3], out[N,OC,H,W], W a multiple of 16.
 * A "pixel vector" is 16 consecutive output pixels of one row (W % 16 == 0
 * keeps them inside a row); the padded plane is [H+2, W+2] with the image at
 * (1..H, 1..W), so output pixel (y, x) under tap (ky, kx) reads padded
 * pixel (y + ky, x + kx) and a pixel vector's tap is one unaligned load.
 *
 * Forward  out[n,o,y,x] = Σ_c Σ_ky Σ_kx w[o,c,ky,kx] · pad(in)[n,c,y+ky,x+kx]
 *   computed per tile of 4 output channels × 4 pixel vectors held in
 *   registers (16 accumulators), the taps in (c, ky, kx) order.
 * Backward data  din[n,c,y,x] = Σ_o Σ_ky Σ_kx w[o,c,2−ky,2−kx] ·
 *   pad(dout)[n,o,y+ky,x+kx]: the same kernel with the weight transposed and
 *   flipped and the roles of C and OC swapped.
 * Backward filter  dw[o,c,ky,kx] = Σ_n Σ_y Σ_x dout[n,o,y,x] ·
 *   pad(in)[n,c,y+ky,x+kx], over n in the batch tree's order (tree_reduce.h):
 *   for a leaf, per 16-lane accumulator, lane l sums the pixels x ≡ l
 *   (mod 16) of every row and of every sample of the leaf in order; the
 *   lanes are added in a fixed tree to give the leaf's partial, and the
 *   leaves' partials are added pairwise up the batch tree.
 *
 * Bits. Every output element is one chain of fused multiply-adds, starting
 * from 0, in the (c, ky, kx) order — padding taps included, they add w·0.
 * The AVX-512 kernels (built when the compiler targets AVX-512) and the
 * portable C kernels below them use that same chain (fmaf rounds once, as
 * the vector FMA does), so both give identical bits; a different chain from
 * the im2col + sgemm path, so the direct path is chosen from the geometry
 * alone (fb_conv3x3_selected) and never from the thread count. Forward and
 * backward data give each output sample to one thread. The filter gradient's
 * threads own whole subtrees of the batch tree, so its bits do not depend on
 * the thread count either (up to 32 threads work at batch 128, one per
 * leaf), and a shard of a batch gives its node's partial.
 */
#include "cpu_conv3x3.h"

#include "tree_reduce.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

enum {
    LANES = 16,          /* floats in a pixel vector                          */
    TILE_OC = 8,         /* output channels per forward tile                  */
    TILE_VECTORS = 3,    /* pixel vectors per forward tile                    */
    FILTER_OC = 3,       /* output channels per filter-gradient tile          */
    TAPS = 9,            /* 3 × 3                                             */
    MAX_CHANNELS = 64,   /* larger layers stay on im2col + sgemm (faster there) */
};

int fb_conv3x3_selected(const fb_conv_geom *g)
{
    return g->kernel == 3 && g->stride == 1 && g->pad == 1 && g->out_h == g->in_h &&
           g->out_w == g->in_w && g->out_w % LANES == 0 && g->in_channels <= MAX_CHANNELS &&
           g->out_channels <= MAX_CHANNELS;
}

/* ---- workspace ------------------------------------------------------------ */

static size_t round16(size_t floats) { return (floats + 15) / 16 * 16; }

static int max_int(int a, int b) { return a > b ? a : b; }

/* Where the workspace keeps what: the packed weights, one block per thread,
 * then the filter gradient's tree partials (tree_reduce.h). */
typedef struct direct_layout {
    size_t packed_floats;   /* packed weights, [⌈OC'/4⌉, C'·9, 4]              */
    size_t padded_floats;   /* per thread: [max(C, OC), H+2, W+2]               */
    size_t lane_floats;     /* per thread: [OC·C·9, 16] filter lane sums       */
    size_t weights;         /* OC·C·9                                          */
    int batch;
} direct_layout;

static direct_layout layout_of(const fb_conv_geom *g)
{
    direct_layout l;
    int widest = max_int(g->in_channels, g->out_channels);
    l.weights = (size_t)g->out_channels * g->in_channels * TAPS;
    l.packed_floats = round16((size_t)(widest + TILE_OC - 1) / TILE_OC * TILE_OC * widest * TAPS);
    l.padded_floats = round16((size_t)widest * (g->in_h + 2) * (g->in_w + 2));
    l.lane_floats = round16(l.weights * LANES);
    l.batch = g->batch;
    return l;
}

static size_t layout_floats(const direct_layout *l, int threads)
{
    tree_plan tree = tree_plan_make(l->batch, l->weights, threads);
    return l->packed_floats + (size_t)threads * (l->padded_floats + l->lane_floats) +
           tree_plan_floats(&tree);
}

size_t fb_conv3x3_workspace(const fb_conv_geom *g, int threads)
{
    direct_layout l = layout_of(g);
    return layout_floats(&l, threads) * sizeof(float);
}

/* Threads the workspace has room for (at least 1, at most OpenMP's). */
static int usable_threads(const direct_layout *l, size_t workspace_bytes)
{
    int threads = omp_get_max_threads();
    while (threads > 1 && layout_floats(l, threads) * sizeof(float) > workspace_bytes)
        threads--;
    return threads;
}

static float *thread_block(float *workspace, const direct_layout *l, int thread)
{
    return workspace + l->packed_floats + (size_t)thread * (l->padded_floats + l->lane_floats);
}

/* ---- data movement ---------------------------------------------------------- */

/* padded[planes, H+2, W+2] = src[planes, H, W] with a zero border. */
static void pad_planes(float *padded, const float *src, int planes, int h, int w)
{
    size_t pad_w = (size_t)w + 2, pad_plane = pad_w * (h + 2);
    for (int plane = 0; plane < planes; plane++) {
        float *dst = padded + plane * pad_plane;
        const float *from = src + (size_t)plane * h * w;
        memset(dst, 0, pad_w * sizeof(float));
        for (int y = 0; y < h; y++) {
            float *row = dst + (y + 1) * pad_w;
            row[0] = 0.0f;
            memcpy(row + 1, from + (size_t)y * w, (size_t)w * sizeof(float));
            row[w + 1] = 0.0f;
        }
        memset(dst + (h + 1) * pad_w, 0, pad_w * sizeof(float));
    }
}

/* packed[⌈outs/4⌉, ins·9, 4]: tap (i, ky, kx) of output channels 4b..4b+3
 * side by side, zero for channels past `outs`. Forward: outs = OC, ins = C,
 * packed = w[o, i, ky, kx]. Backward data (transpose_flip): outs = C,
 * ins = OC, packed = w[i, o, 2−ky, 2−kx]. */
static void pack_weights(float *packed, const float *weight, int outs, int ins, int transpose_flip)
{
    int blocks = (outs + TILE_OC - 1) / TILE_OC;
    for (int b = 0; b < blocks; b++)
        for (int i = 0; i < ins; i++)
            for (int tap = 0; tap < TAPS; tap++)
                for (int j = 0; j < TILE_OC; j++) {
                    int o = b * TILE_OC + j;
                    float value = 0.0f;
                    if (o < outs)
                        value = transpose_flip
                                    ? weight[((size_t)i * outs + o) * TAPS + (TAPS - 1 - tap)]
                                    : weight[((size_t)o * ins + i) * TAPS + tap];
                    packed[(((size_t)b * ins + i) * TAPS + tap) * TILE_OC + j] = value;
                }
}

/* Geometry of one padded plane and of the pixel vectors on it. */
typedef struct plane_shape {
    int h, w, pad_w;
    size_t pixels, pad_plane; /* H·W and (H+2)·(W+2) */
    int vectors;              /* H·W / 16            */
} plane_shape;

static plane_shape plane_shape_of(int h, int w)
{
    plane_shape s = {h, w, w + 2, (size_t)h * w, (size_t)(h + 2) * (w + 2), h * w / LANES};
    return s;
}

/* Offset in the padded plane of pixel vector t's first pixel with tap (0, 0). */
static int padded_offset(const plane_shape *s, int t)
{
    int first = t * LANES;
    return first / s->w * s->pad_w + first % s->w;
}

/* ---- forward tiles ----------------------------------------------------------- */

/* One tile: out[o0+j, pixel vector t0+v] for j < n_out, v < n_vec, from
 * `ins` padded input planes and the packed weights of the block. */
typedef struct tile_args {
    float *out;              /* [outs, H·W] at output channel o0          */
    const float *padded;     /* [ins, H+2, W+2]                            */
    const float *packed;     /* [ins·9, 4] of this block                   */
    const float *bias;       /* [outs] at o0, or NULL                      */
    const plane_shape *shape;
    int ins, t0;
} tile_args;

#ifdef __AVX512F__
static inline __attribute__((always_inline)) void forward_tile(const tile_args *a, int n_out,
                                                               int n_vec)
{
    const plane_shape *s = a->shape;
    int in_offset[TILE_VECTORS];
    __m512 acc[TILE_OC][TILE_VECTORS];
    for (int v = 0; v < n_vec; v++)
        in_offset[v] = padded_offset(s, a->t0 + v);
    for (int j = 0; j < TILE_OC; j++)
        for (int v = 0; v < n_vec; v++)
            acc[j][v] = _mm512_setzero_ps();
    for (int i = 0; i < a->ins; i++) {
        const float *plane = a->padded + i * s->pad_plane;
        const float *taps = a->packed + (size_t)i * TAPS * TILE_OC;
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
                const float *source = plane + ky * s->pad_w + kx;
                const float *w = taps + (ky * 3 + kx) * TILE_OC;
                __m512 x[TILE_VECTORS];
                for (int v = 0; v < n_vec; v++) {
                    x[v] = _mm512_loadu_ps(source + in_offset[v]);
                    __asm__("" : "+v"(x[v])); /* one load per vector, not one per FMA */
                }
                for (int j = 0; j < TILE_OC; j++) {
                    __m512 wj = _mm512_set1_ps(w[j]);
                    for (int v = 0; v < n_vec; v++)
                        acc[j][v] = _mm512_fmadd_ps(x[v], wj, acc[j][v]);
                }
            }
    }
    for (int j = 0; j < n_out; j++)
        for (int v = 0; v < n_vec; v++) {
            __m512 result = acc[j][v];
            if (a->bias)
                result = _mm512_add_ps(result, _mm512_set1_ps(a->bias[j]));
            _mm512_storeu_ps(a->out + j * s->pixels + (size_t)(a->t0 + v) * LANES, result);
        }
}

/* Instantiates forward_tile for every n_vec so the accumulators of each
 * variant are registers. A tile always computes TILE_OC channels (the
 * packed weights of missing ones are 0) and stores the first n_out. */
static void forward_tile_any(const tile_args *a, int n_out, int n_vec)
{
    switch (n_vec) {
    case 1: forward_tile(a, n_out, 1); break;
    case 2: forward_tile(a, n_out, 2); break;
    default: forward_tile(a, n_out, TILE_VECTORS); break;
    }
}
#else
/* Portable twin of the AVX-512 tile: the same fmaf chain per element. */
static void forward_tile_any(const tile_args *a, int n_out, int n_vec)
{
    const plane_shape *s = a->shape;
    for (int j = 0; j < n_out; j++)
        for (int v = 0; v < n_vec; v++) {
            int base = padded_offset(s, a->t0 + v);
            for (int l = 0; l < LANES; l++) {
                float acc = 0.0f;
                for (int i = 0; i < a->ins; i++) {
                    const float *plane = a->padded + i * s->pad_plane + base + l;
                    const float *taps = a->packed + (size_t)i * TAPS * TILE_OC;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++)
                            acc = fmaf(plane[ky * s->pad_w + kx], taps[(ky * 3 + kx) * TILE_OC + j],
                                       acc);
                }
                float result = a->bias ? acc + a->bias[j] : acc;
                a->out[j * s->pixels + (size_t)(a->t0 + v) * LANES + l] = result;
            }
        }
}
#endif

/* out[outs, H·W] of one sample from its padded input planes. */
static void convolve_sample(float *out, const float *padded, const float *packed,
                            const float *bias, const plane_shape *s, int ins, int outs)
{
    for (int o0 = 0; o0 < outs; o0 += TILE_OC) {
        int n_out = outs - o0 < TILE_OC ? outs - o0 : TILE_OC;
        for (int t0 = 0; t0 < s->vectors; t0 += TILE_VECTORS) {
            int n_vec = s->vectors - t0 < TILE_VECTORS ? s->vectors - t0 : TILE_VECTORS;
            tile_args a = {out + o0 * s->pixels, padded, packed + (size_t)o0 * ins * TAPS,
                           bias ? bias + o0 : NULL, s, ins, t0};
            forward_tile_any(&a, n_out, n_vec);
        }
    }
}

/* Shared by forward and backward data: out[N, outs, H, W] from
 * in[N, ins, H, W] with weights already packed in the workspace. */
static void convolve_batch(float *out, const float *in, const float *bias, int batch, int ins,
                           int outs, int h, int w, float *workspace, size_t workspace_bytes,
                           const direct_layout *l)
{
    plane_shape s = plane_shape_of(h, w);
    int threads = usable_threads(l, workspace_bytes);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int n = 0; n < batch; n++) {
        float *padded = thread_block(workspace, l, omp_get_thread_num());
        pad_planes(padded, in + (size_t)n * ins * s.pixels, ins, h, w);
        convolve_sample(out + (size_t)n * outs * s.pixels, padded, workspace, bias, &s, ins, outs);
    }
}

void fb_conv3x3_forward(float *out, const float *in, const float *weight, const float *bias,
                        const fb_conv_geom *g, void *workspace, size_t workspace_bytes)
{
    direct_layout l = layout_of(g);
    pack_weights(workspace, weight, g->out_channels, g->in_channels, 0);
    convolve_batch(out, in, bias, g->batch, g->in_channels, g->out_channels, g->in_h, g->in_w,
                   workspace, workspace_bytes, &l);
}

void fb_conv3x3_backward_data(float *din, const float *dout, const float *weight,
                              const fb_conv_geom *g, void *workspace, size_t workspace_bytes)
{
    direct_layout l = layout_of(g);
    pack_weights(workspace, weight, g->in_channels, g->out_channels, 1);
    convolve_batch(din, dout, NULL, g->batch, g->out_channels, g->in_channels, g->in_h, g->in_w,
                   workspace, workspace_bytes, &l);
}

/* ---- filter gradient ------------------------------------------------------ */

/* lanes[o, c, tap, 16] += the products of one sample for output channels
 * o0..o0+n_out−1 and input channel c (see the file comment). */
typedef struct filter_args {
    float *lanes;            /* [OC, C, 9, 16]                */
    const float *dout;       /* [OC, H·W] of the sample       */
    const float *padded;     /* [H+2, W+2] input plane c      */
    const plane_shape *shape;
    int channels, o0, c;
} filter_args;

#ifdef __AVX512F__
static inline __attribute__((always_inline)) void filter_tile(const filter_args *a, int n_out)
{
    const plane_shape *s = a->shape;
    __m512 acc[FILTER_OC][TAPS];
    float *lanes[FILTER_OC];
    const float *grad[FILTER_OC];
    for (int j = 0; j < n_out; j++) {
        lanes[j] = a->lanes + ((size_t)(a->o0 + j) * a->channels + a->c) * TAPS * LANES;
        grad[j] = a->dout + (size_t)(a->o0 + j) * s->pixels;
        for (int tap = 0; tap < TAPS; tap++)
            acc[j][tap] = _mm512_loadu_ps(lanes[j] + tap * LANES);
    }
    for (int t = 0; t < s->vectors; t++) {
        const float *source = a->padded + padded_offset(s, t);
        __m512 d[FILTER_OC];
        for (int j = 0; j < n_out; j++)
            d[j] = _mm512_loadu_ps(grad[j] + (size_t)t * LANES);
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
                __m512 x = _mm512_loadu_ps(source + ky * s->pad_w + kx);
                __asm__("" : "+v"(x)); /* one load per tap, not one per FMA */
                for (int j = 0; j < n_out; j++)
                    acc[j][ky * 3 + kx] = _mm512_fmadd_ps(d[j], x, acc[j][ky * 3 + kx]);
            }
    }
    for (int j = 0; j < n_out; j++)
        for (int tap = 0; tap < TAPS; tap++)
            _mm512_storeu_ps(lanes[j] + tap * LANES, acc[j][tap]);
}

static void filter_tile_any(const filter_args *a, int n_out)
{
    switch (n_out) {
    case 1: filter_tile(a, 1); break;
    case 2: filter_tile(a, 2); break;
    default: filter_tile(a, FILTER_OC); break;
    }
}
#else
/* Portable twin of the AVX-512 tile: the same fmaf chain per lane. */
static void filter_tile_any(const filter_args *a, int n_out)
{
    const plane_shape *s = a->shape;
    for (int j = 0; j < n_out; j++) {
        float *lanes = a->lanes + ((size_t)(a->o0 + j) * a->channels + a->c) * TAPS * LANES;
        const float *grad = a->dout + (size_t)(a->o0 + j) * s->pixels;
        for (int t = 0; t < s->vectors; t++) {
            const float *source = a->padded + padded_offset(s, t);
            for (int tap = 0; tap < TAPS; tap++)
                for (int l = 0; l < LANES; l++)
                    lanes[tap * LANES + l] =
                        fmaf(grad[(size_t)t * LANES + l],
                             source[(tap / 3) * s->pad_w + tap % 3 + l], lanes[tap * LANES + l]);
        }
    }
}
#endif

/* The 16 lanes added in a fixed tree: (l, l+8), then (l, l+4), (l, l+2), (0, 1). */
static float lane_total(const float *lane /* [16] */)
{
    float half[8];
    for (int l = 0; l < 8; l++)
        half[l] = lane[l] + lane[l + 8];
    for (int l = 0; l < 4; l++)
        half[l] = half[l] + half[l + 4];
    for (int l = 0; l < 2; l++)
        half[l] = half[l] + half[l + 2];
    return half[0] + half[1];
}

/* What a filter-gradient leaf reads. */
typedef struct filter_leaf_args {
    float *workspace;
    const direct_layout *layout;
    const plane_shape *shape;
    const float *dout, *in; /* [N, OC, H, W], [N, C, H, W] */
    int C, OC;
} filter_leaf_args;

/* partial[OC·C·9] = the leaf's filter gradient: its samples into the
 * thread's 16 lanes per weight, in order, then each weight's lane total. */
static void filter_leaf(float *partial, fb_tree_node leaf, int thread, void *ctx)
{
    const filter_leaf_args *a = ctx;
    const plane_shape *s = a->shape;
    float *padded = thread_block(a->workspace, a->layout, thread);
    float *lanes = padded + a->layout->padded_floats;
    memset(lanes, 0, a->layout->weights * LANES * sizeof(float));
    for (int n = leaf.lo; n < leaf.hi; n++) {
        pad_planes(padded, a->in + (size_t)n * a->C * s->pixels, a->C, s->h, s->w);
        const float *grad = a->dout + (size_t)n * a->OC * s->pixels;
        for (int c = 0; c < a->C; c++)
            for (int o0 = 0; o0 < a->OC; o0 += FILTER_OC) {
                filter_args f = {lanes, grad, padded + c * s->pad_plane, s, a->C, o0, c};
                filter_tile_any(&f, a->OC - o0 < FILTER_OC ? a->OC - o0 : FILTER_OC);
            }
    }
    for (size_t i = 0; i < a->layout->weights; i++)
        partial[i] = lane_total(lanes + i * LANES);
}

void fb_conv3x3_backward_filter(float *dweight, const float *dout, const float *in,
                                const fb_conv_geom *g, void *workspace, size_t workspace_bytes)
{
    direct_layout l = layout_of(g);
    plane_shape s = plane_shape_of(g->in_h, g->in_w);
    int threads = usable_threads(&l, workspace_bytes);
    filter_leaf_args args = {workspace, &l, &s, dout, in, g->in_channels, g->out_channels};
    tree_plan tree = tree_plan_make(g->batch, l.weights, threads);
    float *tree_area = thread_block(workspace, &l, threads);
    tree_reduce(dweight, &tree, tree_area, filter_leaf, &args);
}
