/* gradspec.c — the gradient spectrum of grad.py (PAPER.md E2).
 *
 * For x = F⁻¹X, |∂L/∂X[k]| = |G[k]|/N with G = DFT(∂L/∂x): the magnitude of
 * the FFT of the input-pixel gradient says how strongly the loss depends on
 * each frequency component. Per image: the gradient is summed over the
 * colour channels, transformed, shifted (DC to the centre), reduced to its
 * magnitude, averaged over rings (the seed's 20-band convention by default)
 * and min-max normalised, so every image weighs the same; the mean and std
 * over images give one profile per checkpoint.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/dataset.h"
#include "freqbias/loader.h"
#include "freqbias/model.h"
#include "freqbias/spectrum.h"

fb_status fb_gradient_profiles(float *profiles, const float *grads, int n, int channels, int h,
                               int w, const fb_radial_bins *bins)
{
    if (n < 1 || channels < 1 || h < 1 || w < 1)
        return fb_error(FB_ERR_USAGE, "gradient spectrum: empty input (%d images of %dx%dx%d)", n,
                        channels, h, w);
    size_t plane = (size_t)h * w;
    float *summed = malloc((size_t)n * plane * sizeof(float));       /* [n, H, W]    */
    float *spectrum = malloc((size_t)n * plane * 2 * sizeof(float)); /* [n, H, W, 2] */
    float *shifted = malloc((size_t)n * plane * 2 * sizeof(float));  /* [n, H, W, 2] */
    if (!summed || !spectrum || !shifted) {
        free(summed);
        free(spectrum);
        free(shifted);
        return fb_error(FB_ERR_NOMEM, "gradient spectrum: out of memory for %d images", n);
    }
    for (int i = 0; i < n; i++)
        for (size_t p = 0; p < plane; p++) {
            float sum = 0.0f;
            for (int c = 0; c < channels; c++)
                sum += grads[((size_t)i * channels + c) * plane + p];
            summed[(size_t)i * plane + p] = sum;
        }
    fb_status status = fb_fft2(spectrum, summed, n, h, w);
    if (status == FB_OK) {
        for (int i = 0; i < n; i++)
            fb_fftshift_complex(shifted + (size_t)i * plane * 2, spectrum + (size_t)i * plane * 2, h, w);
        fb_spectrum_magnitude(summed, shifted, (size_t)n * plane); /* summed now holds |F| */
        status = fb_radial_average(profiles, summed, n, bins);
    }
    if (status == FB_OK)
        fb_minmax_planes(profiles, (size_t)n, (size_t)bins->bands);
    free(summed);
    free(spectrum);
    free(shifted);
    return status;
}

void fb_profile_mean_std(float *mean, float *std, const float *profiles, int n, int bands)
{
    for (int b = 0; b < bands; b++) {
        double sum = 0.0, squares = 0.0;
        for (int i = 0; i < n; i++)
            sum += profiles[(size_t)i * bands + b];
        double m = n ? sum / n : 0.0;
        for (int i = 0; i < n; i++) {
            double d = profiles[(size_t)i * bands + b] - m;
            squares += d * d;
        }
        mean[b] = (float)m;
        std[b] = (float)(n ? sqrt(squares / n) : 0.0);
    }
}

fb_status fb_model_gradient_spectrum(fb_model *model, const fb_dataset *data, int n, int batch,
                                     const fb_radial_bins *bins, float *mean, float *std,
                                     fb_gradspec_timing *timing)
{
    double start = omp_get_wtime(), middle = start;
    const fb_backend *backend = fb_model_backend(model);
    const fb_model_config *config = fb_model_get_config(model);
    if (n < 1 || n > data->count)
        n = data->count;
    if (batch > config->max_batch)
        batch = config->max_batch;
    size_t image = (size_t)data->channels * data->height * data->width;
    float *host = malloc((size_t)batch * image * sizeof(float));                  /* [batch, C, H, W] */
    float *device = backend->alloc((size_t)batch * image * sizeof(float));        /* [batch, C, H, W] */
    float *grads = malloc((size_t)n * image * sizeof(float));                     /* [n, C, H, W] */
    float *profiles = malloc((size_t)n * bins->bands * sizeof(float));            /* [n, bands] */
    int32_t *labels = malloc((size_t)batch * sizeof(int32_t));                     /* [batch] */
    fb_loader loader;
    fb_status status = fb_loader_init(&loader, data, n, batch, 0, 0, 0);
    if (status == FB_OK && (!host || !device || !grads || !profiles || !labels))
        status = fb_error(FB_ERR_NOMEM, "gradient spectrum: out of memory for %d images", n);
    if (status == FB_OK) {
        fb_loader_start_epoch(&loader, 0);
        for (int b = 0; b < fb_loader_batches(&loader); b++) {
            int count = fb_loader_batch(&loader, b, host, labels);
            backend->to_device(device, host, (size_t)count * image * sizeof(float));
            fb_model_forward(model, device, count, 0);
            fb_model_loss(model, labels, count);
            fb_model_backward(model, NULL, 1);
            backend->to_host(grads + (size_t)b * batch * image, fb_model_input_grad(model),
                             (size_t)count * image * sizeof(float));
        }
        middle = omp_get_wtime();
        status = fb_gradient_profiles(profiles, grads, n, data->channels, data->height,
                                      data->width, bins);
    }
    if (status == FB_OK)
        fb_profile_mean_std(mean, std, profiles, n, bins->bands);
    if (timing) {
        timing->model_seconds += middle - start;
        timing->spectrum_seconds += omp_get_wtime() - middle;
    }
    fb_loader_free(&loader);
    free(host);
    if (device)
        backend->release(device);
    free(grads);
    free(profiles);
    free(labels);
    return status;
}
