/* report_figures.c — combined figures of the report (list in
 * report_figures.h), drawn from the stages' CSV/npy files and the datasets.
 *
 * The sample grids show pixels in [0,1]: a high-pass image has values
 * around 0 (negative and positive), so for display every filtered image is
 * min-max normalised per image and channel (C4), as the seed stored its
 * filtered sets; the evaluations themselves use --norm none.
 */
#include "report_figures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_util.h"
#include "freqbias/plot.h"
#include "freqbias/spectrum.h"
#include "report_paper.h"

int report_stage_finished(const report_pipeline *p, const char *name)
{
    const report_stage *s = report_pipeline_stage(p, name);
    return s && (s->action == STAGE_RAN || s->action == STAGE_SKIPPED || s->action == STAGE_RESUMED);
}

/* Only results of stages that finished in this run (ran, resumed, or
 * skipped because their record matched): files left from an earlier run
 * with other settings are never shown as this run's. */
void report_results_load(const report_pipeline *p, report_results *res)
{
    memset(res, 0, sizeof *res);
    res->bands = 20;
    res->seeds = p->seeds;
    int slots = p->e4_model == MODEL_E4_BASELINE ? MODEL_SLOTS : MODEL_COUNT;
    for (int m = 0; m < slots; m++)
        for (int k = 0; k < p->seeds; k++) {
            const report_model *model = &p->models[m][k];
            model_results *r = &res->m[m][k];
            const report_stage *stage = report_model_stage(p, model, "sweep");
            r->have_sweep = stage && report_stage_finished(p, stage->name) && sweep_load(model->sweep, &r->sweep) == FB_OK;
            stage = report_model_stage(p, model, "train");
            int trained = stage && report_stage_finished(p, stage->name);
            r->have_gradspec = trained && gradspec_load(model->run, &r->gradspec) == FB_OK;
            r->have_log = trained && train_log_load(model->run, &r->log) == FB_OK && r->log.epochs > 0;
            stage = report_model_stage(p, model, "spectrum");
            if (!stage || !report_stage_finished(p, stage->name))
                continue;
            char path[1200];
            int n1 = 0, n2 = 0;
            snprintf(path, sizeof path, "%s/spectrum_mean.npy", model->spectrum);
            fb_status a = npy_floats_load(path, r->image_density, GRADSPEC_MAX_BANDS, &n1);
            snprintf(path, sizeof path, "%s/gradient_density.npy", model->spectrum);
            fb_status b = npy_floats_load(path, r->gradient_density, GRADSPEC_MAX_BANDS, &n2);
            r->have_density = a == FB_OK && b == FB_OK && n1 == n2 && n1 > 0;
            if (r->have_density)
                res->bands = n1;
        }
}

void results_values(const report_results *res, int model, result_kind what, const char *freq, double r,
                    double values[REPORT_MAX_SEEDS])
{
    for (int k = 0; k < REPORT_MAX_SEEDS; k++) {
        const model_results *m = &res->m[model][k];
        values[k] = NAN;
        if (k >= res->seeds)
            continue;
        int from_log = what == RESULT_TRAIN_TOP1 || what == RESULT_TEST_TOP1;
        if (from_log ? !m->have_log : !m->have_sweep)
            continue;
        const sweep_row *row = from_log || what == RESULT_PEARSON ? NULL : sweep_find(&m->sweep, freq, r);
        if (!from_log && what != RESULT_PEARSON && !row)
            continue;
        switch (what) {
        case RESULT_TOP1: values[k] = row->top1; break;
        case RESULT_TOP5: values[k] = row->top5; break;
        case RESULT_INTER: values[k] = row->inter; break;
        case RESULT_INTRA: values[k] = row->intra; break;
        case RESULT_RATIO: values[k] = row->ratio; break;
        case RESULT_PEARSON: values[k] = sweep_pearson(&m->sweep); break;
        case RESULT_TRAIN_TOP1: values[k] = m->log.train_acc[m->log.epochs - 1]; break;
        case RESULT_TEST_TOP1: values[k] = m->log.test_acc[m->log.epochs - 1]; break;
        }
    }
}

stats_summary results_summary(const report_results *res, int model, result_kind what, const char *freq, double r)
{
    double values[REPORT_MAX_SEEDS];
    results_values(res, model, what, freq, r, values);
    return stats_of(values, res->seeds);
}

int results_sweeps(const report_results *res, int model)
{
    int n = 0;
    for (int k = 0; k < res->seeds; k++)
        n += res->m[model][k].have_sweep;
    return n;
}

int results_gradspecs(const report_results *res, int model)
{
    int n = 0;
    for (int k = 0; k < res->seeds; k++)
        n += res->m[model][k].have_gradspec;
    return n;
}

const sweep_result *results_any_sweep(const report_results *res, int model)
{
    for (int k = 0; k < res->seeds; k++)
        if (res->m[model][k].have_sweep)
            return &res->m[model][k].sweep;
    return NULL;
}

/* top-1 (what = 0) or inter-class variance (1) of baseline and HARS on
 * X_l and X_h against r: mean over seeds, error bars the std. */
static fb_status sweep_figure(const report_pipeline *p, const report_results *res, const char *path, int what)
{
    static const char *const names[2][2] = {{"baseline, low-pass X_l", "baseline, high-pass X_h"},
                                            {"HARS model, low-pass X_l", "HARS model, high-pass X_h"}};
    int models[2] = {MODEL_BASELINE, MODEL_HARS};
    double x[4][SWEEP_MAX_ROWS], y[4][SWEEP_MAX_ROWS], err[4][SWEEP_MAX_ROWS];
    fb_line_series series[4];
    int count = 0;
    for (int k = 0; k < 2; k++) {
        const sweep_result *s = results_any_sweep(res, models[k]);
        if (!s)
            continue;
        for (int f = 0; f < 2; f++) {
            int n = 0;
            for (int i = 0; i < s->count; i++)
                if (strcmp(s->rows[i].freq, f ? "high" : "low") == 0) {
                    stats_summary st = results_summary(res, models[k], what ? RESULT_INTER : RESULT_TOP1,
                                                       f ? "high" : "low", s->rows[i].r);
                    x[count][n] = s->rows[i].r;
                    err[count][n] = st.std;
                    y[count][n++] = st.mean;
                }
            series[count] = (fb_line_series){names[k][f], x[count], y[count], n, err[count]};
            count++;
        }
    }
    if (!count)
        return FB_OK;
    /* titles stay under ~60 characters: wider ones overflow the 900-px figure */
    const char *title = p->seeds > 1 ? (what ? "Feature discrimination (E1; bars: std over seeds)"
                                             : "Top-1 on filtered test images (E1, E4; bars: std)")
                                     : (what ? "Feature discrimination on filtered test images (E1)"
                                             : "Test accuracy on filtered test images (E1, E4)");
    fb_plot_labels labels = fb_plot_labels_default();
    labels.title = title;
    labels.x_label = "filter radius r (frequency bins from the DC component)";
    labels.y_label = what ? "inter-class variance of features" : "top-1 accuracy";
    stats_summary clean = results_summary(res, MODEL_BASELINE, what ? RESULT_INTER : RESULT_TOP1, "clean", 0);
    if (clean.n > 0) {
        labels.has_reference = 1;
        labels.reference = clean.mean;
        labels.reference_label = "baseline, clean test set";
    }
    if (!what) {
        labels.fixed_y = 1;
        labels.y_min = 0.0;
        labels.y_max = 1.0;
    }
    return fb_plot_lines(path, series, count, &labels);
}

static fb_status cdes_figure(const report_pipeline *p, const report_results *res, const char *path)
{
    static const int models[3] = {MODEL_SCR, MODEL_WCR, MODEL_BASELINE};
    static const char *const ours[3] = {"f_scr (measured)", "f_wcr (measured)", "f_baseline (measured)"};
    static const char *const theirs[3] = {"f_scr (paper)", "f_wcr (paper)", "f_baseline (paper)"};
    double x[PAPER_CDES_RADII], y[6][PAPER_CDES_RADII], err[3][PAPER_CDES_RADII];
    fb_line_series series[6];
    int count = 0;
    for (int r = 0; r < PAPER_CDES_RADII; r++)
        x[r] = paper_cdes_radii[r];
    for (int k = 0; k < 3; k++) {
        if (!results_sweeps(res, models[k]))
            continue;
        for (int r = 0; r < PAPER_CDES_RADII; r++) {
            stats_summary st = results_summary(res, models[k], RESULT_TOP1, "high", x[r]);
            y[count][r] = st.mean;
            err[count][r] = st.std;
        }
        series[count] = (fb_line_series){ours[k], x, y[count], PAPER_CDES_RADII, err[count]};
        count++;
    }
    if (!count)
        return FB_OK;
    for (int k = 0; k < 3; k++) {
        for (int r = 0; r < PAPER_CDES_RADII; r++)
            y[count][r] = paper_cdes_top1[k][r] / 100.0;
        series[count] = (fb_line_series){theirs[k], x, y[count], PAPER_CDES_RADII, NULL};
        count++;
    }
    fb_plot_labels labels = fb_plot_labels_default();
    labels.title = p->seeds > 1 ? "CDES: top-1 on X_h (E3; bars: std over seeds)"
                                : "CDES: top-1 on high-pass test images (E3)";
    labels.x_label = "high-pass radius r (frequency bins); own test split";
    labels.y_label = "top-1 accuracy";
    labels.fixed_y = 1;
    labels.y_min = 0.0;
    labels.y_max = 1.0;
    return fb_plot_lines(path, series, count, &labels);
}

/* Image density and mean gradient density over the seeds of each model. */
static fb_status density_figure(const report_results *res, const char *path)
{
    static const int models[4] = {MODEL_BASELINE, MODEL_SCR, MODEL_WCR, MODEL_HARS};
    static const char *const names[4][2] = {{"CIFAR-10 images", "f_baseline gradient"},
                                            {"SCR images", "f_scr gradient"},
                                            {"WCR images", "f_wcr gradient"},
                                            {"HARS images", "f_hars gradient"}};
    double x[GRADSPEC_MAX_BANDS], y[8][GRADSPEC_MAX_BANDS];
    fb_line_series series[8];
    int count = 0;
    for (int b = 0; b < res->bands; b++)
        x[b] = b;
    for (int k = 0; k < 4; k++) {
        int seeds = 0;
        for (int s = 0; s < res->seeds; s++)
            seeds += res->m[models[k]][s].have_density;
        if (!seeds)
            continue;
        for (int g = 0; g < 2; g++) {
            for (int b = 0; b < res->bands; b++) {
                y[count][b] = 0.0;
                for (int s = 0; s < res->seeds; s++)
                    if (res->m[models[k]][s].have_density)
                        y[count][b] += (g ? res->m[models[k]][s].gradient_density[b]
                                          : res->m[models[k]][s].image_density[b]) / seeds;
            }
            series[count] = (fb_line_series){names[k][g], x, y[count], res->bands, NULL};
            count++;
        }
    }
    if (!count)
        return FB_OK;
    fb_plot_labels labels = fb_plot_labels_default();
    labels.title = res->seeds > 1 ? "Images vs input gradients (gradient: seed mean)"
                                  : "Spectral density: images vs input gradients";
    labels.x_label = "frequency band (azimuthal average, band b = radius b+1)";
    labels.y_label = "density (per-image min-max)";
    labels.fixed_y = 1;
    labels.y_min = 0.0;
    labels.y_max = 1.0;
    return fb_plot_lines(path, series, count, &labels);
}

/* Clean test top-1 per epoch: mean over seeds, bars the std. */
static fb_status training_figure(const report_pipeline *p, const report_results *res, const char *path)
{
    double x[MODEL_COUNT][TRAIN_LOG_MAX], y[MODEL_COUNT][TRAIN_LOG_MAX], err[MODEL_COUNT][TRAIN_LOG_MAX];
    fb_line_series series[MODEL_COUNT];
    static const char *const names[MODEL_COUNT] = {"f_baseline (CIFAR-10 test)", "f_hars (CIFAR-10 test)",
                                                   "f_scr (SCR test)", "f_wcr (WCR test)"};
    int count = 0;
    for (int m = 0; m < MODEL_COUNT; m++) {
        int epochs = TRAIN_LOG_MAX, seeds = 0;
        for (int k = 0; k < res->seeds; k++)
            if (res->m[m][k].have_log) {
                epochs = res->m[m][k].log.epochs < epochs ? res->m[m][k].log.epochs : epochs;
                seeds++;
            }
        if (!seeds)
            continue;
        for (int e = 0; e < epochs; e++) {
            double values[REPORT_MAX_SEEDS];
            for (int k = 0; k < res->seeds; k++)
                values[k] = res->m[m][k].have_log ? res->m[m][k].log.test_acc[e] : NAN;
            stats_summary st = stats_of(values, res->seeds);
            x[count][e] = e + 1;
            y[count][e] = st.mean;
            err[count][e] = st.std;
        }
        series[count] = (fb_line_series){names[m], x[count], y[count], epochs, err[count]};
        count++;
    }
    if (!count)
        return FB_OK;
    fb_plot_labels labels = fb_plot_labels_default();
    labels.title = p->seeds > 1 ? "Clean test accuracy in training (bars: std)"
                                : "Clean test accuracy during training";
    labels.x_label = "epoch";
    labels.y_label = "top-1 accuracy (own test split)";
    labels.fixed_y = 1;
    labels.y_min = 0.0;
    labels.y_max = 1.0;
    return fb_plot_lines(path, series, count, &labels);
}

#define SAMPLE_COLUMNS 8

/* The first SAMPLE_COLUMNS images of a dataset path (file or folder). */
static fb_status first_images(const char *path, fb_split split, fb_dataset *data)
{
    FB_TRY(cli_load_dataset(NULL, "cifar10", path, split, data));
    if (data->count > SAMPLE_COLUMNS)
        data->count = SAMPLE_COLUMNS;
    return FB_OK;
}

static fb_status filtered_samples_figure(const report_pipeline *p, const char *path)
{
    static const double radii[4] = {4, 8, 12, 16};
    fb_dataset data;
    FB_TRY(first_images(p->data.test_path, FB_SPLIT_TEST, &data));
    int n = data.count, rows = 9;
    size_t image = (size_t)data.channels * data.height * data.width;
    float *grid = calloc((size_t)rows * SAMPLE_COLUMNS * image, sizeof(float));
    char captions[9 * SAMPLE_COLUMNS][32];
    const char *caption_pointers[9 * SAMPLE_COLUMNS];
    fb_status status = grid ? FB_OK : fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    for (int row = 0; status == FB_OK && row < rows; row++) {
        float *filtered = NULL;
        if (row == 0) {
            snprintf(captions[0], sizeof captions[0], "original");
            filtered = malloc((size_t)n * image * sizeof(float));
            if (filtered)
                fb_u8_to_unit(filtered, data.pixels, (size_t)n * image);
            else
                status = fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
        } else {
            fb_freq freq = row <= 4 ? FB_FREQ_LOW : FB_FREQ_HIGH;
            double r = radii[(row - 1) % 4];
            snprintf(captions[row * SAMPLE_COLUMNS], sizeof captions[0], "%s r=%g", row <= 4 ? "low" : "high", r);
            status = fb_filter_dataset(&data, freq, r, 0.0, FB_NORM_MINMAX, NULL, &filtered, NULL);
        }
        if (status == FB_OK)
            memcpy(grid + (size_t)row * SAMPLE_COLUMNS * image, filtered, (size_t)n * image * sizeof(float));
        free(filtered);
        for (int c = 0; c < SAMPLE_COLUMNS; c++)
            caption_pointers[row * SAMPLE_COLUMNS + c] = c == 0 ? captions[row * SAMPLE_COLUMNS] : "";
    }
    if (status == FB_OK)
        status = fb_plot_image_grid(path, grid, rows * SAMPLE_COLUMNS, data.channels, data.height, data.width,
                                    SAMPLE_COLUMNS, 3, caption_pointers,
                                    "Test images: original, low-pass X_l and high-pass X_h (display: min-max)");
    free(grid);
    fb_dataset_free(&data);
    return status;
}

static fb_status dataset_samples_figure(const report_pipeline *p, const char *path)
{
    const char *sources[4] = {p->data.train_path, p->models[MODEL_HARS][0].train_data,
                              p->models[MODEL_SCR][0].train_data, p->models[MODEL_WCR][0].train_data};
    static const char *const names[4] = {"CIFAR-10", "HARS", "SCR", "WCR"};
    size_t image = 3 * 32 * 32;
    float *grid = calloc(4 * SAMPLE_COLUMNS * image, sizeof(float));
    const char *captions[4 * SAMPLE_COLUMNS];
    if (!grid)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    int rows = 0;
    static const char *const stages[4] = {"data", "hars-build", "scr-data", "wcr-data"};
    for (int k = 0; k < 4; k++) {
        fb_dataset data;
        if (!report_stage_finished(p, stages[k]) || first_images(sources[k], FB_SPLIT_TRAIN, &data) != FB_OK)
            continue; /* not generated (its stage did not run) */
        if (data.channels == 3 && data.height == 32 && data.width == 32 && data.count == SAMPLE_COLUMNS) {
            fb_u8_to_unit(grid + (size_t)rows * SAMPLE_COLUMNS * image, data.pixels, SAMPLE_COLUMNS * image);
            for (int c = 0; c < SAMPLE_COLUMNS; c++)
                captions[rows * SAMPLE_COLUMNS + c] = c == 0 ? names[k] : "";
            rows++;
        }
        fb_dataset_free(&data);
    }
    fb_status status = FB_OK;
    if (rows)
        status = fb_plot_image_grid(path, grid, rows * SAMPLE_COLUMNS, 3, 32, 32, SAMPLE_COLUMNS, 3, captions,
                                    "The first training images of each dataset (same index per column)");
    free(grid);
    return status;
}

fb_status report_figures_draw(const report_pipeline *p, const report_results *res, const char *dir, int *drawn)
{
    char path[1200];
    *drawn = 0;
    FB_TRY(cli_make_dirs(dir));
    /* A figure function returns FB_OK without drawing when its data is
     * missing; the older run's figure must not stay then. On a write error
     * the older figure stays (the failed report does not rewrite report.md,
     * which still shows it). Every drawn figure replaces the old file by an
     * atomic rename, so an unchanged inode means "not drawn". */
#define DRAW(name, call)                                             \
    do {                                                             \
        snprintf(path, sizeof path, "%s/%s", dir, name);             \
        struct stat before, after;                                   \
        int existed = stat(path, &before) == 0;                      \
        FB_TRY(call);                                                \
        if (existed && stat(path, &after) == 0 && after.st_ino == before.st_ino && \
            after.st_dev == before.st_dev)                           \
            unlink(path); /* never leave an older run's figure */    \
        (*drawn)++;                                                  \
    } while (0)
    DRAW("accuracy_vs_r.png", sweep_figure(p, res, path, 0));
    DRAW("interclass_vs_r.png", sweep_figure(p, res, path, 1));
    DRAW("cdes_highpass.png", cdes_figure(p, res, path));
    DRAW("density.png", density_figure(res, path));
    DRAW("training.png", training_figure(p, res, path));
    if (report_stage_finished(p, "data"))
        DRAW("filtered_samples.png", filtered_samples_figure(p, path));
    DRAW("dataset_samples.png", dataset_samples_figure(p, path));
#undef DRAW
    return FB_OK;
}
