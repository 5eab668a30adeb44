/* gradspec.c — the gradient spectrum of grad.py (PAPER.md E2).
 *
 * For x = F⁻¹X, |∂L/∂X[k]| = |G[k]|/N with G = DFT(∂L/∂x): the magnitude of
 * the FFT of the input-pixel gradient says how strongly the loss depends on
 * each frequency component. Per image: the gradient is summed over the
 * colour channels, transformed, shifted (DC to the centre), reduced to its
 * magnitude, averaged over rings (the seed's 20-band convention by default)
 * and min-max normalised, so every image weighs the same; the mean and std
 * over images give one profile per checkpoint.
 *
 * On the cuda backend the input gradients stay on the GPU: the channel sum
 * (same float arithmetic) and the FFT (cuFFT, fb_cuda_fft2) run there and
 * only the spectra come back; shift, magnitude, rings and min-max are the
 * same host code for every backend (profiles_of_spectra).
 *
 * Under MPI (freqbias/dist.h) fb_model_gradient_spectrum is collective:
 * each rank takes a contiguous share of whole batches (the batches one
 * process runs, so every input gradient — scaled by its batch's 1/n — and
 * every per-image profile has the same bits), rank 0 gathers the profiles
 * and takes the mean and std in image order.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/dataset.h"
#include "freqbias/dist.h"
#include "freqbias/loader.h"
#include "freqbias/model.h"
#include "freqbias/spectrum.h"

#ifdef FB_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

/* profiles[n, bands] from the unshifted spectra[n, H, W, 2] of the
 * channel-summed gradients: fftshift → |F| → rings → min-max. */
static fb_status profiles_of_spectra(float *profiles, const float *spectra, int n, int h, int w,
                                     const fb_radial_bins *bins)
{
    size_t plane = (size_t)h * w;
    float *shifted = malloc((size_t)n * plane * 2 * sizeof(float)); /* [n, H, W, 2] */
    float *magnitude = malloc((size_t)n * plane * sizeof(float));   /* [n, H, W]    */
    fb_status status = FB_OK;
    if (!shifted || !magnitude)
        status = fb_error(FB_ERR_NOMEM, "gradient spectrum: out of memory for %d images", n);
    if (status == FB_OK) {
        for (int i = 0; i < n; i++)
            fb_fftshift_complex(shifted + (size_t)i * plane * 2, spectra + (size_t)i * plane * 2, h, w);
        fb_spectrum_magnitude(magnitude, shifted, (size_t)n * plane);
        status = fb_radial_average(profiles, magnitude, n, bins);
    }
    if (status == FB_OK)
        fb_minmax_planes(profiles, (size_t)n, (size_t)bins->bands);
    free(shifted);
    free(magnitude);
    return status;
}

fb_status fb_gradient_profiles(float *profiles, const float *grads, int n, int channels, int h,
                               int w, const fb_radial_bins *bins)
{
    if (n < 1 || channels < 1 || h < 1 || w < 1)
        return fb_error(FB_ERR_USAGE, "gradient spectrum: empty input (%d images of %dx%dx%d)", n,
                        channels, h, w);
    size_t plane = (size_t)h * w;
    float *summed = malloc((size_t)n * plane * sizeof(float));       /* [n, H, W]    */
    float *spectrum = malloc((size_t)n * plane * 2 * sizeof(float)); /* [n, H, W, 2] */
    if (!summed || !spectrum) {
        free(summed);
        free(spectrum);
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
    free(summed);
    if (status == FB_OK)
        status = profiles_of_spectra(profiles, spectrum, n, h, w, bins);
    free(spectrum);
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

#ifdef FB_WITH_CUDA
/* spectra[count, H, W, 2] (host) = fft2 of the channel sum of the device
 * gradients grads[count, C, H, W], computed on the GPU; summed[count, H, W]
 * and spectrum[count, H, W, 2] are device scratch. */
static fb_status gpu_spectra(float *spectra, const float *grads, int count, int channels, int h,
                             int w, float *summed, float *spectrum)
{
    size_t plane = (size_t)h * w;
    FB_TRY(fb_cuda_channel_sum(summed, grads, count, channels, plane));
    FB_TRY(fb_cuda_fft2(spectrum, summed, count, h, w));
    fb_backend_cuda.to_host(spectra, spectrum, (size_t)count * plane * 2 * sizeof(float));
    return FB_OK;
}
#endif

fb_status fb_model_gradient_spectrum(fb_model *model, const fb_dataset *data, int n, int batch,
                                     const fb_radial_bins *bins, float *mean, float *std,
                                     fb_gradspec_timing *timing)
{
    double start = omp_get_wtime(), middle = start, gpu_fft_seconds = 0.0;
    const fb_backend *backend = fb_model_backend(model);
    const fb_model_config *config = fb_model_get_config(model);
    if (n < 1 || n > data->count)
        n = data->count;
    if (batch > config->max_batch)
        batch = config->max_batch;
    size_t image = (size_t)data->channels * data->height * data->width;
    size_t plane = (size_t)data->height * data->width;
    int batches = (n + batch - 1) / batch, first_batch, my_batches;
    fb_dist_shard(batches, &first_batch, &my_batches);
    int first_image = first_batch * batch;
    int end_image = (first_batch + my_batches) * batch < n ? (first_batch + my_batches) * batch : n;
    int my_images = end_image - first_image;
    int on_gpu = 0; /* the cuda backend: channel sums and FFTs on the GPU */
#ifdef FB_WITH_CUDA
    on_gpu = backend == &fb_backend_cuda;
#endif
    float *host = malloc((size_t)batch * image * sizeof(float));                  /* [batch, C, H, W] */
    float *device = backend->alloc((size_t)batch * image * sizeof(float));        /* [batch, C, H, W] */
    /* this rank's images, CPU backends: input gradients [my_images, C, H, W];
     * cuda: their spectra [my_images, H, W, 2] */
    float *grads = malloc(((size_t)my_images * (on_gpu ? plane * 2 : image) + 1) * sizeof(float));
    float *profiles = malloc((size_t)n * bins->bands * sizeof(float));            /* [n, bands] */
    float *my_profiles = profiles ? profiles + (size_t)first_image * bins->bands : NULL;
    int32_t *labels = malloc((size_t)batch * sizeof(int32_t));                     /* [batch] */
    /* cuda only, device scratch: summed [batch, H, W], spectrum [batch, H, W, 2] */
    float *gpu_summed = on_gpu ? backend->alloc((size_t)batch * plane * sizeof(float)) : NULL;
    float *gpu_spectrum = on_gpu ? backend->alloc((size_t)batch * plane * 2 * sizeof(float)) : NULL;
    fb_loader loader;
    fb_status status = fb_loader_init(&loader, data, n, batch, 0, 0, 0);
    if (status == FB_OK && (!host || !device || !grads || !profiles || !labels ||
                            (on_gpu && (!gpu_summed || !gpu_spectrum))))
        status = fb_error(FB_ERR_NOMEM, "gradient spectrum: out of memory for %d images", n);
    if (status == FB_OK) {
        fb_loader_start_epoch(&loader, 0);
        for (int b = first_batch; b < first_batch + my_batches && status == FB_OK; b++) {
            int count = fb_loader_batch(&loader, b, host, labels);
            size_t mine = (size_t)(b - first_batch) * batch; /* the batch's first image in grads */
            backend->to_device(device, host, (size_t)count * image * sizeof(float));
            fb_model_forward(model, device, count, 0);
            fb_model_loss(model, labels, count);
            fb_model_backward(model, NULL, 1);
            if (on_gpu) {
#ifdef FB_WITH_CUDA
                double fft_start = omp_get_wtime();
                status = gpu_spectra(grads + mine * plane * 2,
                                     fb_model_input_grad(model), count, data->channels,
                                     data->height, data->width, gpu_summed, gpu_spectrum);
                gpu_fft_seconds += omp_get_wtime() - fft_start;
#endif
            } else {
                backend->to_host(grads + mine * image, fb_model_input_grad(model),
                                 (size_t)count * image * sizeof(float));
            }
        }
        middle = omp_get_wtime();
        if (status == FB_OK && my_images > 0 && on_gpu)
            status = profiles_of_spectra(my_profiles, grads, my_images, data->height, data->width, bins);
        else if (status == FB_OK && my_images > 0)
            status = fb_gradient_profiles(my_profiles, grads, my_images, data->channels, data->height,
                                          data->width, bins);
    }
    if (status == FB_OK)
        status = fb_dist_gather_rows(profiles, (size_t)bins->bands * sizeof(float), n, first_image, my_images);
    if (status == FB_OK && fb_dist_is_root())
        fb_profile_mean_std(mean, std, profiles, n, bins->bands);
    if (timing) {
        timing->model_seconds += middle - start - gpu_fft_seconds;
        timing->spectrum_seconds += omp_get_wtime() - middle + gpu_fft_seconds;
    }
    fb_loader_free(&loader);
    free(host);
    if (device)
        backend->release(device);
    if (gpu_summed)
        backend->release(gpu_summed);
    if (gpu_spectrum)
        backend->release(gpu_spectrum);
    free(grads);
    free(profiles);
    free(labels);
    return status;
}
