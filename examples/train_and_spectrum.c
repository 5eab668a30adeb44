/* train_and_spectrum.c — freqbias as a library: train, save, reload, look at a gradient spectrum.
 *
 * The smallest complete program against an installed libfreqbias:
 *
 *   cc train_and_spectrum.c $(pkg-config --cflags --libs freqbias) -o train_and_spectrum
 *   ./train_and_spectrum /tmp/tiny.safetensors
 *
 * 1. Build a ResNet-18 of width 4 on the fast CPU backend and initialise it
 *    from the counter RNG (seed 1): the same weights on every machine.
 * 2. Make 32 random 3×32×32 images in [0,1] and random labels, also from the
 *    RNG, and take 5 SGD steps on them (lr 0.05, momentum 0.9, wd 5e-4),
 *    printing the loss: it falls, because the net memorises the batch.
 * 3. Save the model (safetensors + metadata) and load it into a fresh model
 *    through fb_checkpoint_inspect, as every freqbias command does.
 * 4. One spectrum tool: the gradient of the loss w.r.t. the input pixels of
 *    the reloaded model (eval mode), its 2-D spectrum averaged over rings
 *    (fb_gradient_profiles, PAPER.md's 20 bands): which frequencies the
 *    model's decision is most sensitive to.
 * Exit code 0 when everything worked and the reloaded model reproduces the
 * trained one's loss exactly; every failure prints fb_error_message().
 */
#include <stdio.h>
#include <stdlib.h>

#include <freqbias/freqbias.h>

#define BATCH 32
#define STEPS 5

static int check(fb_status status)
{
    if (status != FB_OK)
        fprintf(stderr, "train_and_spectrum: %s\n", fb_error_message());
    return status == FB_OK;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "tiny.safetensors";
    fb_model_config config = fb_model_config_default(FB_ARCH_RESNET18);
    config.width = 4;
    config.max_batch = BATCH;
    fb_model *model = NULL, *reloaded = NULL;
    if (!check(fb_model_create(&model, &config, &fb_backend_cpu)))
        return 2;
    fb_model_init(model, 1);

    size_t pixels = (size_t)BATCH * 3 * 32 * 32;
    float *images = malloc(pixels * sizeof(float));        /* [BATCH, 3, 32, 32] in [0,1] */
    int32_t *labels = malloc(BATCH * sizeof(int32_t));     /* [BATCH] */
    float *grads = malloc(pixels * sizeof(float));         /* [BATCH, 3, 32, 32] ∂L/∂x */
    if (!images || !labels || !grads)
        return 2;
    for (size_t i = 0; i < pixels; i++)
        images[i] = fb_rng_uniform(7, FB_STREAM_NOISE, 0, i);
    for (int i = 0; i < BATCH; i++)
        labels[i] = (int32_t)fb_rng_below(7, FB_STREAM_NOISE, 1, (uint64_t)i, 10);

    float loss = 0.0f;
    for (int step = 0; step < STEPS; step++) {
        fb_model_forward(model, images, BATCH, 1);
        loss = fb_model_loss(model, labels, BATCH);
        fb_model_backward(model, NULL, 0);
        fb_model_sgd_step(model, 0.05f, 0.9f, 5e-4f);
        printf("step %d  loss %.4f\n", step, loss);
    }
    fb_model_forward(model, images, BATCH, 0);
    float trained_loss = fb_model_loss(model, labels, BATCH);

    fb_checkpoint_info info = {.epoch = 1, .seed = 1, .data_sha256 = ""};
    fb_model_config found;
    int ok = check(fb_checkpoint_save(model, path, &info)) && check(fb_checkpoint_inspect(path, &found));
    if (ok) {
        found.max_batch = BATCH;
        ok = check(fb_model_create(&reloaded, &found, &fb_backend_cpu)) &&
             check(fb_checkpoint_load(reloaded, path, NULL));
    }
    if (ok) {
        fb_model_forward(reloaded, images, BATCH, 0);
        float reloaded_loss = fb_model_loss(reloaded, labels, BATCH);
        printf("saved %s (%s, width %d); eval loss trained %.6f, reloaded %.6f\n", path,
               fb_arch_name(found.arch), found.width, trained_loss, reloaded_loss);
        ok = reloaded_loss == trained_loss;

        fb_model_backward(reloaded, NULL, 1);
        const fb_backend *backend = fb_model_backend(reloaded);
        backend->to_host(grads, fb_model_input_grad(reloaded), pixels * sizeof(float));
        fb_radial_bins bins;
        ok = ok && check(fb_radial_init(&bins, 32, 32, FB_RADIAL_FREQBIAS));
        if (ok) {
            float *profiles = malloc((size_t)BATCH * bins.bands * sizeof(float)); /* [BATCH, bands] */
            float *mean = malloc((size_t)bins.bands * sizeof(float));             /* [bands] */
            float *std = malloc((size_t)bins.bands * sizeof(float));              /* [bands] */
            ok = profiles && mean && std &&
                 check(fb_gradient_profiles(profiles, grads, BATCH, 3, 32, 32, &bins));
            if (ok) {
                fb_profile_mean_std(mean, std, profiles, BATCH, bins.bands);
                printf("gradient spectrum, %d bands (low → high frequency):\n", bins.bands);
                for (int b = 0; b < bins.bands; b++)
                    printf("  band %2d  %.3f ± %.3f\n", b, mean[b], std[b]);
            }
            free(profiles);
            free(mean);
            free(std);
            fb_radial_free(&bins);
        }
    }
    fb_model_free(reloaded);
    fb_model_free(model);
    free(images);
    free(labels);
    free(grads);
    return ok ? 0 : 2;
}
