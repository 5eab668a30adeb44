/* fourier_heatmap.c — Yin et al.'s Fourier heat map and band-limited noise
 * robustness (conventions in freqbias/fourier.h).
 *
 * The question both answer: if a small, fixed amount of energy is added to
 * an image at one place in its spectrum, how much does the model's error
 * grow? The heat map asks it for every single frequency, the band mode for
 * every ring of the seed's azimuthal binning (C2).
 *
 * One Fourier basis image. With E the centred spectrum that is 1 at (s, t)
 * and at its Hermitian mirror, ifft2(ifftshift(E)) is real:
 *   (1/HW)·(e^{2πi(km/H+ln/W)} + e^{−2πi(km/H+ln/W)}) = (2/HW)·cos(2π(km/H+ln/W)),
 * whose L2 norm is √(2/HW) (Σ cos² = HW/2 for k, l not both 0 or Nyquist),
 * so U = √(2/HW)·cos(...). At DC and at the Nyquist points the mirror is the
 * point itself, E has one entry and U = √(1/HW)·cos(...) = ±1/√(HW). The
 * FFT builds it; the division by the L2 norm (in double) makes the norm
 * exactly what the rounding allows. In PyTorch, Yin et al.'s construction:
 *   E = torch.zeros(H, W); E[s, t] = E[(-s) % H ...] = 1
 *   U = torch.fft.ifft2(torch.fft.ifftshift(E)).real; U /= U.norm()
 *
 * The evaluation. A heat map is jobs × images forward passes (514 pairs ×
 * 1,000 images at 32×32). Work items (job j, image i) are taken in the order
 * j·n + i and cut into batches of options->batch, so one forward pass mixes
 * the images of neighbouring frequencies and no pass is short. Each item's
 * error (0/1 for top-1, its cross-entropy for loss) is added in item order
 * into a double per job: the result does not depend on the batch size's
 * cut points beyond what the backend's logits do (cpu-ref and cpu compute
 * every image of a batch independently of the others).
 *
 * Band noise. The white Gaussian image (Box–Muller on the counter RNG,
 * four normals per Philox call) is the same for every band of one image and
 * channel, so the bands differ only in where its energy is kept: the
 * comparison across bands has no sampling noise of its own beyond the
 * images'. It goes through fb_spectral_filter (rfft2 → mask → irfft2: the
 * masks are Hermitian, so the result is real by construction).
 */
#include "freqbias/fourier.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/backend.h"
#include "freqbias/rng.h"

const char *fb_fourier_error_name(fb_fourier_error_type type)
{
    return type == FB_FOURIER_LOSS ? "loss" : "top1";
}

fb_status fb_fourier_error_parse(const char *name, fb_fourier_error_type *type)
{
    if (strcmp(name, "top1") == 0)
        *type = FB_FOURIER_TOP1;
    else if (strcmp(name, "loss") == 0)
        *type = FB_FOURIER_LOSS;
    else
        return fb_error(FB_ERR_USAGE, "--error-type must be top1 or loss, not '%s'", name);
    return FB_OK;
}

fb_fourier_options fb_fourier_options_default(void)
{
    return (fb_fourier_options){.n = 1000, .eps = 4.0, .size = 32, .seed = 0, .batch = 128,
                                .error_type = FB_FOURIER_TOP1};
}

void fb_fourier_mirror(int h, int w, int s, int t, int *mirror_s, int *mirror_t)
{
    *mirror_s = (2 * (h / 2) - s + h) % h;
    *mirror_t = (2 * (w / 2) - t + w) % w;
}

fb_status fb_fourier_basis(float *basis, int h, int w, int s, int t)
{
    if (h < 1 || w < 1 || s < 0 || s >= h || t < 0 || t >= w)
        return fb_error(FB_ERR_USAGE, "Fourier basis: position (%d, %d) outside %dx%d", s, t, h, w);
    size_t hw = (size_t)h * (size_t)w;
    float *centred = calloc(hw * 2, sizeof(float)); /* [H, W, 2] shifted layout */
    float *spectrum = malloc(hw * 2 * sizeof(float)); /* [H, W, 2] numpy layout */
    if (!centred || !spectrum) {
        free(centred);
        free(spectrum);
        return fb_error(FB_ERR_NOMEM, "Fourier basis: out of memory");
    }
    int ms, mt;
    fb_fourier_mirror(h, w, s, t, &ms, &mt);
    centred[((size_t)s * w + t) * 2] = 1.0f;
    centred[((size_t)ms * w + mt) * 2] = 1.0f;
    fb_ifftshift_complex(spectrum, centred, h, w);
    fb_status status = fb_ifft2_real(basis, spectrum, 1, h, w, NULL);
    free(centred);
    free(spectrum);
    if (status != FB_OK)
        return status;
    double sum = 0.0;
    for (size_t p = 0; p < hw; p++)
        sum += (double)basis[p] * basis[p];
    double scale = 1.0 / sqrt(sum);
    for (size_t p = 0; p < hw; p++)
        basis[p] = (float)(basis[p] * scale);
    return FB_OK;
}

int fb_fourier_sign(uint64_t seed, uint32_t key, long image_index, int channels, int c)
{
    uint32_t words[4];
    fb_rng_words(seed, FB_STREAM_FOURIER_SIGN, key, (uint64_t)image_index * channels + c, words);
    return words[0] >> 31 ? -1 : 1;
}

static float clip_unit(float v)
{
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

void fb_fourier_perturb(float *out, const float *image, const float *basis, int channels, int h,
                        int w, double eps, uint64_t seed, uint32_t key, long image_index)
{
    size_t hw = (size_t)h * (size_t)w;
    for (int c = 0; c < channels; c++) {
        float amplitude = (float)(eps * fb_fourier_sign(seed, key, image_index, channels, c));
        for (size_t p = 0; p < hw; p++)
            out[c * hw + p] = clip_unit(image[c * hw + p] + amplitude * basis[p]);
    }
}

/* ---- the shared evaluation loop ------------------------------------------ */

/* Fills out[C,H,W] with the perturbed copy of clean[C,H,W] (image index i)
 * for job j. */
typedef fb_status (*make_item)(void *context, int job, long image, const float *clean, float *out);

static fb_status check_inputs(fb_model *model, const fb_dataset *data, const fb_fourier_options *o)
{
    const fb_model_config *config = fb_model_get_config(model);
    if (o->n < 1 || o->n > data->count)
        return fb_error(FB_ERR_USAGE, "%s: --n %d, the dataset has %d images", data->source, o->n,
                        data->count);
    if (o->batch < 1 || !(o->eps >= 0.0) || !isfinite(o->eps))
        return fb_error(FB_ERR_USAGE, "Fourier heat map: batch %d / eps %g out of range", o->batch, o->eps);
    if (data->channels != config->in_channels || data->height != config->image_size ||
        data->width != config->image_size)
        return fb_error(FB_ERR_SHAPE, "%s: images are %dx%dx%d, the model expects %dx%dx%d",
                        data->source, data->channels, data->height, data->width,
                        config->in_channels, config->image_size, config->image_size);
    for (int i = 0; i < o->n; i++)
        if (data->labels[i] < 0 || data->labels[i] >= config->num_classes)
            return fb_error(FB_ERR_FORMAT, "%s: image %d has label %d, the model has %d classes",
                            data->source, i, data->labels[i], config->num_classes);
    return FB_OK;
}

/* 0/1 top-1 error (argmax, first of equal maxima) or the cross-entropy
 * log Σ exp(z) − z[label], with the max subtracted, in double. */
static double item_error(const float *row, int classes, int label, fb_fourier_error_type type)
{
    int predicted = 0;
    for (int k = 1; k < classes; k++)
        if (row[k] > row[predicted])
            predicted = k;
    if (type == FB_FOURIER_TOP1)
        return predicted != label;
    double top = row[predicted], sum = 0.0;
    for (int k = 0; k < classes; k++)
        sum += exp((double)row[k] - top);
    return log(sum) + top - row[label];
}

static fb_status evaluate_jobs(fb_model *model, const fb_dataset *data, const fb_fourier_options *o,
                               int jobs, make_item make, void *context, double *errors)
{
    FB_TRY(check_inputs(model, data, o));
    const fb_model_config *config = fb_model_get_config(model);
    const fb_backend *backend = fb_model_backend(model);
    int classes = config->num_classes, n = o->n;
    int batch = o->batch < config->max_batch ? o->batch : config->max_batch;
    size_t chw = (size_t)data->channels * data->height * data->width;
    float *clean = malloc((size_t)n * chw * sizeof(float));               /* [n, C, H, W] */
    float *host = malloc((size_t)batch * chw * sizeof(float));             /* [batch, C, H, W] */
    float *device = backend->alloc((size_t)batch * chw * sizeof(float));   /* [batch, C, H, W] */
    float *logits = malloc((size_t)batch * classes * sizeof(float));       /* [batch, classes] */
    double *sums = calloc((size_t)jobs, sizeof(double));                  /* [jobs] */
    fb_status status = FB_OK;
    if (!clean || !host || !device || !logits || !sums)
        status = fb_error(FB_ERR_NOMEM, "Fourier heat map: out of memory for %d images", n);
    if (status == FB_OK)
        fb_u8_to_unit(clean, data->pixels, (size_t)n * chw);
    long total = (long)jobs * n;
    for (long start = 0; status == FB_OK && start < total; start += batch) {
        int m = total - start < batch ? (int)(total - start) : batch;
        for (int k = 0; k < m && status == FB_OK; k++) {
            long item = start + k, image = item % n;
            status = make(context, (int)(item / n), image, clean + image * chw, host + k * chw);
        }
        if (status != FB_OK)
            break;
        backend->to_device(device, host, (size_t)m * chw * sizeof(float));
        const float *out = fb_model_forward(model, device, m, 0);
        backend->to_host(logits, out, (size_t)m * classes * sizeof(float));
        for (int k = 0; k < m; k++) {
            long item = start + k;
            int label = data->labels[item % n];
            double e = item_error(logits + (size_t)k * classes, classes, label, o->error_type);
            if (!isfinite(e)) {
                status = fb_error(FB_ERR_NUMERIC, "Fourier heat map: non-finite logits for image %ld",
                                  item % n);
                break;
            }
            sums[item / n] += e;
        }
        if (o->progress)
            o->progress(o->progress_context, start + m, total);
    }
    for (int j = 0; status == FB_OK && j < jobs; j++)
        errors[j] = sums[j] / n;
    free(clean);
    free(host);
    backend->release(device);
    free(logits);
    free(sums);
    return status;
}

static fb_status make_clean_item(void *context, int job, long image, const float *clean, float *out)
{
    (void)job;
    (void)image;
    memcpy(out, clean, *(const size_t *)context * sizeof(float));
    return FB_OK;
}

fb_status fb_fourier_clean_error(fb_model *model, const fb_dataset *data, const fb_fourier_options *o,
                                 double *error)
{
    size_t chw = (size_t)data->channels * data->height * data->width;
    return evaluate_jobs(model, data, o, 1, make_clean_item, &chw, error);
}

/* ---- heat map ------------------------------------------------------------- */

typedef struct basis_jobs {
    const float *bases; /* [jobs, H, W] */
    const uint32_t *keys; /* [jobs] canonical row-major index of the pair */
    int channels, h, w;
    double eps;
    uint64_t seed;
} basis_jobs;

static fb_status make_basis_item(void *context, int job, long image, const float *clean, float *out)
{
    const basis_jobs *b = context;
    size_t hw = (size_t)b->h * b->w;
    fb_fourier_perturb(out, clean, b->bases + job * hw, b->channels, b->h, b->w, b->eps, b->seed,
                       b->keys[job], image);
    return FB_OK;
}

uint32_t fb_fourier_pair_key(int h, int w, int s, int t)
{
    int ms, mt;
    fb_fourier_mirror(h, w, s, t, &ms, &mt);
    uint32_t a = (uint32_t)(s * w + t), b = (uint32_t)(ms * w + mt);
    return a < b ? a : b;
}

/* Evaluates the given positions (s[j], t[j]) as jobs into errors[jobs]. */
static fb_status evaluate_positions(fb_model *model, const fb_dataset *data, const fb_fourier_options *o,
                                    int jobs, const int *s, const int *t, double *errors)
{
    int h = data->height, w = data->width;
    size_t hw = (size_t)h * w;
    float *bases = malloc((size_t)jobs * hw * sizeof(float)); /* [jobs, H, W] */
    uint32_t *keys = malloc((size_t)jobs * sizeof(uint32_t)); /* [jobs] */
    fb_status status = bases && keys ? FB_OK : fb_error(FB_ERR_NOMEM, "Fourier heat map: out of memory");
    for (int j = 0; status == FB_OK && j < jobs; j++) {
        status = fb_fourier_basis(bases + j * hw, h, w, s[j], t[j]);
        keys[j] = fb_fourier_pair_key(h, w, s[j], t[j]);
    }
    basis_jobs context = {bases, keys, data->channels, h, w, o->eps, o->seed};
    if (status == FB_OK)
        status = evaluate_jobs(model, data, o, jobs, make_basis_item, &context, errors);
    free(bases);
    free(keys);
    return status;
}

fb_status fb_fourier_error_at(fb_model *model, const fb_dataset *data, const fb_fourier_options *o,
                              int s, int t, double *error)
{
    if (s < 0 || s >= data->height || t < 0 || t >= data->width)
        return fb_error(FB_ERR_USAGE, "Fourier heat map: position (%d, %d) outside %dx%d", s, t,
                        data->height, data->width);
    return evaluate_positions(model, data, o, 1, &s, &t, error);
}

fb_status fb_fourier_heatmap(fb_model *model, const fb_dataset *data, const fb_fourier_options *o,
                             double *heatmap)
{
    int h = data->height, w = data->width, size = o->size;
    if (size < 1 || size > h || size > w)
        return fb_error(FB_ERR_USAGE, "--size %d: must be 1..%d for %dx%d images", size,
                        h < w ? h : w, h, w);
    int top = h / 2 - size / 2, left = w / 2 - size / 2; /* the window's first row and column */
    size_t cells = (size_t)size * size;
    int *job_of_key = malloc((size_t)h * w * sizeof(int)); /* [H*W] job of a pair's key, −1 none */
    int *job_of_cell = malloc(cells * sizeof(int));        /* [S*S] */
    int *s = malloc(cells * sizeof(int)), *t = malloc(cells * sizeof(int)); /* [jobs] */
    double *errors = malloc(cells * sizeof(double));       /* [jobs] */
    fb_status status = FB_OK;
    if (!job_of_key || !job_of_cell || !s || !t || !errors)
        status = fb_error(FB_ERR_NOMEM, "Fourier heat map: out of memory");
    int jobs = 0;
    for (int p = 0; status == FB_OK && p < h * w; p++)
        job_of_key[p] = -1;
    for (size_t cell = 0; status == FB_OK && cell < cells; cell++) {
        int row = top + (int)(cell / size), col = left + (int)(cell % size);
        uint32_t key = fb_fourier_pair_key(h, w, row, col);
        if (job_of_key[key] < 0) {
            job_of_key[key] = jobs;
            s[jobs] = row;
            t[jobs] = col;
            jobs++;
        }
        job_of_cell[cell] = job_of_key[key];
    }
    if (status == FB_OK)
        status = evaluate_positions(model, data, o, jobs, s, t, errors);
    for (size_t cell = 0; status == FB_OK && cell < cells; cell++)
        heatmap[cell] = errors[job_of_cell[cell]];
    free(job_of_key);
    free(job_of_cell);
    free(s);
    free(t);
    free(errors);
    return status;
}

/* ---- band-limited noise ----------------------------------------------------- */

fb_status fb_band_noise_masks(float *masks, const fb_radial_bins *bins)
{
    if (!bins->band_of)
        return fb_error(FB_ERR_USAGE, "band noise: radial bins not initialised");
    int h = bins->h, w = bins->w;
    size_t hw = (size_t)h * w;
    memset(masks, 0, (size_t)bins->bands * hw * sizeof(float));
    for (int s = 0; s < h; s++)
        for (int t = 0; t < w; t++) {
            int ms, mt;
            fb_fourier_mirror(h, w, s, t, &ms, &mt);
            size_t p = (size_t)s * w + t;
            int own = bins->band_of[p], partner = bins->band_of[(size_t)ms * w + mt];
            if (own >= 0)
                masks[own * hw + p] = 1.0f;
            if (partner >= 0)
                masks[partner * hw + p] = 1.0f;
        }
    return FB_OK;
}

/* Four standard normals from one Philox call (Box–Muller on two pairs of
 * 24-bit uniforms; the first of each pair in (0, 1] so the log is finite). */
static void four_normals(uint64_t seed, uint64_t index, double z[4])
{
    uint32_t words[4];
    fb_rng_words(seed, FB_STREAM_BAND_NOISE, 0, index, words);
    for (int pair = 0; pair < 2; pair++) {
        double u1 = ((words[2 * pair] >> 8) + 1.0) / 16777216.0;
        double u2 = (words[2 * pair + 1] >> 8) / 16777216.0;
        double radius = sqrt(-2.0 * log(u1)), angle = 6.283185307179586 * u2;
        z[2 * pair] = radius * cos(angle);
        z[2 * pair + 1] = radius * sin(angle);
    }
}

fb_status fb_band_noise(float *noise, const float *mask, int channels, int h, int w, double eps,
                        uint64_t seed, long image_index)
{
    size_t hw = (size_t)h * w, quads = (hw + 3) / 4;
    for (int c = 0; c < channels; c++) {
        uint64_t first = ((uint64_t)image_index * channels + c) * quads;
        for (size_t q = 0; q < quads; q++) {
            double z[4];
            four_normals(seed, first + q, z);
            for (size_t k = 0; k < 4 && 4 * q + k < hw; k++)
                noise[c * hw + 4 * q + k] = (float)z[k];
        }
    }
    FB_TRY(fb_spectral_filter(noise, noise, 1, channels, h, w, mask, FB_NORM_NONE, NULL));
    for (int c = 0; c < channels; c++) {
        double sum = 0.0;
        for (size_t p = 0; p < hw; p++)
            sum += (double)noise[c * hw + p] * noise[c * hw + p];
        double scale = sum > 0.0 ? eps / sqrt(sum) : 0.0;
        for (size_t p = 0; p < hw; p++)
            noise[c * hw + p] = (float)(noise[c * hw + p] * scale);
    }
    return FB_OK;
}

typedef struct band_jobs {
    const float *masks; /* [bands, H, W] */
    float *noise;       /* [C, H, W] scratch */
    int channels, h, w;
    double eps;
    uint64_t seed;
} band_jobs;

static fb_status make_band_item(void *context, int job, long image, const float *clean, float *out)
{
    band_jobs *b = context;
    size_t hw = (size_t)b->h * b->w, chw = b->channels * hw;
    FB_TRY(fb_band_noise(b->noise, b->masks + job * hw, b->channels, b->h, b->w, b->eps, b->seed, image));
    for (size_t p = 0; p < chw; p++)
        out[p] = clip_unit(clean[p] + b->noise[p]);
    return FB_OK;
}

fb_status fb_band_noise_errors(fb_model *model, const fb_dataset *data, const fb_fourier_options *o,
                               const fb_radial_bins *bins, double *errors)
{
    if (bins->h != data->height || bins->w != data->width)
        return fb_error(FB_ERR_SHAPE, "band noise: bins are %dx%d, the images %dx%d", bins->h, bins->w,
                        data->height, data->width);
    size_t hw = (size_t)bins->h * bins->w;
    float *masks = malloc((size_t)bins->bands * hw * sizeof(float)); /* [bands, H, W] */
    float *noise = malloc((size_t)data->channels * hw * sizeof(float)); /* [C, H, W] */
    fb_status status = masks && noise ? FB_OK : fb_error(FB_ERR_NOMEM, "band noise: out of memory");
    if (status == FB_OK)
        status = fb_band_noise_masks(masks, bins);
    band_jobs context = {masks, noise, data->channels, bins->h, bins->w, o->eps, o->seed};
    if (status == FB_OK)
        status = evaluate_jobs(model, data, o, bins->bands, make_band_item, &context, errors);
    free(masks);
    free(noise);
    return status;
}
