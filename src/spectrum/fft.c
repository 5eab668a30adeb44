/* fft.c — 2-D discrete Fourier transforms of image planes (FFTW, single precision).
 *
 * Maths (numpy / torch.fft convention, PAPER.md C1):
 *   X[k,l] = Σ_{m<H, n<W} x[m,n] · e^{−2πi(km/H + ln/W)}                 (fft2, no factor)
 *   x[m,n] = 1/(H·W) · Σ_{k<H, l<W} X[k,l] · e^{+2πi(km/H + ln/W)}       (ifft2)
 * FFTW computes both sums unnormalised; the 1/(H·W) is applied here, once, in
 * the inverse (fb_ifft2_real*, fb_irfft2_plane), after the FFTW call, as a
 * float division by the exactly representable H·W.
 *
 * A real x has a Hermitian spectrum, X[(H−k) mod H, (W−l) mod W] = conj(X[k,l]),
 * so FFTW's r2c transform only computes the columns l = 0..W/2 and the rest is
 * filled in by that identity (fb_fft2). The inverse of an arbitrary spectrum
 * (a non-Hermitian mask leaves one) needs the full complex transform, whose
 * real part is kept: torch.real(torch.fft.ifft2(X)).
 *
 * PyTorch / numpy equivalents:
 *   fb_fft2          torch.fft.fft2(x)            np.fft.fft2(x)
 *   fb_ifft2_real    torch.fft.ifft2(X).real      np.fft.ifft2(X).real
 *   fb_rfft2_plane   torch.fft.rfft2(x)           np.fft.rfft2(x)
 *   fb_irfft2_plane  torch.fft.irfft2(X, s=(H,W)) np.fft.irfft2(X, s=(H,W))
 *   fb_fftshift_*    torch.fft.fftshift(x)        np.fft.fftshift(x)   (roll by floor(n/2))
 *
 * Plans (DESIGN.md): FFTW_ESTIMATE only (FFTW_MEASURE times candidate
 * algorithms and may pick a different one on each run, which would change the
 * bits), one set per (H, W) in a small table, created under a lock and never
 * from inside a parallel region. Every transform runs through the new-array
 * functions (fftwf_execute_dft_r2c / _dft / _dft_c2r) on the calling thread's
 * 64-byte-aligned scratch — the alignment the plans were made for — so the
 * same plan serves every thread and every plane gets the same arithmetic:
 * results do not depend on the thread count.
 *
 * Scratch layout per thread (fb_fft_work_floats): [real plane H·W, padded to
 * 64 bytes][complex plane H·W·2]. The complex inverse runs in place there.
 */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "freqbias/backend.h"
#include "freqbias/spectrum.h"

#ifdef FB_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

typedef struct fft_entry {
    int h, w;
    fftwf_plan r2c;  /* work real [H,W] → work complex [H, W/2+1]            */
    fftwf_plan c2r;  /* work complex [H, W/2+1] → work real [H,W]            */
    fftwf_plan inv;  /* work complex [H,W] in place, FFTW_BACKWARD            */
} fft_entry;

static fft_entry table[FB_FFT_MAX_PLANS];
static atomic_int table_count;           /* entries [0, count) are complete  */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

#define FFT_ALIGN 64
#define MAX_PLANE_ELEMS (1 << 26)

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

size_t fb_fft_work_floats(int h, int w)
{
    size_t hw = (size_t)h * (size_t)w;
    return round16(hw) + 2 * hw;
}

static float *work_real(float *work) { return work; }
static fftwf_complex *work_cplx(float *work, size_t hw) { return (fftwf_complex *)(work + round16(hw)); }

/* Lock-free lookup: entries are filled before the count that publishes them. */
static const fft_entry *find_plans(int h, int w)
{
    int n = atomic_load_explicit(&table_count, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (table[i].h == h && table[i].w == w)
            return &table[i];
    return NULL;
}

static fb_status check_shape(int h, int w)
{
    if (h < 1 || w < 1 || (long long)h * w > MAX_PLANE_ELEMS)
        return fb_error(FB_ERR_USAGE, "fft: plane shape %dx%d is not supported (1..2^26 elements)",
                        h, w);
    return FB_OK;
}

fb_status fb_fft_prepare(int h, int w)
{
    FB_TRY(check_shape(h, w));
    if (find_plans(h, w))
        return FB_OK;
    if (omp_in_parallel())
        return fb_error(FB_ERR_USAGE, "fft: plans for %dx%d must be created outside a parallel "
                                      "region (call fb_fft_prepare first)", h, w);
    pthread_mutex_lock(&table_lock);
    fb_status status = FB_OK;
    int n = atomic_load_explicit(&table_count, memory_order_relaxed);
    if (find_plans(h, w)) {
        pthread_mutex_unlock(&table_lock);
        return FB_OK;
    }
    if (n == FB_FFT_MAX_PLANS) {
        pthread_mutex_unlock(&table_lock);
        return fb_error(FB_ERR_UNSUPPORTED, "fft: more than %d plane shapes in one process",
                        FB_FFT_MAX_PLANS);
    }
    size_t hw = (size_t)h * (size_t)w;
    size_t bytes = (fb_fft_work_floats(h, w) * sizeof(float) + FFT_ALIGN - 1) & ~(size_t)(FFT_ALIGN - 1);
    float *work = aligned_alloc(FFT_ALIGN, bytes); /* [work layout], only for planning */
    if (!work) {
        pthread_mutex_unlock(&table_lock);
        return fb_error(FB_ERR_NOMEM, "fft: no memory to plan %dx%d", h, w);
    }
    fft_entry *e = &table[n];
    e->h = h;
    e->w = w;
    e->r2c = fftwf_plan_dft_r2c_2d(h, w, work_real(work), work_cplx(work, hw), FFTW_ESTIMATE);
    e->c2r = fftwf_plan_dft_c2r_2d(h, w, work_cplx(work, hw), work_real(work), FFTW_ESTIMATE);
    e->inv = fftwf_plan_dft_2d(h, w, work_cplx(work, hw), work_cplx(work, hw), FFTW_BACKWARD,
                               FFTW_ESTIMATE);
    free(work);
    if (!e->r2c || !e->c2r || !e->inv) {
        status = fb_error(FB_ERR_UNSUPPORTED, "fft: FFTW could not plan %dx%d", h, w);
        if (e->r2c) fftwf_destroy_plan(e->r2c);
        if (e->c2r) fftwf_destroy_plan(e->c2r);
        if (e->inv) fftwf_destroy_plan(e->inv);
    } else {
        atomic_store_explicit(&table_count, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&table_lock);
    return status;
}

void fb_fft_cleanup(void)
{
    pthread_mutex_lock(&table_lock);
    int n = atomic_load_explicit(&table_count, memory_order_relaxed);
    for (int i = 0; i < n; i++) {
        fftwf_destroy_plan(table[i].r2c);
        fftwf_destroy_plan(table[i].c2r);
        fftwf_destroy_plan(table[i].inv);
    }
    atomic_store_explicit(&table_count, 0, memory_order_release);
    pthread_mutex_unlock(&table_lock);
}

static fb_status plans_for_plane(int h, int w, const float *work, const fft_entry **e)
{
    FB_TRY(check_shape(h, w));
    if (((uintptr_t)work % FFT_ALIGN) != 0)
        return fb_error(FB_ERR_USAGE, "fft: scratch must be %d-byte aligned", FFT_ALIGN);
    *e = find_plans(h, w);
    if (!*e)
        return fb_error(FB_ERR_USAGE, "fft: no plans for %dx%d (call fb_fft_prepare outside the "
                                      "parallel region)", h, w);
    return FB_OK;
}

/* ---- one plane, no checks ------------------------------------------------ */

/* half[H, W/2+1, 2] (in work) ← r2c of in[H,W] */
static void rfft_into_work(const fft_entry *e, const float *in, float *work)
{
    size_t hw = (size_t)e->h * (size_t)e->w;
    memcpy(work_real(work), in, hw * sizeof(float));
    fftwf_execute_dft_r2c(e->r2c, work_real(work), work_cplx(work, hw));
}

static void forward_plane(const fft_entry *e, float *out, const float *in, float *work)
{
    int h = e->h, w = e->w, wh = w / 2 + 1;
    size_t hw = (size_t)h * (size_t)w;
    rfft_into_work(e, in, work);
    const float *half = (const float *)work_cplx(work, hw); /* [H, W/2+1, 2] */
    for (int k = 0; k < h; k++) {
        float *row = out + (size_t)k * w * 2;               /* [W, 2] */
        memcpy(row, half + (size_t)k * wh * 2, (size_t)wh * 2 * sizeof(float));
        const float *mirror = half + (size_t)((h - k) % h) * wh * 2;
        for (int l = wh; l < w; l++) {                      /* conj(X[−k, −l]) */
            row[2 * l] = mirror[2 * (w - l)];
            row[2 * l + 1] = -mirror[2 * (w - l) + 1];
        }
    }
}

static void inverse_plane(const fft_entry *e, float *out, const float *in, float *work,
                          float *max_imag, float *max_real)
{
    size_t hw = (size_t)e->h * (size_t)e->w;
    float *c = (float *)work_cplx(work, hw);                /* [H, W, 2] */
    memcpy(c, in, hw * 2 * sizeof(float));
    fftwf_execute_dft(e->inv, work_cplx(work, hw), work_cplx(work, hw));
    const float scale = (float)hw;
    float mi = 0.0f, mr = 0.0f;
    for (size_t p = 0; p < hw; p++) {
        float re = c[2 * p] / scale, im = c[2 * p + 1] / scale;
        out[p] = re;
        mr = fmaxf(mr, fabsf(re));
        mi = fmaxf(mi, fabsf(im));
    }
    if (max_imag)
        *max_imag = mi;
    if (max_real)
        *max_real = mr;
}

/* ---- public plane functions ---------------------------------------------- */

fb_status fb_fft2_plane(float *out, const float *in, int h, int w, float *work)
{
    const fft_entry *e;
    FB_TRY(plans_for_plane(h, w, work, &e));
    forward_plane(e, out, in, work);
    return FB_OK;
}

fb_status fb_ifft2_real_plane(float *out, const float *in, int h, int w, float *work,
                              float *max_imag, float *max_real)
{
    const fft_entry *e;
    FB_TRY(plans_for_plane(h, w, work, &e));
    inverse_plane(e, out, in, work, max_imag, max_real);
    return FB_OK;
}

fb_status fb_rfft2_plane(float *out, const float *in, int h, int w, float *work)
{
    const fft_entry *e;
    FB_TRY(plans_for_plane(h, w, work, &e));
    size_t hw = (size_t)h * (size_t)w;
    rfft_into_work(e, in, work);
    memcpy(out, work_cplx(work, hw), (size_t)h * (size_t)(w / 2 + 1) * 2 * sizeof(float));
    return FB_OK;
}

fb_status fb_irfft2_plane(float *out, const float *in, int h, int w, float *work)
{
    const fft_entry *e;
    FB_TRY(plans_for_plane(h, w, work, &e));
    size_t hw = (size_t)h * (size_t)w;
    memcpy(work_cplx(work, hw), in, (size_t)h * (size_t)(w / 2 + 1) * 2 * sizeof(float));
    fftwf_execute_dft_c2r(e->c2r, work_cplx(work, hw), work_real(work));
    const float scale = (float)hw;
    for (size_t p = 0; p < hw; p++)
        out[p] = work[p] / scale;
    return FB_OK;
}

/* ---- batches, parallel over planes --------------------------------------- */

static fb_status batch_setup(int count, int h, int w, const fft_entry **e)
{
    if (count < 0)
        return fb_error(FB_ERR_USAGE, "fft: negative plane count %d", count);
    FB_TRY(fb_fft_prepare(h, w));
    *e = find_plans(h, w);
    return FB_OK;
}

static float *alloc_work(int h, int w)
{
    size_t bytes = fb_fft_work_floats(h, w) * sizeof(float);
    return aligned_alloc(FFT_ALIGN, (bytes + FFT_ALIGN - 1) & ~(size_t)(FFT_ALIGN - 1));
}

fb_status fb_fft2(float *out, const float *in, int count, int h, int w)
{
    const fft_entry *e;
    FB_TRY(batch_setup(count, h, w, &e));
    size_t hw = (size_t)h * (size_t)w;
    int failed = 0;
#pragma omp parallel
    {
        float *work = alloc_work(h, w);
        if (!work) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int p = 0; p < count; p++)
            if (work)
                forward_plane(e, out + (size_t)p * hw * 2, in + (size_t)p * hw, work);
        free(work);
    }
    if (failed)
        return fb_error(FB_ERR_NOMEM, "fft: no memory for the scratch of %dx%d", h, w);
    return FB_OK;
}

fb_status fb_ifft2_real(float *out, const float *in, int count, int h, int w, float *imag_ratio)
{
    const fft_entry *e;
    FB_TRY(batch_setup(count, h, w, &e));
    size_t hw = (size_t)h * (size_t)w;
    int failed = 0;
    float max_imag = 0.0f, max_real = 0.0f;
#pragma omp parallel reduction(max : max_imag, max_real)
    {
        float *work = alloc_work(h, w);
        if (!work) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int p = 0; p < count; p++) {
            if (!work)
                continue;
            float mi, mr;
            inverse_plane(e, out + (size_t)p * hw, in + (size_t)p * hw * 2, work, &mi, &mr);
            max_imag = fmaxf(max_imag, mi);
            max_real = fmaxf(max_real, mr);
        }
        free(work);
    }
    if (failed)
        return fb_error(FB_ERR_NOMEM, "fft: no memory for the scratch of %dx%d", h, w);
    if (imag_ratio)
        *imag_ratio = max_real > 0.0f ? max_imag / max_real : 0.0f;
    return FB_OK;
}

/* ---- shifts -------------------------------------------------------------- */

/* out[s,t] = in[(s + dh) mod H, (t + dw) mod W], elements of k floats. */
static void roll_plane(float *out, const float *in, int h, int w, int k, int dh, int dw)
{
    for (int s = 0; s < h; s++) {
        const float *src = in + (size_t)((s + dh) % h) * w * k;  /* [W, k] */
        float *dst = out + (size_t)s * w * k;                     /* [W, k] */
        int first = dw % w;                                       /* t = 0 reads column `first` */
        memcpy(dst, src + (size_t)first * k, (size_t)(w - first) * k * sizeof(float));
        memcpy(dst + (size_t)(w - first) * k, src, (size_t)first * k * sizeof(float));
    }
}

/* fftshift reads (s − H/2) mod H = (s + H − H/2) mod H. */
void fb_fftshift_real(float *out, const float *in, int h, int w)
{
    roll_plane(out, in, h, w, 1, h - h / 2, w - w / 2);
}

void fb_ifftshift_real(float *out, const float *in, int h, int w)
{
    roll_plane(out, in, h, w, 1, h / 2, w / 2);
}

void fb_fftshift_complex(float *out, const float *in, int h, int w)
{
    roll_plane(out, in, h, w, 2, h - h / 2, w - w / 2);
}

void fb_ifftshift_complex(float *out, const float *in, int h, int w)
{
    roll_plane(out, in, h, w, 2, h / 2, w / 2);
}

/* ---- per-coefficient helpers --------------------------------------------- */

void fb_spectrum_magnitude(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = hypotf(in[2 * i], in[2 * i + 1]);
}

void fb_spectrum_log_magnitude(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = 20.0f * log1pf(hypotf(in[2 * i], in[2 * i + 1]));
}

void fb_spectrum_power(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[2 * i] * in[2 * i] + in[2 * i + 1] * in[2 * i + 1];
}

fb_status fb_fft2_on(const fb_backend *backend, float *out, const float *in, int count, int h, int w)
{
#ifdef FB_WITH_CUDA
    if (backend == &fb_backend_cuda) {
        size_t real_bytes = (size_t)count * h * w * sizeof(float);
        float *d_in = backend->alloc(real_bytes);      /* [count, H, W]    */
        float *d_out = backend->alloc(2 * real_bytes); /* [count, H, W, 2] */
        fb_status status = d_in && d_out ? FB_OK
                                         : fb_error(FB_ERR_NOMEM, "fft on cuda: no GPU memory for %d %dx%d planes",
                                                    count, h, w);
        if (status == FB_OK) {
            backend->to_device(d_in, in, real_bytes);
            status = fb_cuda_fft2(d_out, d_in, count, h, w);
        }
        if (status == FB_OK)
            backend->to_host(out, d_out, 2 * real_bytes);
        if (d_in)
            backend->release(d_in);
        if (d_out)
            backend->release(d_out);
        return status;
    }
#else
    (void)backend; /* a build without CUDA has only host backends */
#endif
    return fb_fft2(out, in, count, h, w);
}
