/* report_pipeline.c — builds the command line, inputs and outputs of every
 * stage of `freqbias report` (the list is in report_pipeline.h).
 *
 * Every classifier is a CIFAR ResNet-18 trained with the same recipe
 * (`freqbias train`, the preset's width/epochs/milestones) and the online
 * gradient spectrum of the first G test images of its own test split;
 * every evaluation uses the LAST checkpoint (the best one is chosen on the
 * test set, which would flatter the clean number).
 *
 *   model       trains on                      tested on
 *   baseline    CIFAR-10 (first N)             CIFAR-10 test (first M)
 *   hars        HARS(first N), r = 12          CIFAR-10 test (first M)
 *   scr / wcr   CDES-generated first N         the generated test split (its OWN, as the paper)
 *
 * --backend goes to every stage that has work for it: always to train,
 * cdes-train and cdes-generate; to hars, sweep and spectrum only when it is
 * not the default cpu, so their recorded commands (and so the stage records
 * of reports made before they took --backend) stay as they were.
 *
 * Seeds: every classifier stage (train, sweep, spectrum, heat map) exists
 * once per seed, named <key>-<what>-s<seed> with its files under
 * <folder>/<key>/seed<seed>; train and fourier-heatmap get that seed. The
 * data-making stages run once with the first seed. E4 (HARS) trains f_hars
 * with the preset's E4 protocol; when that differs from the main protocol
 * the E4 baseline is its own model ("e4-baseline": train and sweep on the
 * E4 training images), else E4 reuses the baseline.
 *
 * The CDES commands (`cdes-train`, `cdes-generate`) follow the interface
 * agreed for issue 5: --subset N keeps the first N images per kernel set
 * (SCR: per class, from train then test; WCR: of all 60,000); generation
 * keeps labels and order, 10,000 images per batch file.
 */
#include "report_pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const report_group_names[REPORT_GROUPS] = {
    "data (verify, subsets)", "baseline (train, sweep, spectrum)", "HARS (build, train, sweep, spectrum)",
    "E4 baseline (train, sweep)", "CDES SCR (kernels, data, train, sweep, spectrum)",
    "CDES WCR (kernels, data, train, sweep, spectrum)", "heat maps (all models)", "figures (drawn by the report)"};
enum { GROUP_DATA, GROUP_BASELINE, GROUP_HARS, GROUP_E4, GROUP_SCR, GROUP_WCR, GROUP_HEATMAPS };

/* The stages one model needs per seed, and those that run once. */
enum { STAGES_PER_SEED = 18, STAGES_ONCE = 10 };

static report_stage *next_stage(report_pipeline *p)
{
    if (p->count >= p->capacity) {
        p->count = p->capacity + 1; /* reported by report_pipeline_build */
        return &p->stages[p->capacity];
    }
    return &p->stages[p->count++];
}

void report_model_stage_name(const report_model *m, const char *what, char name[48])
{
    if (strcmp(m->key, "baseline") == 0 && strcmp(what, "spectrum") == 0)
        snprintf(name, 48, "cifar-spectrum-s%llu", m->seed);
    else
        snprintf(name, 48, "%s-%s-s%llu", m->key, what, m->seed);
}

const report_stage *report_model_stage(const report_pipeline *p, const report_model *m, const char *what)
{
    char name[48];
    report_model_stage_name(m, what, name);
    return report_pipeline_stage(p, name);
}

/* --backend (every command that has it) and --seed. */
static void backend_option(report_stage *s, const report_pipeline *p)
{
    stage_arg(s, "--backend");
    stage_arg(s, "%s", p->backend);
}

/* --backend unless it is the default cpu (see the file's comment) */
static void backend_option_unless_cpu(report_stage *s, const report_pipeline *p)
{
    if (strcmp(p->backend, "cpu") != 0)
        backend_option(s, p);
}

static void seed_option(report_stage *s, unsigned long long seed)
{
    stage_arg(s, "--seed");
    stage_arg(s, "%llu", seed);
}

static void add_train(report_pipeline *p, report_model *m, const report_protocol *protocol, int group,
                      const char *title)
{
    char name[48];
    report_model_stage_name(m, "train", name);
    report_stage *s = next_stage(p);
    stage_init(s, name, title);
    s->group = group;
    stage_arg(s, "train");
    stage_arg(s, "--train-data");
    stage_arg(s, "%s", m->train_data);
    stage_arg(s, "--test-data");
    stage_arg(s, "%s", m->test_data);
    stage_arg(s, "--arch");
    stage_arg(s, "resnet18");
    stage_arg(s, "--width");
    stage_arg(s, "%d", protocol->width);
    stage_arg(s, "--epochs");
    stage_arg(s, "%d", protocol->epochs);
    if (protocol->lr != 0.1) {
        stage_arg(s, "--lr");
        stage_arg(s, "%g", protocol->lr);
    }
    if (protocol->lr_milestones[0]) {
        stage_arg(s, "--lr-milestones");
        stage_arg(s, "%s", protocol->lr_milestones);
    }
    if (!protocol->augment)
        stage_arg(s, "--no-augment");
    stage_arg(s, "--batch");
    stage_arg(s, "%d", p->preset->batch);
    stage_arg(s, "--gradspec");
    stage_arg(s, "%d", p->preset->gradspec_images);
    backend_option(s, p);
    seed_option(s, m->seed);
    stage_arg(s, "--out");
    stage_arg(s, "%s", m->run);
    snprintf(s->resume_dir, sizeof s->resume_dir, "%s", m->run);
    stage_input_dataset(s, m->train_data);
    stage_input_dataset(s, m->test_data);
    static const char *const outputs[] = {"last.safetensors", "log.csv", "gradspec.csv", "gradspec_mean.npy",
                                          "gradspec.png"};
    for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++)
        stage_output(s, "%s/%s", m->run, outputs[i]);
}

static void add_sweep(report_pipeline *p, report_model *m, const char *radii, int high_only, int group,
                      const char *title)
{
    char name[48];
    report_model_stage_name(m, "sweep", name);
    report_stage *s = next_stage(p);
    stage_init(s, name, title);
    s->group = group;
    stage_arg(s, "sweep");
    stage_arg(s, "--ckpt");
    stage_arg(s, "%s/last.safetensors", m->run);
    stage_arg(s, "--test-data");
    stage_arg(s, "%s", m->test_data);
    stage_arg(s, "--radii");
    stage_arg(s, "%s", radii);
    if (high_only) {
        stage_arg(s, "--freqs");
        stage_arg(s, "high");
    }
    backend_option_unless_cpu(s, p);
    stage_arg(s, "--out");
    stage_arg(s, "%s", m->sweep);
    stage_input(s, "%s/last.safetensors", m->run);
    stage_input_dataset(s, m->test_data);
    static const char *const outputs[] = {"sweep.csv", "sweep.json", "sweep_accuracy.png", "sweep_interclass.png"};
    for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++)
        stage_output(s, "%s/%s", m->sweep, outputs[i]);
}

/* Image spectral density of `images` and the gradient density of the
 * model's last checkpoint on them; with kde, Fig. 1's per-class KDEs. */
static void add_spectrum(report_pipeline *p, report_model *m, const char *images, int kde, int group,
                         const char *title)
{
    char name[48];
    report_model_stage_name(m, "spectrum", name);
    report_stage *s = next_stage(p);
    stage_init(s, name, title);
    s->group = group;
    stage_arg(s, "spectrum");
    stage_arg(s, "--input");
    stage_arg(s, "%s", images);
    stage_arg(s, "--ckpt");
    stage_arg(s, "%s/last.safetensors", m->run);
    stage_arg(s, "--n");
    stage_arg(s, "%d", p->preset->gradspec_images);
    if (kde) {
        stage_arg(s, "--per-class");
        stage_arg(s, "--kde");
    }
    backend_option_unless_cpu(s, p);
    stage_arg(s, "--out");
    stage_arg(s, "%s", m->spectrum);
    stage_input(s, "%s/last.safetensors", m->run);
    stage_input_dataset(s, images);
    stage_output(s, "%s/spectrum_mean.npy", m->spectrum);
    stage_output(s, "%s/gradient_density.npy", m->spectrum);
    stage_output(s, "%s/spectrum.png", m->spectrum);
    if (kde) {
        stage_output(s, "%s/kde.npy", m->spectrum);
        stage_output(s, "%s/kde_low.png", m->spectrum);
        stage_output(s, "%s/kde_mid.png", m->spectrum);
        stage_output(s, "%s/kde_high.png", m->spectrum);
    }
}

/* Yin et al.'s Fourier heat map of the model's last checkpoint and its
 * band-noise errors, on the first heatmap_images of its own test split. */
static void add_heatmap(report_pipeline *p, report_model *m)
{
    char name[48], title[160];
    report_model_stage_name(m, "heatmap", name);
    snprintf(title, sizeof title, "%s: Fourier heat map (Yin et al. 2019) and error under noise in each radial band",
             m->label);
    report_stage *s = next_stage(p);
    stage_init(s, name, title);
    s->group = GROUP_HEATMAPS;
    stage_arg(s, "fourier-heatmap");
    stage_arg(s, "--ckpt");
    stage_arg(s, "%s/last.safetensors", m->run);
    stage_arg(s, "--test-data");
    stage_arg(s, "%s", m->test_data);
    stage_arg(s, "--n");
    stage_arg(s, "%d", p->preset->heatmap_images);
    stage_arg(s, "--size");
    stage_arg(s, "%d", p->preset->heatmap_size);
    stage_arg(s, "--eps");
    stage_arg(s, "4");
    stage_arg(s, "--bands");
    backend_option_unless_cpu(s, p);
    seed_option(s, m->seed);
    stage_arg(s, "--out");
    stage_arg(s, "%s", m->heatmap);
    stage_input(s, "%s/last.safetensors", m->run);
    stage_input_dataset(s, m->test_data);
    static const char *const outputs[] = {"heatmap.npy", "heatmap.csv", "heatmap.png", "bands.npy", "bands.csv",
                                          "bands.png", "summary.json"};
    for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++)
        stage_output(s, "%s/%s", m->heatmap, outputs[i]);
}

static int batch_files(int images)
{
    return images > 0 ? (images + 9999) / 10000 : 5;
}

/* The CDES data stages of one mode (once, with the first seed); sets the
 * train and test data of m, the model of the first seed. */
static void add_cdes(report_pipeline *p, report_model *m, int index, const char *mode, int group)
{
    const report_preset *preset = p->preset;
    int scr = strcmp(mode, "scr") == 0;
    char name[48], title[160];
    /* kernels */
    snprintf(name, sizeof name, "%s-kernels", m->key);
    snprintf(title, sizeof title, "train the CDES %s toy kernels (%s)", scr ? "SCR" : "WCR",
             scr ? "one set per class" : "one set for all images");
    report_stage *s = next_stage(p);
    stage_init(s, name, title);
    s->group = group;
    stage_arg(s, "cdes-train");
    stage_arg(s, "--data");
    stage_arg(s, "%s", p->data.cifar_dir);
    stage_arg(s, "--dataset");
    stage_arg(s, "cifar10");
    stage_arg(s, "--mode");
    stage_arg(s, "%s", mode);
    stage_arg(s, "--epochs");
    stage_arg(s, "%d", preset->cdes_epochs);
    stage_arg(s, "--step-lr");
    stage_arg(s, "%d", preset->cdes_step_lr);
    stage_arg(s, "--batch");
    stage_arg(s, "%d", preset->cdes_batch);
    int subset = scr ? preset->cdes_scr_images_per_class : preset->cdes_wcr_images;
    if (subset) {
        stage_arg(s, "--subset");
        stage_arg(s, "%d", subset);
    }
    backend_option(s, p);
    seed_option(s, p->seed);
    stage_arg(s, "--out");
    stage_arg(s, "%s", m->kernels);
    stage_input_dataset(s, p->data.cifar_dir);
    stage_output(s, "%s/loss.csv", m->kernels);
    if (scr)
        for (int c = 0; c < 10; c++)
            stage_output(s, "%s/scr_class%d_last.safetensors", m->kernels, c);
    else
        stage_output(s, "%s/wcr_last.safetensors", m->kernels);
    /* generation */
    snprintf(name, sizeof name, "%s-data", m->key);
    snprintf(title, sizeof title, "generate the %s dataset: low frequencies of the image + high frequencies of "
             "the kernel output (r = 10)", scr ? "SCR" : "WCR");
    report_stage *g = next_stage(p);
    stage_init(g, name, title);
    g->group = group;
    stage_arg(g, "cdes-generate");
    stage_arg(g, "--kernels");
    stage_arg(g, "%s", m->kernels);
    stage_arg(g, "--mode");
    stage_arg(g, "%s", mode);
    stage_arg(g, "--data");
    stage_arg(g, "%s", p->data.cifar_dir);
    if (preset->train_images) {
        stage_arg(g, "--subset");
        stage_arg(g, "%d", preset->train_images);
    }
    if (preset->test_images) {
        stage_arg(g, "--test-subset");
        stage_arg(g, "%d", preset->test_images);
    }
    backend_option(g, p);
    seed_option(g, p->seed);
    stage_arg(g, "--out");
    stage_arg(g, "%s", m->dataset_dir);
    for (int i = 0; i < s->output_count; i++)
        if (strstr(s->outputs[i], ".safetensors"))
            stage_input(g, "%s", s->outputs[i]);
    stage_input_dataset(g, p->data.cifar_dir);
    int files = batch_files(preset->train_images);
    for (int f = 1; f <= files; f++)
        stage_output(g, "%s/data_batch_%d.bin", m->dataset_dir, f);
    stage_output(g, "%s/test_batch.bin", m->dataset_dir);
    stage_output(g, "%s/samples.png", m->dataset_dir);
    /* the classifier's files */
    char packed[REPORT_DIR + 32];
    snprintf(packed, sizeof packed, "%s/train_all.bin", m->dataset_dir);
    if (report_generated_train_path(m->dataset_dir, preset->train_images, packed, m->train_data,
                                    sizeof m->train_data)) {
        report_pack *pack = &p->packs[index];
        snprintf(pack->dir, sizeof pack->dir, "%s", m->dataset_dir);
        pack->files = files;
        snprintf(pack->out_file, sizeof pack->out_file, "%s", packed);
        snprintf(name, sizeof name, "%s-pack", m->key);
        report_stage *packing = next_stage(p);
        report_pack_stage(packing, pack, name, "join the generated batch files into one training file");
        packing->group = group;
    }
    /* through a local buffer: GCC's -Wrestrict (with ASan) cannot tell two fields of *m apart */
    char test_path[sizeof m->test_data];
    snprintf(test_path, sizeof test_path, "%s/test_batch.bin", m->dataset_dir);
    memcpy(m->test_data, test_path, sizeof test_path);
}

static void set_model(report_pipeline *p, int index, const char *key, const char *label)
{
    for (int k = 0; k < p->seeds; k++) {
        report_model *m = &p->models[index][k];
        m->key = key;
        m->label = label;
        m->seed = p->seed + (unsigned long long)k;
        snprintf(m->run, sizeof m->run, "%s/runs/%s/seed%llu", p->out_dir, key, m->seed);
        snprintf(m->sweep, sizeof m->sweep, "%s/sweeps/%s/seed%llu", p->out_dir, key, m->seed);
        snprintf(m->spectrum, sizeof m->spectrum, "%s/spectra/%s/seed%llu", p->out_dir, key, m->seed);
        snprintf(m->heatmap, sizeof m->heatmap, "%s/heatmaps/%s/seed%llu", p->out_dir, key, m->seed);
        snprintf(m->train_data, sizeof m->train_data, "%s", p->data.train_path);
        snprintf(m->test_data, sizeof m->test_data, "%s", p->data.test_path);
        if (index == MODEL_HARS || index == MODEL_SCR || index == MODEL_WCR)
            snprintf(m->dataset_dir, sizeof m->dataset_dir, "%s/datasets/%s", p->out_dir, key);
        if (index == MODEL_SCR || index == MODEL_WCR)
            snprintf(m->kernels, sizeof m->kernels, "%s/cdes/%s-kernels", p->out_dir, key);
    }
}

/* Every seed of a model gets the train/test data of its first seed. */
static void share_data(report_pipeline *p, int index)
{
    for (int k = 1; k < p->seeds; k++) {
        memcpy(p->models[index][k].train_data, p->models[index][0].train_data, STAGE_PATH);
        memcpy(p->models[index][k].test_data, p->models[index][0].test_data, STAGE_PATH);
    }
}

static void add_hars_build(report_pipeline *p, report_model *hars)
{
    report_stage *s = next_stage(p);
    stage_init(s, "hars-build", "build HARS: each image's own high frequencies + another class's low (r = 12)");
    s->group = GROUP_HARS;
    stage_arg(s, "hars");
    stage_arg(s, "--input");
    stage_arg(s, "%s", p->data.e4_train_path);
    stage_arg(s, "--r");
    stage_arg(s, "%d", REPORT_HARS_RADIUS);
    backend_option_unless_cpu(s, p);
    seed_option(s, p->seed);
    stage_arg(s, "--out");
    stage_arg(s, "%s", hars->dataset_dir);
    stage_input_dataset(s, p->data.e4_train_path);
    for (int f = 1; f <= batch_files(p->preset->e4.train_images); f++)
        stage_output(s, "%s/data_batch_%d.bin", hars->dataset_dir, f);
    stage_output(s, "%s/pairing.csv", hars->dataset_dir);
    snprintf(hars->train_data, sizeof hars->train_data, "%s", hars->dataset_dir);
}

fb_status report_pipeline_build(report_pipeline *p)
{
    if (p->seeds < 1 || p->seeds > REPORT_MAX_SEEDS)
        return fb_error(FB_ERR_USAGE, "report: --seeds must be 1..%d, not %d", REPORT_MAX_SEEDS, p->seeds);
    p->capacity = STAGES_ONCE + STAGES_PER_SEED * p->seeds;
    p->stages = calloc((size_t)p->capacity + 1, sizeof *p->stages);
    if (!p->stages)
        return fb_error(FB_ERR_NOMEM, "report: out of memory for the stage list");
    p->count = 0;
    const report_preset *preset = p->preset;
    report_protocol main_protocol = report_preset_main_protocol(preset);
    int e4_separate = !report_protocol_equal(&main_protocol, &preset->e4);
    p->e4_model = e4_separate ? MODEL_E4_BASELINE : MODEL_BASELINE;
    report_data_stage(next_stage(p), &p->data, preset, p->out_dir);
    set_model(p, MODEL_BASELINE, "baseline", "f_baseline");
    set_model(p, MODEL_HARS, "hars", "f_hars");
    set_model(p, MODEL_SCR, "scr", "f_scr");
    set_model(p, MODEL_WCR, "wcr", "f_wcr");
    if (e4_separate)
        set_model(p, MODEL_E4_BASELINE, "e4-baseline", "f_baseline (E4 protocol)");

    for (int k = 0; k < p->seeds; k++) {
        report_model *base = &p->models[MODEL_BASELINE][k];
        add_train(p, base, &main_protocol, GROUP_BASELINE,
                  "train the baseline ResNet-18 on CIFAR-10, with the online gradient spectrum (E2)");
        add_sweep(p, base, REPORT_SWEEP_RADII, 0, GROUP_BASELINE,
                  "accuracy and feature discrimination on low/high-pass test sets (E1)");
        add_spectrum(p, base, p->data.test_path, 1, GROUP_BASELINE,
                     "CIFAR-10 spectral density, the baseline's gradient density, per-class band-power KDE (E5)");
        add_heatmap(p, base);
    }

    add_hars_build(p, &p->models[MODEL_HARS][0]);
    share_data(p, MODEL_HARS);
    for (int k = 0; k < p->seeds; k++) {
        report_model *hars = &p->models[MODEL_HARS][k];
        add_train(p, hars, &preset->e4, GROUP_HARS,
                  "train f_hars on HARS (tested on CIFAR-10), with the online gradient spectrum (E4)");
        add_sweep(p, hars, REPORT_SWEEP_RADII, 0, GROUP_HARS, "f_hars on low/high-pass CIFAR-10 test sets (E4)");
        add_spectrum(p, hars, hars->dataset_dir, 0, GROUP_HARS,
                     "HARS spectral density and f_hars's gradient density");
        add_heatmap(p, hars);
        if (e4_separate) {
            report_model *e4 = &p->models[MODEL_E4_BASELINE][k];
            snprintf(e4->train_data, sizeof e4->train_data, "%s", p->data.e4_train_path);
            add_train(p, e4, &preset->e4, GROUP_E4,
                      "train the baseline with the E4 protocol (f_hars's), on CIFAR-10 (E4)");
            add_sweep(p, e4, REPORT_SWEEP_RADII, 0, GROUP_E4,
                      "the E4-protocol baseline on low/high-pass CIFAR-10 test sets (E4)");
        }
    }

    for (int c = 0; c < 2; c++) {
        int index = c ? MODEL_WCR : MODEL_SCR, group = c ? GROUP_WCR : GROUP_SCR;
        char title[160];
        add_cdes(p, &p->models[index][0], c, c ? "wcr" : "scr", group);
        share_data(p, index);
        for (int k = 0; k < p->seeds; k++) {
            report_model *m = &p->models[index][k];
            snprintf(title, sizeof title, "train %s on the %s dataset, with the online gradient spectrum (E3)",
                     m->label, c ? "WCR" : "SCR");
            add_train(p, m, &main_protocol, group, title);
            snprintf(title, sizeof title, "%s on high-pass copies of its own test split, r = 10..18 (E3 table)",
                     m->label);
            add_sweep(p, m, REPORT_CDES_RADII, 1, group, title);
            snprintf(title, sizeof title, "%s image spectral density and %s's gradient density (E3)",
                     c ? "WCR" : "SCR", m->label);
            add_spectrum(p, m, m->test_data, 0, group, title);
            add_heatmap(p, m);
        }
    }
    if (p->count > p->capacity)
        return fb_error(FB_ERR_USAGE, "report: more than %d stages", p->capacity);
    for (int i = 0; i < p->count; i++)
        if (p->stages[i].overflow)
            return fb_error(FB_ERR_USAGE, "report: stage %s has too many or too long arguments (paths too long?)",
                            p->stages[i].name);
    return FB_OK;
}

void report_pipeline_free(report_pipeline *p)
{
    free(p->stages);
    p->stages = NULL;
    p->count = p->capacity = 0;
}

const report_stage *report_pipeline_stage(const report_pipeline *p, const char *name)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->stages[i].name, name) == 0)
            return &p->stages[i];
    return NULL;
}
