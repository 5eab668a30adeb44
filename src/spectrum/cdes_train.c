/* cdes_train.c — training the CDES toy kernels (the seed's
 * CDES/train_toy_models.py, PAPER.md E3).
 *
 * Per batch of B images x [B, 3, 32, 32] in [0, 1], in dataset order:
 *   noisy = x + noise                               (fb_cdes_add_noise)
 *   y     = conv2(conv1(noisy))                     (toy model, 3→16→3, 7×7)
 *   L     = L_spec(y) + mean((y − noisy)²)          (1 : 1)
 *   ∂L/∂y = ∂L_spec/∂y + 2(y − noisy)/(B·3·32·32)
 *   backward through the two convolutions, PyTorch SGD step.
 * The learning rate follows StepLR: lr · γ^⌊epoch/step⌋.
 * The loss runs where fb_cdes_loss_create put it: on the cuda backend a
 * loss made for cuda computes on the GPU (cuFFT) and nothing is copied; a
 * host loss gets the output copied down and ∂L/∂y copied up once per batch.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/cdes.h"
#include "freqbias/model.h"

struct fb_cdes_trainer {
    fb_model *model;
    const fb_backend *backend;
    int batch;
    size_t image_floats;  /* 3·H·W                         */
    float *noisy;         /* host [batch, 3, H, W]          */
    float *output;        /* host [batch, 3, H, W]          */
    float *doutput;       /* host [batch, 3, H, W]          */
    float *device_input;  /* device [batch, 3, H, W]        */
    float *device_grad;   /* device [batch, 3, H, W]        */
};

fb_cdes_schedule fb_cdes_schedule_default(void)
{
    fb_cdes_schedule s = { 20, 100, 5, 0.01f, 0.9f, 1e-4f, 0.1f };
    return s;
}

float fb_cdes_lr(const fb_cdes_schedule *schedule, int epoch)
{
    double lr = schedule->lr;
    for (int k = 0; k < epoch / schedule->step_lr; k++)
        lr *= schedule->gamma;
    return (float)lr;
}

fb_status fb_cdes_trainer_create(fb_cdes_trainer **out, fb_model *model, int batch)
{
    *out = NULL;
    const fb_model_config *config = fb_model_get_config(model);
    if (config->arch != FB_ARCH_TOYKERNEL || batch < 1 || batch > config->max_batch)
        return fb_error(FB_ERR_USAGE, "CDES: need a toy model with max_batch ≥ %d", batch);
    fb_cdes_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return fb_error(FB_ERR_NOMEM, "CDES trainer: out of memory");
    t->model = model;
    t->backend = fb_model_backend(model);
    t->batch = batch;
    t->image_floats = (size_t)config->in_channels * config->image_size * config->image_size;
    size_t bytes = (size_t)batch * t->image_floats * sizeof(float);
    t->noisy = malloc(bytes);
    t->output = malloc(bytes);
    t->doutput = malloc(bytes);
    t->device_input = t->backend->alloc(bytes);
    t->device_grad = t->backend->alloc(bytes);
    if (!t->noisy || !t->output || !t->doutput || !t->device_input || !t->device_grad) {
        fb_cdes_trainer_free(t);
        return fb_error(FB_ERR_NOMEM, "CDES trainer: out of memory for batches of %d", batch);
    }
    *out = t;
    return FB_OK;
}

void fb_cdes_trainer_free(fb_cdes_trainer *t)
{
    if (!t)
        return;
    free(t->noisy);
    free(t->output);
    free(t->doutput);
    if (t->device_input)
        t->backend->release(t->device_input);
    if (t->device_grad)
        t->backend->release(t->device_grad);
    free(t);
}

fb_status fb_cdes_apply(fb_cdes_trainer *t, float *out, const float *in, int n)
{
    if (n < 1 || n > t->batch)
        return fb_error(FB_ERR_USAGE, "CDES: batch of %d outside 1..%d", n, t->batch);
    size_t bytes = (size_t)n * t->image_floats * sizeof(float);
    t->backend->to_device(t->device_input, in, bytes);
    const float *y = fb_model_forward(t->model, t->device_input, n, 0);
    t->backend->to_host(out, y, bytes);
    return FB_OK;
}

fb_status fb_cdes_train_epoch(fb_cdes_trainer *t, fb_cdes_loss *loss, const float *images, int n,
                              const fb_cdes_schedule *schedule, int epoch, uint64_t seed,
                              uint64_t set_key, const float *target, fb_cdes_epoch_losses *losses)
{
    if (schedule->batch > t->batch)
        return fb_error(FB_ERR_USAGE, "CDES: schedule batch %d above the trainer's %d", schedule->batch,
                        t->batch);
    if (fb_cdes_loss_on_device(loss) && strcmp(t->backend->name, "cuda") != 0)
        return fb_error(FB_ERR_USAGE, "CDES: a loss made for the cuda backend needs a cuda model, not %s",
                        t->backend->name);
    float lr = fb_cdes_lr(schedule, epoch);
    double spectral_sum = 0.0, image_sum = 0.0;
    int batches = 0;
    for (int start = 0; start < n; start += schedule->batch, batches++) {
        int count = n - start < schedule->batch ? n - start : schedule->batch;
        size_t floats = (size_t)count * t->image_floats;
        size_t bytes = floats * sizeof(float);
        fb_cdes_add_noise(t->noisy, images + (size_t)start * t->image_floats, floats, seed,
                          (uint32_t)epoch, (set_key << 20) + (uint64_t)batches);
        t->backend->to_device(t->device_input, t->noisy, bytes);
        const float *y = fb_model_forward(t->model, t->device_input, count, 1);
        float spectral, image;
        if (fb_cdes_loss_on_device(loss)) { /* y, noisy and ∂L/∂y stay on the GPU */
            FB_TRY(fb_cdes_batch_loss(loss, t->device_grad, y, t->device_input, count, target,
                                      &spectral, &image));
        } else {
            t->backend->to_host(t->output, y, bytes);
            FB_TRY(fb_cdes_batch_loss(loss, t->doutput, t->output, t->noisy, count, target,
                                      &spectral, &image));
            t->backend->to_device(t->device_grad, t->doutput, bytes);
        }
        if (!isfinite(spectral) || !isfinite(image))
            return fb_error(FB_ERR_NUMERIC,
                            "CDES: loss is not finite at epoch %d, batch %d (spectral %g, image %g)",
                            epoch + 1, batches + 1, spectral, image);
        spectral_sum += spectral;
        image_sum += image;
        fb_model_backward(t->model, t->device_grad, 0);
        fb_model_sgd_step(t->model, lr, schedule->momentum, schedule->weight_decay);
    }
    losses->spectral = batches ? spectral_sum / batches : 0.0;
    losses->image = batches ? image_sum / batches : 0.0;
    return FB_OK;
}
