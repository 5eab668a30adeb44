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
 * The CDES commands (`cdes-train`, `cdes-generate`) follow the interface
 * agreed for issue 5: --subset N keeps the first N images per kernel set
 * (SCR: per class, from train then test; WCR: of all 60,000); generation
 * keeps labels and order, 10,000 images per batch file.
 */
#include "report_pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static report_stage *next_stage(report_pipeline *p)
{
    return p->count < REPORT_MAX_STAGES ? &p->stages[p->count++] : NULL;
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

static void common_run_options(report_stage *s, const report_pipeline *p)
{
    stage_arg(s, "--seed");
    stage_arg(s, "%llu", (unsigned long long)p->seed);
}

static void add_train(report_pipeline *p, report_model *m, const char *title)
{
    const report_preset *preset = p->preset;
    char name[48];
    snprintf(name, sizeof name, "%s-train", m->key);
    report_stage *s = next_stage(p);
    stage_init(s, name, title);
    stage_arg(s, "train");
    stage_arg(s, "--train-data");
    stage_arg(s, "%s", m->train_data);
    stage_arg(s, "--test-data");
    stage_arg(s, "%s", m->test_data);
    stage_arg(s, "--arch");
    stage_arg(s, "resnet18");
    stage_arg(s, "--width");
    stage_arg(s, "%d", preset->width);
    stage_arg(s, "--epochs");
    stage_arg(s, "%d", preset->epochs);
    if (preset->lr_milestones[0]) {
        stage_arg(s, "--lr-milestones");
        stage_arg(s, "%s", preset->lr_milestones);
    }
    stage_arg(s, "--batch");
    stage_arg(s, "%d", preset->batch);
    stage_arg(s, "--gradspec");
    stage_arg(s, "%d", preset->gradspec_images);
    backend_option(s, p);
    common_run_options(s, p);
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

static void add_sweep(report_pipeline *p, report_model *m, const char *radii, int high_only, const char *title)
{
    char name[48];
    snprintf(name, sizeof name, "%s-sweep", m->key);
    report_stage *s = next_stage(p);
    stage_init(s, name, title);
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
static void add_spectrum(report_pipeline *p, report_model *m, const char *name, const char *images, int kde,
                         const char *title)
{
    report_stage *s = next_stage(p);
    stage_init(s, name, title);
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
    snprintf(name, sizeof name, "%s-heatmap", m->key);
    snprintf(title, sizeof title, "%s: Fourier heat map (Yin et al. 2019) and error under noise in each radial band",
             m->label);
    report_stage *s = next_stage(p);
    if (!s)
        return;
    stage_init(s, name, title);
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
    common_run_options(s, p);
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

static void add_cdes(report_pipeline *p, report_model *m, int index, const char *mode)
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
    common_run_options(s, p);
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
    common_run_options(g, p);
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
        report_pack_stage(next_stage(p), pack, name, "join the generated batch files into one training file");
    }
    /* through a local buffer: GCC's -Wrestrict (with ASan) cannot tell two fields of *m apart */
    char test_path[sizeof m->test_data];
    snprintf(test_path, sizeof test_path, "%s/test_batch.bin", m->dataset_dir);
    memcpy(m->test_data, test_path, sizeof test_path);
}

static void set_model(report_pipeline *p, int index, const char *key, const char *label)
{
    report_model *m = &p->models[index];
    m->key = key;
    m->label = label;
    snprintf(m->run, sizeof m->run, "%s/runs/%s", p->out_dir, key);
    snprintf(m->sweep, sizeof m->sweep, "%s/sweeps/%s", p->out_dir, key);
    snprintf(m->spectrum, sizeof m->spectrum, "%s/spectra/%s", p->out_dir, key);
    snprintf(m->heatmap, sizeof m->heatmap, "%s/heatmaps/%s", p->out_dir, key);
    snprintf(m->train_data, sizeof m->train_data, "%s", p->data.train_path);
    snprintf(m->test_data, sizeof m->test_data, "%s", p->data.test_path);
    if (index != MODEL_BASELINE)
        snprintf(m->dataset_dir, sizeof m->dataset_dir, "%s/datasets/%s", p->out_dir, key);
    if (index == MODEL_SCR || index == MODEL_WCR)
        snprintf(m->kernels, sizeof m->kernels, "%s/cdes/%s-kernels", p->out_dir, key);
}

fb_status report_pipeline_build(report_pipeline *p)
{
    p->stages = calloc(REPORT_MAX_STAGES, sizeof *p->stages);
    if (!p->stages)
        return fb_error(FB_ERR_NOMEM, "report: out of memory for the stage list");
    p->count = 0;
    report_data_stage(next_stage(p), &p->data, p->preset, p->out_dir);
    set_model(p, MODEL_BASELINE, "baseline", "f_baseline");
    set_model(p, MODEL_HARS, "hars", "f_hars");
    set_model(p, MODEL_SCR, "scr", "f_scr");
    set_model(p, MODEL_WCR, "wcr", "f_wcr");
    report_model *base = &p->models[MODEL_BASELINE], *hars = &p->models[MODEL_HARS];

    add_train(p, base, "train the baseline ResNet-18 on CIFAR-10, with the online gradient spectrum (E2)");
    add_sweep(p, base, REPORT_SWEEP_RADII, 0, "accuracy and feature discrimination on low/high-pass test sets (E1)");
    add_spectrum(p, base, "cifar-spectrum", p->data.test_path, 1,
                 "CIFAR-10 spectral density, the baseline's gradient density, per-class band-power KDE (E5)");
    add_heatmap(p, base);

    report_stage *s = next_stage(p);
    stage_init(s, "hars-build", "build HARS: each image's own high frequencies + another class's low (r = 12)");
    stage_arg(s, "hars");
    stage_arg(s, "--input");
    stage_arg(s, "%s", p->data.train_path);
    stage_arg(s, "--r");
    stage_arg(s, "%d", REPORT_HARS_RADIUS);
    backend_option_unless_cpu(s, p);
    common_run_options(s, p);
    stage_arg(s, "--out");
    stage_arg(s, "%s", hars->dataset_dir);
    stage_input_dataset(s, p->data.train_path);
    for (int f = 1; f <= batch_files(p->preset->train_images); f++)
        stage_output(s, "%s/data_batch_%d.bin", hars->dataset_dir, f);
    stage_output(s, "%s/pairing.csv", hars->dataset_dir);
    snprintf(hars->train_data, sizeof hars->train_data, "%s", hars->dataset_dir);
    add_train(p, hars, "train f_hars on HARS (tested on CIFAR-10), with the online gradient spectrum (E4)");
    add_sweep(p, hars, REPORT_SWEEP_RADII, 0, "f_hars on low/high-pass CIFAR-10 test sets (E4)");
    add_spectrum(p, hars, "hars-spectrum", hars->dataset_dir, 0, "HARS spectral density and f_hars's gradient density");
    add_heatmap(p, hars);

    for (int k = 0; k < 2; k++) {
        report_model *m = &p->models[k ? MODEL_WCR : MODEL_SCR];
        char title[160], name[48];
        add_cdes(p, m, k, k ? "wcr" : "scr");
        snprintf(title, sizeof title, "train %s on the %s dataset, with the online gradient spectrum (E3)", m->label,
                 k ? "WCR" : "SCR");
        add_train(p, m, title);
        snprintf(title, sizeof title, "%s on high-pass copies of its own test split, r = 10..18 (E3 table)",
                 m->label);
        add_sweep(p, m, REPORT_CDES_RADII, 1, title);
        snprintf(name, sizeof name, "%s-spectrum", m->key);
        snprintf(title, sizeof title, "%s image spectral density and %s's gradient density (E3)", k ? "WCR" : "SCR",
                 m->label);
        add_spectrum(p, m, name, m->test_data, 0, title);
        add_heatmap(p, m);
    }
    for (int i = 0; i < p->count; i++)
        if (p->stages[i].overflow)
            return fb_error(FB_ERR_USAGE, "report: stage %s has too many or too long arguments (paths too long?)",
                            p->stages[i].name);
    if (p->count >= REPORT_MAX_STAGES)
        return fb_error(FB_ERR_USAGE, "report: too many stages");
    return FB_OK;
}

void report_pipeline_free(report_pipeline *p)
{
    free(p->stages);
    p->stages = NULL;
    p->count = 0;
}

const report_stage *report_pipeline_stage(const report_pipeline *p, const char *name)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->stages[i].name, name) == 0)
            return &p->stages[i];
    return NULL;
}
