/* loader.c — shuffled, augmented batches from the counter RNG (see
 * freqbias/loader.h for the exact rules).
 *
 * Reflect padding by 4 mirrors without repeating the edge (numpy 'reflect',
 * torchvision padding_mode='reflect'): padded column −1 is column 1, −2 is 2,
 * and W is W−2. A crop at (dy, dx) of the padded image reads source row
 * y + dy − 4 for output row y, reflected into [0, H).
 */
#include "freqbias/loader.h"

#include <stdlib.h>

#include "freqbias/rng.h"

#define PAD 4

fb_status fb_loader_init(fb_loader *loader, const fb_dataset *data, int count, int batch_size,
                         uint64_t seed, int shuffle, int augment)
{
    if (count < 1 || count > data->count)
        count = data->count;
    if (batch_size < 1)
        return fb_error(FB_ERR_USAGE, "loader: batch size must be >= 1 (got %d)", batch_size);
    loader->data = data;
    loader->seed = seed;
    loader->shuffle = shuffle;
    loader->augment = augment;
    loader->batch_size = batch_size;
    loader->count = count;
    loader->epoch = -1;
    loader->order = malloc((size_t)count * sizeof(int));
    if (!loader->order)
        return fb_error(FB_ERR_NOMEM, "loader: out of memory for %d indices", count);
    for (int i = 0; i < count; i++)
        loader->order[i] = i;
    return FB_OK;
}

void fb_loader_free(fb_loader *loader)
{
    free(loader->order);
    loader->order = NULL;
}

void fb_loader_start_epoch(fb_loader *loader, int epoch)
{
    loader->epoch = epoch;
    for (int i = 0; i < loader->count; i++)
        loader->order[i] = i;
    if (!loader->shuffle)
        return;
    /* Fisher–Yates from the end: position i swaps with a uniform j ≤ i. */
    for (int i = loader->count - 1; i > 0; i--) {
        int j = (int)fb_rng_below(loader->seed, FB_STREAM_SHUFFLE, (uint32_t)epoch, (uint64_t)i,
                                  (uint32_t)(i + 1));
        int swap = loader->order[i];
        loader->order[i] = loader->order[j];
        loader->order[j] = swap;
    }
}

int fb_loader_batches(const fb_loader *loader)
{
    return (loader->count + loader->batch_size - 1) / loader->batch_size;
}

fb_augment_choice fb_augment_choose(uint64_t seed, int epoch, int index)
{
    uint32_t words[4];
    fb_rng_words(seed, FB_STREAM_AUGMENT, (uint32_t)epoch, (uint64_t)index, words);
    fb_augment_choice choice = {(int)(words[0] % (2 * PAD + 1)), (int)(words[1] % (2 * PAD + 1)),
                                (int)(words[2] & 1)};
    return choice;
}

/* Index into [0, n) of coordinate i after reflect padding. */
static int reflect(int i, int n)
{
    if (n == 1)
        return 0;
    while (i < 0 || i >= n)
        i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

void fb_augment_image(float *out, const uint8_t *pixels, int channels, int height, int width,
                      fb_augment_choice choice)
{
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < height; y++) {
            int source_y = reflect(y + choice.dy - PAD, height);
            const uint8_t *row = pixels + ((size_t)c * height + source_y) * width;
            float *dst = out + ((size_t)c * height + y) * width;
            for (int x = 0; x < width; x++) {
                int column = choice.flip ? width - 1 - x : x;
                int source_x = reflect(column + choice.dx - PAD, width);
                dst[x] = (float)row[source_x] / 255.0f;
            }
        }
}

int fb_loader_batch_size(const fb_loader *loader, int batch)
{
    int first = batch * loader->batch_size;
    return loader->count - first < loader->batch_size ? loader->count - first : loader->batch_size;
}

void fb_loader_batch_part(const fb_loader *loader, int batch, int lo, int hi, float *images,
                          int32_t *labels)
{
    const fb_dataset *data = loader->data;
    int first = batch * loader->batch_size + lo;
    size_t image_size = (size_t)data->channels * data->height * data->width;
    const fb_augment_choice identity = {PAD, PAD, 0};
#pragma omp parallel for schedule(static)
    for (int i = 0; i < hi - lo; i++) {
        int index = loader->order[first + i];
        fb_augment_choice choice =
            loader->augment ? fb_augment_choose(loader->seed, loader->epoch, index) : identity;
        fb_augment_image(images + i * image_size, data->pixels + (size_t)index * image_size,
                         data->channels, data->height, data->width, choice);
        labels[i] = data->labels[index];
    }
}

int fb_loader_batch(const fb_loader *loader, int batch, float *images, int32_t *labels)
{
    int n = fb_loader_batch_size(loader, batch);
    fb_loader_batch_part(loader, batch, 0, n, images, labels);
    return n;
}
