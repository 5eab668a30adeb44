/* cli_util.c — helpers shared by the subcommands (see cli_util.h). */
#include "cli_util.h"

#include <errno.h>
#include <stdarg.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "freqbias/atomic_file.h"
#include "freqbias/checkpoint.h"
#include "freqbias/dist.h"
#include "freqbias/npy.h"

int cli_fail(const char *command, fb_status status)
{
    if (fb_dist_size() > 1) /* the other ranks may be waiting for this one: end the job */
        fb_dist_abort(command, fb_error_message(), fb_status_exit_code(status));
    fprintf(stderr, "freqbias %s: %s\n", command, fb_error_message());
    return fb_status_exit_code(status);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* data_batch_1.bin, data_batch_2.bin, ... as far as they go (the official
 * five, or the fewer, possibly shorter files of a generated subset). */
static fb_status load_train_batches(const char *dir, fb_dataset *out)
{
    char storage[5][1100];
    const char *paths[5];
    int count = 0;
    while (count < 5) {
        snprintf(storage[count], sizeof storage[count], "%s/data_batch_%d.bin", dir, count + 1);
        if (access(storage[count], F_OK) != 0)
            break;
        paths[count] = storage[count];
        count++;
    }
    if (count == 0)
        return fb_error(FB_ERR_IO, "%s: has test_batch.bin but no data_batch_1.bin", dir);
    return fb_cifar10_read_files(paths, count, out);
}

fb_status cli_load_dataset(const char *dir, const char *kind, const char *path, fb_split split,
                           fb_dataset *out)
{
    if (path) {
        /* a folder in the CIFAR-10 layout (the official one, or a generated
         * CDES set) holds both splits: read the one asked for instead of
         * merging every *.bin (which would train on the test set) */
        char probe[1100];
        snprintf(probe, sizeof probe, "%s/test_batch.bin", path);
        if (is_dir(path) && access(probe, F_OK) == 0)
            return split == FB_SPLIT_TEST ? fb_dataset_load_path(probe, out) : load_train_batches(path, out);
        return fb_dataset_load_path(path, out);
    }
    if (!dir)
        return fb_error(FB_ERR_USAGE, "no data: give --data DIR (and --dataset) or a data path");
    /* the folder the official archive (or scripts/fetch-data.sh) unpacks to */
    const char *folder = strncmp(kind, "cifar100", 8) == 0 ? "cifar-100-binary"
                         : strcmp(kind, "cifar10") == 0    ? "cifar-10-batches-bin"
                                                           : kind;
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/%s", dir, folder);
    if (is_dir(sub))
        return fb_dataset_load(sub, kind, split, out);
    return fb_dataset_load(dir, kind, split, out);
}

fb_status cli_make_dirs(const char *path)
{
    char buffer[1024];
    snprintf(buffer, sizeof buffer, "%s", path);
    for (char *p = buffer + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buffer, 0777) != 0 && errno != EEXIST)
                return fb_error(FB_ERR_IO, "%s: cannot create folder: %s", buffer, strerror(errno));
            *p = '/';
        }
    if (mkdir(buffer, 0777) != 0 && errno != EEXIST)
        return fb_error(FB_ERR_IO, "%s: cannot create folder: %s", buffer, strerror(errno));
    if (!is_dir(buffer))
        return fb_error(FB_ERR_IO, "%s: exists and is not a folder", buffer);
    return FB_OK;
}

fb_status cli_write_text(const char *path, const char *text)
{
    fb_atomic_file file;
    FB_TRY(fb_atomic_open(path, &file));
    if (fputs(text, file.stream) == EOF) {
        int saved = errno;
        fb_atomic_abort(&file);
        return fb_error(FB_ERR_IO, "%s: write failed: %s", path, strerror(saved));
    }
    return fb_atomic_commit(&file);
}

double cli_now(void) { return omp_get_wtime(); }

void cli_progress_start(cli_progress *progress, const char *label)
{
    progress->enabled = isatty(fileno(stderr)) && fb_dist_is_root();
    progress->start = cli_now();
    progress->label = label;
}

void cli_progress_update(cli_progress *progress, long done, long total, long images)
{
    if (!progress->enabled || total <= 0)
        return;
    double elapsed = cli_now() - progress->start;
    double rate = elapsed > 0 ? images / elapsed : 0.0;
    double eta = done > 0 ? elapsed * (total - done) / done : 0.0;
    int width = 30, filled = (int)(width * done / total);
    fprintf(stderr, "\r%s [", progress->label);
    for (int i = 0; i < width; i++)
        fputc(i < filled ? '=' : (i == filled ? '>' : ' '), stderr);
    fprintf(stderr, "] %ld/%ld  %.0f img/s  ETA %d:%02d ", done, total, rate, (int)eta / 60,
            (int)eta % 60);
    fflush(stderr);
}

void cli_progress_finish(cli_progress *progress)
{
    if (progress->enabled)
        fprintf(stderr, "\r\033[K");
}

fb_status cli_model_for(fb_model **model, const char *ckpt, const fb_dataset *data, int batch,
                        const fb_backend *backend, int load)
{
    fb_model_config config;
    *model = NULL;
    FB_TRY(fb_checkpoint_inspect(ckpt, &config));
    config.max_batch = batch;
    config.in_channels = data->channels;
    config.image_size = data->height;
    FB_TRY(fb_model_create(model, &config, backend));
    return load ? fb_checkpoint_load(*model, ckpt, NULL) : FB_OK;
}

fb_status cli_write_nhwc_npy(const char *path, const uint8_t *pixels, int count, int channels,
                             int height, int width)
{
    size_t plane = (size_t)height * width, image = (size_t)channels * plane;
    uint8_t *nhwc = malloc((size_t)count * image); /* [count, H, W, C] */
    if (!nhwc)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    for (int n = 0; n < count; n++)
        for (int c = 0; c < channels; c++)
            for (size_t p = 0; p < plane; p++)
                nhwc[n * image + p * channels + c] = pixels[n * image + c * plane + p];
    int64_t shape[4] = {count, height, width, channels};
    fb_status status = fb_npy_write(path, FB_NPY_U8, 4, shape, nhwc);
    free(nhwc);
    return status;
}

fb_status cli_text_write(const char *path, const cli_text *text)
{
    if (text->failed)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    return cli_write_text(path, text->data ? text->data : "");
}

void cli_text_add(cli_text *text, const char *format, ...)
{
    if (text->failed)
        return;
    for (;;) {
        va_list args;
        va_start(args, format);
        size_t room = text->capacity - text->used;
        int n = text->data ? vsnprintf(text->data + text->used, room, format, args) : 0;
        va_end(args);
        if (n < 0) {
            text->failed = 1;
            return;
        }
        if (text->data && (size_t)n < room) {
            text->used += (size_t)n;
            return;
        }
        size_t capacity = text->capacity ? text->capacity * 2 : 4096;
        while (capacity < text->used + (size_t)n + 1)
            capacity *= 2;
        char *grown = realloc(text->data, capacity);
        if (!grown) {
            text->failed = 1;
            return;
        }
        text->data = grown;
        text->capacity = capacity;
    }
}

void cli_text_free(cli_text *text)
{
    free(text->data);
    memset(text, 0, sizeof *text);
}
