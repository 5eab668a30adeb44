/* run_files.c — the files a training run leaves in its output folder:
 * epoch_NNN/last/best.safetensors, log.csv, state.safetensors, run.json.
 *
 * Order after every epoch: checkpoints, log.csv, state.safetensors, run.json.
 * state.safetensors is the commit point: a resume keeps the log rows of the
 * epochs the state has seen and rewrites the rest, so a crash between any
 * two of these writes resumes to the same bytes. Every file is written
 * atomically (src/io/atomic_file.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/atomic_file.h"
#include "freqbias/checkpoint.h"
#include "freqbias/json.h"
#include "freqbias/runtime.h"
#include "freqbias/version.h"
#include "train_internal.h"

#define LOG_HEADER "epoch,lr,train_loss,train_acc,test_loss,test_acc,img_per_s,seconds\n"

fb_status train_write_text(const char *path, const char *text)
{
    fb_atomic_file file;
    FB_TRY(fb_atomic_open(path, &file));
    if (fputs(text, file.stream) == EOF) {
        fb_atomic_abort(&file);
        return fb_error(FB_ERR_IO, "%s: write failed", path);
    }
    return fb_atomic_commit(&file);
}

fb_status train_write_run_json(const train_run *r, const char *status)
{
    const fb_train_job *job = r->job;
    const fb_train_settings *s = r->s;
    char path[1100];
    size_t size = 8192 + (size_t)job->command_count * 600;
    char *text = malloc(size), escaped[1200];
    if (!text)
        return fb_error(FB_ERR_NOMEM, "run.json: out of memory");
    size_t used = 0;
#define ADD(...) used += (size_t)snprintf(text + used, size - used, __VA_ARGS__)
    ADD("{\n  \"command\": [");
    for (int i = 0; i < job->command_count; i++) {
        fb_json_escape(job->command[i], escaped, sizeof escaped);
        ADD("%s%s", i ? ", " : "", escaped);
    }
    ADD("],\n  \"freqbias\": \"%s\",\n  \"profile\": \"%s\",\n", FB_VERSION, FB_PROFILE);
    fb_json_escape(fb_runtime_note(), escaped, sizeof escaped);
    ADD("  \"blas\": %s,\n  \"threads\": %d,\n  \"backend\": \"%s\",\n", escaped, fb_get_threads(),
        s->backend);
    ADD("  \"seed\": %llu,\n  \"arch\": \"%s\",\n  \"width\": %d,\n", (unsigned long long)s->seed,
        s->arch, s->width);
    fb_json_escape(job->train->source, escaped, sizeof escaped);
    ADD("  \"train_data\": {\"source\": %s, \"images\": %d, \"sha256\": \"%s\"},\n", escaped,
        job->train->count, r->train_sha);
    fb_json_escape(job->test->source, escaped, sizeof escaped);
    ADD("  \"test_data\": {\"source\": %s, \"images\": %d, \"sha256\": \"%s\"},\n", escaped,
        job->test->count, r->test_sha);
    ADD("  \"epochs\": %d,\n  \"epochs_done\": %d,\n  \"best_top1\": %.6f,\n  \"best_epoch\": %d,\n",
        s->epochs, r->next_epoch, r->best_top1, r->best_epoch);
    ADD("  \"train_seconds\": %.3f,\n  \"status\": \"%s\"\n}\n", r->seconds, status);
#undef ADD
    snprintf(path, sizeof path, "%s/run.json", s->out);
    fb_status result = train_write_text(path, text);
    free(text);
    return result;
}

fb_status train_save_epoch(train_run *r, int epoch, int improved)
{
    const fb_train_settings *s = r->s;
    char path[1100], values[TRAIN_SETTING_KEYS + 4][600];
    const char *keys[TRAIN_SETTING_KEYS + 4];
    fb_checkpoint_info info = {.epoch = epoch, .seed = s->seed};
    snprintf(info.data_sha256, sizeof info.data_sha256, "%s", r->train_sha);
    snprintf(path, sizeof path, "%s/epoch_%03d.safetensors", s->out, epoch);
    FB_TRY(fb_checkpoint_save(r->model, path, &info));
    snprintf(path, sizeof path, "%s/last.safetensors", s->out);
    FB_TRY(fb_checkpoint_save(r->model, path, &info));
    if (improved) {
        snprintf(path, sizeof path, "%s/best.safetensors", s->out);
        FB_TRY(fb_checkpoint_save(r->model, path, &info));
    }
    int n = train_settings_to_pairs(s, keys, values);
    keys[n] = "next_epoch";
    snprintf(values[n++], 600, "%d", epoch + 1);
    keys[n] = "best_top1";
    snprintf(values[n++], 600, "%.17g", r->best_top1);
    keys[n] = "best_epoch";
    snprintf(values[n++], 600, "%d", r->best_epoch);
    keys[n] = "train_seconds";
    snprintf(values[n++], 600, "%.3f", r->seconds);
    const char *value_pointers[TRAIN_SETTING_KEYS + 4];
    for (int i = 0; i < n; i++)
        value_pointers[i] = values[i];
    snprintf(path, sizeof path, "%s/log.csv", s->out);
    FB_TRY(train_write_text(path, r->log));
    snprintf(path, sizeof path, "%s/state.safetensors", s->out);
    FB_TRY(fb_train_state_save(r->model, path, keys, value_pointers, n));
    return train_write_run_json(r, epoch + 1 == s->epochs ? "finished" : "running");
}

char *train_restore_log(const char *out, int next_epoch)
{
    char path[1100], line[512];
    snprintf(path, sizeof path, "%s/log.csv", out);
    FILE *f = fopen(path, "r");
    long file_size = 0;
    if (f && fseek(f, 0, SEEK_END) == 0)
        file_size = ftell(f);
    if (f && (file_size < 0 || fseek(f, 0, SEEK_SET) != 0))
        file_size = 0;
    /* the kept rows are a subset of the file's: its size bounds them */
    size_t capacity = sizeof LOG_HEADER + (size_t)file_size + 1;
    char *log = malloc(capacity);
    if (!log) {
        if (f)
            fclose(f);
        return NULL;
    }
    snprintf(log, capacity, "%s", LOG_HEADER);
    if (!f)
        return log;
    size_t used = strlen(log);
    while (fgets(line, sizeof line, f)) {
        int epoch;
        size_t length = strlen(line);
        if (sscanf(line, "%d,", &epoch) == 1 && epoch >= 0 && epoch < next_epoch && used + length < capacity) {
            memcpy(log + used, line, length + 1);
            used += length;
        }
    }
    fclose(f);
    return log;
}

fb_status train_append_log(train_run *r, const char *row)
{
    size_t need = strlen(r->log) + strlen(row) + 1;
    char *grown = realloc(r->log, need);
    if (!grown)
        return fb_error(FB_ERR_NOMEM, "log.csv: out of memory");
    strcat(grown, row);
    r->log = grown;
    return FB_OK;
}
