/* report_data.c — verify CIFAR-10, write the preset's subsets, pack
 * generated batch files (see report_data.h).
 *
 * The official SHA-256 below are of the six files of cifar-10-binary.tar.gz
 * (their MD5 sums are the ones scripts/fetch-data.sh checks; the SHA-256
 * were computed from MD5-verified copies).
 */
#include "report_data.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_util.h"
#include "freqbias/dataset.h"
#include "freqbias/json.h"

static const struct {
    const char *name, *sha256;
} official_files[6] = {
    {"data_batch_1.bin", "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5"},
    {"data_batch_2.bin", "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed"},
    {"data_batch_3.bin", "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67"},
    {"data_batch_4.bin", "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48"},
    {"data_batch_5.bin", "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add"},
    {"test_batch.bin", "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b"},
};

static int has_test_batch(const char *dir)
{
    char probe[STAGE_PATH * 2];
    snprintf(probe, sizeof probe, "%s/test_batch.bin", dir);
    return access(probe, F_OK) == 0;
}

fb_status report_data_locate(const char *dir, char *cifar_dir, size_t size)
{
    char sub[STAGE_PATH + 32];
    snprintf(sub, sizeof sub, "%s/cifar-10-batches-bin", dir);
    if (has_test_batch(sub)) {
        snprintf(cifar_dir, size, "%s", sub);
        return FB_OK;
    }
    if (has_test_batch(dir)) {
        snprintf(cifar_dir, size, "%s", dir);
        return FB_OK;
    }
    return fb_error(FB_ERR_IO, "%s: no CIFAR-10 here (need data_batch_1..5.bin and test_batch.bin in it or in "
                    "%s/cifar-10-batches-bin); fetch it with `sh scripts/fetch-data.sh cifar10 %s` or `make data`",
                    dir, dir, dir);
}

/* Writes the first `count` images of split to path (count 0: nothing). */
static fb_status write_subset(const char *cifar_dir, fb_split split, int count, const char *path)
{
    fb_dataset data;
    FB_TRY(fb_cifar10_read(cifar_dir, split, &data));
    fb_status status = FB_OK;
    if (count > data.count)
        status = fb_error(FB_ERR_USAGE, "%s: the preset wants %d %s images, the split has %d", cifar_dir, count,
                          split == FB_SPLIT_TRAIN ? "training" : "test", data.count);
    if (status == FB_OK) {
        fb_dataset first = data;
        first.count = count;
        status = fb_cifar10_write(path, &first);
    }
    fb_dataset_free(&data);
    return status;
}

static fb_status data_stage_run(const report_stage *stage, void *context)
{
    const report_data *data = context;
    char hex[65], escaped[STAGE_PATH * 2];
    int official = 1;
    char json[8192];
    size_t used = 0;
    fb_json_escape(data->cifar_dir, escaped, sizeof escaped);
    used += (size_t)snprintf(json + used, sizeof json - used, "{\n  \"folder\": %s,\n  \"files\": [", escaped);
    for (int i = 0; i < 6; i++) {
        char path[STAGE_PATH + 32];
        snprintf(path, sizeof path, "%s/%s", data->cifar_dir, official_files[i].name);
        FB_TRY(stage_file_sha256(path, hex));
        int match = strcmp(hex, official_files[i].sha256) == 0;
        official &= match;
        used += (size_t)snprintf(json + used, sizeof json - used,
                                 "%s\n    {\"name\": \"%s\", \"sha256\": \"%s\", \"official\": %s}", i ? "," : "",
                                 official_files[i].name, hex, match ? "true" : "false");
    }
    /* both splits through the reader: exact sizes and label ranges */
    fb_dataset check;
    char folder[STAGE_PATH];
    snprintf(folder, sizeof folder, "%s", data->record_path);
    *strrchr(folder, '/') = '\0';
    FB_TRY(cli_make_dirs(folder));
    FB_TRY(fb_cifar10_read(data->cifar_dir, FB_SPLIT_TEST, &check));
    fb_dataset_free(&check);
    if (data->train_images)
        FB_TRY(write_subset(data->cifar_dir, FB_SPLIT_TRAIN, data->train_images, data->train_path));
    else {
        FB_TRY(fb_cifar10_read(data->cifar_dir, FB_SPLIT_TRAIN, &check));
        fb_dataset_free(&check);
    }
    if (data->test_images)
        FB_TRY(write_subset(data->cifar_dir, FB_SPLIT_TEST, data->test_images, data->test_path));
    if (data->e4_train_images && data->e4_train_images != data->train_images)
        FB_TRY(write_subset(data->cifar_dir, FB_SPLIT_TRAIN, data->e4_train_images, data->e4_train_path));
    snprintf(json + used, sizeof json - used,
             "\n  ],\n  \"official\": %s,\n  \"train_images\": %d,\n  \"test_images\": %d\n}\n",
             official ? "true" : "false", data->train_images ? data->train_images : 50000,
             data->test_images ? data->test_images : 10000);
    if (!official)
        fprintf(stderr, "freqbias report: %s is NOT the official CIFAR-10 (SHA-256 differ): the report says so\n",
                data->cifar_dir);
    (void)stage;
    return cli_write_text(data->record_path, json);
}

void report_data_stage(report_stage *stage, report_data *data, const report_preset *preset, const char *out_dir)
{
    data->train_images = preset->train_images;
    data->test_images = preset->test_images;
    snprintf(data->record_path, sizeof data->record_path, "%s/data/data.json", out_dir);
    if (preset->train_images)
        snprintf(data->train_path, sizeof data->train_path, "%s/data/train.bin", out_dir);
    else
        snprintf(data->train_path, sizeof data->train_path, "%s", data->cifar_dir);
    if (preset->test_images)
        snprintf(data->test_path, sizeof data->test_path, "%s/data/test.bin", out_dir);
    else
        snprintf(data->test_path, sizeof data->test_path, "%s", data->cifar_dir);
    /* the E4 protocol's training images: the same file when the count is the same */
    data->e4_train_images = preset->e4.train_images;
    int e4_own_file = data->e4_train_images && data->e4_train_images != data->train_images;
    if (data->e4_train_images == data->train_images)
        snprintf(data->e4_train_path, sizeof data->e4_train_path, "%s", data->train_path);
    else if (e4_own_file)
        snprintf(data->e4_train_path, sizeof data->e4_train_path, "%s/data/train_e4.bin", out_dir);
    else
        snprintf(data->e4_train_path, sizeof data->e4_train_path, "%s", data->cifar_dir);
    stage_init(stage, "data", "verify CIFAR-10 (sizes, labels, SHA-256 against the official release) and "
                              "take the preset's first training and test images");
    stage->function = data_stage_run;
    stage->context = data;
    stage_arg(stage, "(in-process) verify-and-subset");
    stage_arg(stage, "--data");
    stage_arg(stage, "%s", data->cifar_dir);
    stage_arg(stage, "--train-images");
    stage_arg(stage, "%d", preset->train_images ? preset->train_images : 50000);
    stage_arg(stage, "--test-images");
    stage_arg(stage, "%d", preset->test_images ? preset->test_images : 10000);
    if (e4_own_file) {
        stage_arg(stage, "--e4-train-images");
        stage_arg(stage, "%d", data->e4_train_images);
    }
    for (int i = 0; i < 6; i++)
        stage_input(stage, "%s/%s", data->cifar_dir, official_files[i].name);
    stage_output(stage, "%s", data->record_path);
    if (preset->train_images)
        stage_output(stage, "%s", data->train_path);
    if (preset->test_images)
        stage_output(stage, "%s", data->test_path);
    if (e4_own_file)
        stage_output(stage, "%s", data->e4_train_path);
}

int report_data_official(const char *record_path)
{
    FILE *f = fopen(record_path, "rb");
    if (!f)
        return -1;
    char text[8192];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    fb_json *root = NULL;
    if (fb_json_parse(text, n, &root, NULL, 0) != FB_OK)
        return -1;
    const fb_json *flag = fb_json_get(root, "official");
    int official = fb_json_type_of(flag) == FB_JSON_BOOL ? fb_json_bool(flag) : -1;
    fb_json_free(root);
    return official;
}

static fb_status pack_stage_run(const report_stage *stage, void *context)
{
    const report_pack *pack = context;
    const char *paths[5];
    for (int i = 0; i < stage->input_count && i < 5; i++)
        paths[i] = stage->inputs[i];
    fb_dataset data;
    FB_TRY(fb_cifar10_read_files(paths, stage->input_count < 5 ? stage->input_count : 5, &data));
    fb_status status = fb_cifar10_write(pack->out_file, &data);
    fb_dataset_free(&data);
    return status;
}

void report_pack_stage(report_stage *stage, report_pack *pack, const char *name, const char *title)
{
    stage_init(stage, name, title);
    stage->function = pack_stage_run;
    stage->context = pack;
    stage_arg(stage, "(in-process) pack");
    stage_arg(stage, "%s", pack->dir);
    stage_arg(stage, "--files");
    stage_arg(stage, "%d", pack->files);
    stage_arg(stage, "--out");
    stage_arg(stage, "%s", pack->out_file);
    for (int i = 0; i < pack->files && i < 5; i++)
        stage_input(stage, "%s/data_batch_%d.bin", pack->dir, i + 1);
    stage_output(stage, "%s", pack->out_file);
}

int report_generated_train_path(const char *dir, int images, const char *packed_file, char *out, size_t size)
{
    if (images <= 0 || images == 50000) {
        snprintf(out, size, "%s", dir); /* the full official layout */
        return 0;
    }
    if (images <= 10000) {
        snprintf(out, size, "%s/data_batch_1.bin", dir);
        return 0;
    }
    snprintf(out, size, "%s", packed_file);
    return 1;
}
