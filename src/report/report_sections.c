/* report_sections.c — the sections of the report about the paper's
 * experiments (E1 feature discrimination, E2 learning priority, E3 CDES, E4
 * HARS, E5 band-power KDEs), the Fourier heat maps and the sample grids:
 * each section's figures, its tables (every number mean ± sample std over
 * the seeds), the paper's claim or numbers, and the commands behind them.
 * The frame of the report and the shared helpers are in report_write.c.
 */
#include "report_writer.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_paper.h"
#include "report_stats.h"

/* The sets of a model's sweep, every number mean ± std over its seeds. */
static void sweep_table(writer *w, int model)
{
    const sweep_result *s = results_any_sweep(w->res, model);
    static const char *const headers[7] = {"set", "r", "top-1", "top-5", "inter-class var", "intra-class var",
                                           "ratio"};
    static const result_kind kinds[5] = {RESULT_TOP1, RESULT_TOP5, RESULT_INTER, RESULT_INTRA, RESULT_RATIO};
    static const char *const formats[5] = {"%.4f", "%.4f", "%.4g", "%.4g", "%.3f"};
    doc_table_begin(&w->doc, 7, headers);
    for (int i = 0; s && i < s->count; i++) {
        const sweep_row *row = &s->rows[i];
        char cells[7][64];
        snprintf(cells[0], 64, "%s", row->freq);
        if (strcmp(row->freq, "clean") == 0)
            snprintf(cells[1], 64, "–");
        else
            snprintf(cells[1], 64, "%g", row->r);
        for (int c = 0; c < 5; c++)
            writer_cell(w, cells[c + 2], 64, model, kinds[c], row->freq, row->r, formats[c]);
        const char *pointers[7] = {cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6]};
        doc_table_row(&w->doc, pointers);
    }
    doc_table_end(&w->doc);
}

void report_section_e1(writer *w)
{
    const report_results *res = w->res;
    doc_heading(&w->doc, 2, "E1 Feature discrimination: low- vs high-frequency test images (Fig. 3)");
    doc_paragraph(&w->doc,
                  "The baseline is tested on low-pass `X_l` and high-pass `X_h` copies of its test images (PAPER.md "
                  "C1 radial masks around the DC bin, real part fed as is). Inter-class variance is (1/C) Σ_c "
                  "‖μ_c − μ‖² of the penultimate (post-pool) features. **Paper:** Fig. 3 is published as a chart "
                  "only (ResNet-50); PAPER.md lists no numbers for it. Its claim: accuracy and inter-class "
                  "variance are high on `X_l` and low on `X_h`, and positively correlated.");
    char path[1200];
    snprintf(path, sizeof path, "%s/figures/accuracy_vs_r.png", w->p->out_dir);
    int bars = w->p->seeds > 1;
    writer_image(w, NULL, path, bars ? "Top-1 accuracy against filter radius r: baseline and HARS model, low- and high-pass "
                                "(mean, bars: std over seeds)"
                              : "Top-1 accuracy against filter radius r: baseline and HARS model, low- and high-pass");
    snprintf(path, sizeof path, "%s/figures/interclass_vs_r.png", w->p->out_dir);
    writer_image(w, NULL, path, bars ? "Inter-class variance of the penultimate features against r (mean, bars: std over "
                                "seeds)"
                              : "Inter-class variance of the penultimate features against r");
    if (results_sweeps(res, MODEL_BASELINE)) {
        sweep_table(w, MODEL_BASELINE);
        char pearson[64];
        writer_cell(w, pearson, sizeof pearson, MODEL_BASELINE, RESULT_PEARSON, "", 0, "%.3f");
        doc_paragraph(&w->doc, "Pearson correlation of top-1 and inter-class variance over these %d sets, per "
                               "seed, then mean ± std over %d seeds: %s.",
                      results_any_sweep(res, MODEL_BASELINE)->count, results_sweeps(res, MODEL_BASELINE), pearson);
    } else {
        doc_paragraph(&w->doc, "*(no sweep results: the baseline-sweep stages did not finish)*");
    }
    writer_produced_by_model(w, MODEL_BASELINE, "sweep", 1);
}

/* Up to 12 rows of a gradient-spectrum matrix, evenly spaced, with the peak band. */
static void gradspec_table(writer *w, const gradspec_result *g)
{
    static const int shown[8] = {0, 2, 5, 8, 11, 14, 17, 19};
    const char *headers[11] = {"row", "band 0", "2", "5", "8", "11", "14", "17", "19", "peak band", ""};
    doc_table_begin(&w->doc, 10, headers);
    int step = g->rows > 12 ? (g->rows + 10) / 11 : 1;
    for (int r = 0; r < g->rows; r += step) {
        int row = r;
        if (r + step >= g->rows)
            row = g->rows - 1; /* always show the last row */
        char cells[10][48];
        snprintf(cells[0], 48, "%s", row == 0 ? "before training" : "");
        if (row > 0)
            snprintf(cells[0], 48, "after epoch %d", row);
        for (int k = 0; k < 8; k++)
            writer_number(cells[k + 1], 48, shown[k] < g->bands ? gradspec_scaled(g, row, shown[k]) : NAN, "%.2f");
        snprintf(cells[9], 48, "%d", gradspec_peak_band(g, row));
        const char *pointers[10];
        for (int k = 0; k < 10; k++)
            pointers[k] = cells[k];
        doc_table_row(&w->doc, pointers);
        if (row == g->rows - 1)
            break;
    }
    doc_table_end(&w->doc);
}

void report_section_e2(writer *w)
{
    const report_results *res = w->res;
    doc_heading(&w->doc, 2, "E2 Learning priority: the gradient spectrum during training");
    doc_paragraph(&w->doc,
                  "After every epoch (and before the first), each classifier's input gradient on the first test "
                  "images of its test split (eval mode, true-label cross-entropy) → channel sum → |fftshift(fft2)| "
                  "→ the seed's 20-band azimuthal average (C2) → per-image min-max → mean; the heat map is "
                  "min-maxed as a whole (x = band, y = epoch, first at the bottom). **Paper:** a figure only; "
                  "the gradient energy starts in low bands and moves to mid bands (≈5–15) while high bands "
                  "(≈17–19) stay dark.");
    const report_model *base = &w->p->models[MODEL_BASELINE][0];
    char path[1200], stage[48], caption[160];
    report_model_stage_name(base, "train", stage);
    snprintf(path, sizeof path, "%s/gradspec.png", base->run);
    snprintf(caption, sizeof caption, "Baseline, seed %llu: gradient spectrum over training (bottom row: before "
             "training)", base->seed);
    writer_image(w, stage, path, caption);
    if (res->m[MODEL_BASELINE][0].have_gradspec) {
        doc_paragraph(&w->doc, "Seed %llu (the other seeds' spectra are in `runs/baseline/seed<S>/`; the table "
                               "after the next figure summarises all seeds):", base->seed);
        gradspec_table(w, &res->m[MODEL_BASELINE][0].gradspec);
    }
    writer_produced_by_model(w, MODEL_BASELINE, "train", 0);
    snprintf(path, sizeof path, "%s/figures/training.png", w->p->out_dir);
    writer_image(w, NULL, path, w->p->seeds > 1 ? "Clean test accuracy of the four classifiers per epoch (mean, bars: std "
                                           "over seeds)"
                                         : "Clean test accuracy of the four classifiers per epoch");
    static const char *const headers[6] = {"model", "peak band after epoch 1", "peak band at the end",
                                           "bands 17–19 at the end (0–1)", "final training top-1",
                                           "final clean top-1 (own test)"};
    doc_table_begin(&w->doc, 6, headers);
    for (int m = 0; m < MODEL_COUNT; m++) {
        double first[REPORT_MAX_SEEDS], last[REPORT_MAX_SEEDS], high[REPORT_MAX_SEEDS];
        for (int k = 0; k < w->p->seeds; k++) {
            const model_results *r = &res->m[m][k];
            const gradspec_result *g = &r->gradspec;
            first[k] = last[k] = high[k] = NAN;
            if (!r->have_gradspec || g->rows < 2)
                continue;
            first[k] = gradspec_peak_band(g, 1);
            last[k] = gradspec_peak_band(g, g->rows - 1);
            high[k] = 0.0;
            for (int b = g->bands - 3; b < g->bands; b++)
                high[k] += gradspec_scaled(g, g->rows - 1, b) / 3.0;
        }
        char cells[6][64];
        snprintf(cells[0], 64, "%s", w->p->models[m][0].label);
        stats_format(cells[1], 64, stats_of(first, w->p->seeds), "%.1f");
        stats_format(cells[2], 64, stats_of(last, w->p->seeds), "%.1f");
        stats_format(cells[3], 64, stats_of(high, w->p->seeds), "%.2f");
        writer_cell(w, cells[4], 64, m, RESULT_TRAIN_TOP1, "", 0, "%.4f");
        writer_cell(w, cells[5], 64, m, RESULT_TEST_TOP1, "", 0, "%.4f");
        const char *pointers[6] = {cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]};
        doc_table_row(&w->doc, pointers);
    }
    doc_table_end(&w->doc);
}

/* Every PNG in a folder (the CDES commands' own figures). */
static void folder_images(writer *w, const char *dir, const char *what)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char *names[32];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) && count < 32) {
        size_t len = strlen(entry->d_name);
        if (len > 4 && strcmp(entry->d_name + len - 4, ".png") == 0)
            names[count++] = strdup(entry->d_name);
    }
    closedir(d);
    for (int i = 0; i < count; i++)
        for (int j = i + 1; j < count; j++)
            if (names[i] && names[j] && strcmp(names[i], names[j]) > 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    /* at most two of each kind (density_*, samples_*, other): SCR has one
     * of each per class, and the report should stay readable */
    int shown[3] = {0, 0, 0}, hidden = 0;
    for (int i = 0; i < count; i++) {
        if (names[i]) {
            int kind = strncmp(names[i], "density", 7) == 0 ? 0 : strncmp(names[i], "samples", 7) == 0 ? 1 : 2;
            if (shown[kind] < 2) {
                char path[1400], caption[300];
                snprintf(path, sizeof path, "%s/%s", dir, names[i]);
                snprintf(caption, sizeof caption, "%s: %s", what, names[i]);
                writer_image(w, NULL, path, caption);
                shown[kind]++;
            } else {
                hidden++;
            }
        }
        free(names[i]);
    }
    if (hidden)
        doc_paragraph(&w->doc, "(%d more figures of the %s in `%s`.)", hidden, what, writer_relative(w, dir));
}

/* The header and the last row of a CSV (e.g. the kernels' loss.csv). */
static void last_row_table(writer *w, const char *path)
{
    csv_table table;
    if (csv_read(path, &table) != FB_OK || table.rows == 0 || table.cols > 12) {
        csv_free(&table);
        return;
    }
    const char *headers[12], *cells[12];
    for (int c = 0; c < table.cols; c++) {
        headers[c] = csv_header(&table, c);
        cells[c] = csv_cell(&table, table.rows - 1, c);
    }
    doc_paragraph(&w->doc, "Last row of `%s` (%d rows):", writer_relative(w, path), table.rows);
    doc_table_begin(&w->doc, table.cols, headers);
    doc_table_row(&w->doc, cells);
    doc_table_end(&w->doc);
    csv_free(&table);
}

void report_section_e3(writer *w)
{
    const report_results *res = w->res;
    const report_pipeline *p = w->p;
    doc_heading(&w->doc, 2, "E3 Hypothesis I, spectral density: CDES");
    doc_paragraph(&w->doc,
                  "Toy kernels (Conv 3→16→3, 7×7, linear) are trained to give their output a double-peaked "
                  "spectral density; SCR trains one kernel set per class, WCR one for all images. Each dataset "
                  "keeps the low frequencies (r < 10) of the image and takes the high ones from the kernel output. "
                  "f_scr and f_wcr are trained on them and tested on high-pass copies of **their own** test split; "
                  "f_baseline on CIFAR-10's. Paper numbers: PAPER.md E3 (top-1 %%).");
    static const int models[3] = {MODEL_SCR, MODEL_WCR, MODEL_BASELINE};
    const char *headers[PAPER_CDES_RADII + 1] = {"model (top-1 %)"};
    char radius_names[PAPER_CDES_RADII][16];
    for (int r = 0; r < PAPER_CDES_RADII; r++) {
        snprintf(radius_names[r], sizeof radius_names[r], "r=%g", paper_cdes_radii[r]);
        headers[r + 1] = radius_names[r];
    }
    doc_table_begin(&w->doc, PAPER_CDES_RADII + 1, headers);
    for (int k = 0; k < 3; k++) {
        for (int source = 0; source < 2; source++) {
            char cells[PAPER_CDES_RADII + 1][64];
            const char *pointers[PAPER_CDES_RADII + 1];
            snprintf(cells[0], 64, "%s (%s)", p->models[models[k]][0].label, source ? "paper" : "measured");
            for (int r = 0; r < PAPER_CDES_RADII; r++) {
                if (source) {
                    writer_number(cells[r + 1], 64, paper_cdes_top1[k][r], "%.1f");
                    continue;
                }
                stats_summary top1 = results_summary(res, models[k], RESULT_TOP1, "high", paper_cdes_radii[r]);
                top1.mean *= 100.0;
                top1.std *= 100.0;
                char value[48];
                stats_format(value, sizeof value, top1, "%.1f");
                snprintf(cells[r + 1], 64, top1.n ? "**%s**" : "%s", value);
            }
            for (int c = 0; c <= PAPER_CDES_RADII; c++)
                pointers[c] = cells[c];
            doc_table_row(&w->doc, pointers);
        }
    }
    doc_table_end(&w->doc);
    char path[1200];
    snprintf(path, sizeof path, "%s/figures/cdes_highpass.png", p->out_dir);
    writer_image(w, NULL, path, p->seeds > 1 ? "Top-1 on high-pass test images: measured (mean, bars: std over seeds) "
                                        "and published"
                                      : "Top-1 on high-pass test images: measured and published");
    for (int k = 0; k < 2; k++)
        writer_produced_by_model(w, models[k], "sweep", 1);
    doc_paragraph(&w->doc, "(f_baseline's row comes from the baseline-sweep stage of E1.)");
    doc_heading(&w->doc, 3, "Image vs gradient spectral density");
    doc_paragraph(&w->doc, "**Paper:** curves only: SCR's gradient density follows the images' double peak (its high "
                           "bands light up from about epoch 3), WCR's does not.");
    snprintf(path, sizeof path, "%s/figures/density.png", p->out_dir);
    writer_image(w, NULL, path, "Spectral density of each dataset's test images and of its model's input gradients");
    for (int k = 0; k < 2; k++) {
        const report_model *m = &p->models[models[k]][0];
        char caption[160];
        snprintf(path, sizeof path, "%s/gradspec.png", m->run);
        snprintf(caption, sizeof caption, "%s, seed %llu: gradient spectrum over training", m->label, m->seed);
        char stage[48];
        report_model_stage_name(m, "train", stage);
        writer_image(w, stage, path, caption);
    }
    doc_heading(&w->doc, 3, "Kernel training and the generated datasets");
    for (int k = 0; k < 2; k++) {
        const report_model *m = &p->models[models[k]][0];
        char stage[48], loss[1200];
        snprintf(stage, sizeof stage, "%s-kernels", m->key);
        snprintf(loss, sizeof loss, "%s/loss.csv", m->kernels);
        if (report_stage_finished(p, stage)) {
            last_row_table(w, loss);
            folder_images(w, m->kernels, k ? "WCR kernels" : "SCR kernels");
        }
        writer_produced_by(w, stage, NULL);
        snprintf(stage, sizeof stage, "%s-data", m->key);
        writer_produced_by(w, stage, NULL);
        snprintf(path, sizeof path, "%s/samples.png", m->dataset_dir);
        writer_image(w, stage, path, k ? "WCR samples (cdes-generate)" : "SCR samples (cdes-generate)");
    }
}

void report_section_e4(writer *w)
{
    const report_results *res = w->res;
    const report_pipeline *p = w->p;
    doc_heading(&w->doc, 2, "E4 Hypothesis II, class consistency: HARS");
    doc_paragraph(&w->doc,
                  "Every HARS training image keeps its own high frequencies (r ≥ %d) and takes the low frequencies "
                  "of an image of another class (each low part used once; `pairing.csv`), so only the high "
                  "frequencies are consistent with the label. f_hars is trained on it with the baseline's recipe "
                  "and tested on CIFAR-10. **Paper:** no published numbers; the claim is that f_hars relies more "
                  "on high frequencies (higher `X_h` accuracy than the baseline).", REPORT_HARS_RADIUS);
    int base = p->e4_model;
    char train[64], base_train[64];
    writer_cell(w, train, sizeof train, MODEL_HARS, RESULT_TRAIN_TOP1, "", 0, "%.3f");
    writer_cell(w, base_train, sizeof base_train, base, RESULT_TRAIN_TOP1, "", 0, "%.3f");
    doc_paragraph(&w->doc,
                  "Both models are trained with the preset's E4 protocol (see the preset table; %s). What the "
                  "verdict rests on: f_hars's final training top-1 %s (the baseline's %s); below %.1f the finding "
                  "is NOT TESTABLE, since a model that did not learn its training set cannot show what it learned.",
                  base == MODEL_E4_BASELINE ? "the baseline here is `e4-baseline`, trained for E4"
                                            : "the same as the main protocol, so the baseline is f_baseline",
                  train, base_train, REPORT_HARS_LEARNED);
    static const char *const headers[5] = {"r", "f_baseline on X_l", "f_hars on X_l", "f_baseline on X_h",
                                           "f_hars on X_h"};
    doc_table_begin(&w->doc, 5, headers);
    char cells[5][64];
    const char *pointers[5] = {cells[0], cells[1], cells[2], cells[3], cells[4]};
    snprintf(cells[0], 64, "clean");
    writer_cell(w, cells[1], 64, base, RESULT_TOP1, "clean", 0, "%.4f");
    writer_cell(w, cells[2], 64, MODEL_HARS, RESULT_TOP1, "clean", 0, "%.4f");
    snprintf(cells[3], 64, "–");
    snprintf(cells[4], 64, "–");
    doc_table_row(&w->doc, pointers);
    const sweep_result *rows = results_any_sweep(res, base);
    for (int i = 0; rows && i < rows->count; i++) {
        if (strcmp(rows->rows[i].freq, "low") != 0)
            continue;
        double r = rows->rows[i].r;
        snprintf(cells[0], 64, "%g", r);
        writer_cell(w, cells[1], 64, base, RESULT_TOP1, "low", r, "%.4f");
        writer_cell(w, cells[2], 64, MODEL_HARS, RESULT_TOP1, "low", r, "%.4f");
        writer_cell(w, cells[3], 64, base, RESULT_TOP1, "high", r, "%.4f");
        writer_cell(w, cells[4], 64, MODEL_HARS, RESULT_TOP1, "high", r, "%.4f");
        doc_table_row(&w->doc, pointers);
    }
    doc_table_end(&w->doc);
    char path[1200], stage[48];
    writer_produced_by_model(w, MODEL_HARS, "sweep", 1);
    if (base == MODEL_E4_BASELINE) {
        writer_produced_by_model(w, base, "train", 0);
        writer_produced_by_model(w, base, "sweep", 1);
    }
    writer_produced_by(w, "hars-build", NULL);
    const report_model *hars = &p->models[MODEL_HARS][0];
    snprintf(path, sizeof path, "%s/gradspec.png", hars->run);
    report_model_stage_name(hars, "train", stage);
    writer_image(w, stage, path, "f_hars (first seed): gradient spectrum over training");
    snprintf(path, sizeof path, "%s/spectrum.png", hars->spectrum);
    report_model_stage_name(hars, "spectrum", stage);
    writer_image(w, stage, path, "HARS training images: spectral density, and f_hars's (first seed) gradient density on them");
}

void report_section_e5(writer *w)
{
    const report_model *base = &w->p->models[MODEL_BASELINE][0];
    char stage[48];
    report_model_stage_name(base, "spectrum", stage);
    doc_heading(&w->doc, 2, "E5 Per-class distributions per band (Fig. 1)");
    doc_paragraph(&w->doc,
                  "Per test image and band, the log mean power of the grayscale spectrum (low r < 8, mid 8 ≤ r < 16, "
                  "high r ≥ 16 around DC); a Gaussian KDE per class (Scott's bandwidth). **Paper:** a figure only; "
                  "classes separate for low and mid bands and overlap for high. Also the per-class spectral "
                  "density with the baseline's gradient density.");
    static const char *const files[4] = {"kde_low.png", "kde_mid.png", "kde_high.png", "spectrum.png"};
    static const char *const captions[4] = {"Per-class KDE of log band power: low band",
                                            "Per-class KDE: mid band", "Per-class KDE: high band",
                                            ("Per-class spectral density of the test images and f_baseline's "
                                             "gradient density")};
    for (int i = 0; i < 4; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", base->spectrum, files[i]);
        writer_image(w, stage, path, captions[i]);
    }
    writer_produced_by_model(w, MODEL_BASELINE, "spectrum", 1);
}

void report_section_heatmaps(writer *w)
{
    const report_pipeline *p = w->p;
    char path[1200];
    doc_heading(&w->doc, 2, "Fourier heat maps and band-limited noise (beyond the paper)");
    doc_paragraph(&w->doc,
                  "Yin et al. (NeurIPS 2019): the top-1 error of each model on the first %d images of its own test "
                  "split when every channel of every image gets `r·eps·U(i,j)`, U the real Fourier basis image of "
                  "unit L2 norm at frequency (i, j), r = ±1 at random per image and channel, eps = 4, clipped to "
                  "[0, 1]; DC at the centre, axes in cycles per image, one colour range for all four panels. Then "
                  "Gaussian noise of the same L2 norm per channel restricted to each of the 20 radial bands of the "
                  "gradient spectrum (PAPER.md C2): where in the spectrum noise hurts, beside where the gradient "
                  "spectrum sits (E2). Conventions: README, \"Fourier heat maps\".",
                  p->preset->heatmap_images);
    snprintf(path, sizeof path, "%s/figures/fourier_heatmaps.png", p->out_dir);
    writer_image(w, NULL, path, p->seeds > 1 ? "Fourier heat maps of f_baseline, f_hars (top), f_scr, f_wcr (bottom), each "
                                        "the mean over its seeds"
                                      : "Fourier heat maps of f_baseline, f_hars (top), f_scr, f_wcr (bottom)");
    snprintf(path, sizeof path, "%s/figures/band_noise.png", p->out_dir);
    writer_image(w, NULL, path, p->seeds > 1 ? "Top-1 error under Gaussian noise restricted to one radial band, per model "
                                        "(mean, bars: std over seeds)"
                                      : "Top-1 error under Gaussian noise restricted to one radial band, per model");
    static const char *const headers[6] = {"model", "clean error", "heat map: mean error", "heat map: max error",
                                           "most harmful band", "its error"};
    doc_table_begin(&w->doc, 6, headers);
    for (int m = 0; m < MODEL_COUNT; m++) {
        const heatmap_result *h = &w->heatmaps[m];
        char cells[6][64];
        snprintf(cells[0], 64, "%s", p->models[m][0].label);
        int worst_band = -1;
        for (int b = 0; h->have && b < h->bands; b++)
            if (worst_band < 0 || h->band_errors[b] > h->band_errors[worst_band])
                worst_band = b;
        stats_format(cells[1], 64, stats_of(h->seed_clean, h->have), "%.4f");
        stats_format(cells[2], 64, stats_of(h->seed_mean, h->have), "%.4f");
        stats_format(cells[3], 64, stats_of(h->seed_max, h->have), "%.4f");
        writer_number(cells[4], 64, worst_band >= 0 ? worst_band : NAN, "%.0f");
        stats_summary worst = {0, NAN, NAN};
        if (worst_band >= 0)
            worst = (stats_summary){h->have, h->band_errors[worst_band], h->band_std[worst_band]};
        stats_format(cells[5], 64, worst, "%.4f");
        const char *pointers[6] = {cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]};
        doc_table_row(&w->doc, pointers);
    }
    doc_table_end(&w->doc);
    for (int m = 0; m < MODEL_COUNT; m++)
        writer_produced_by_model(w, m, "heatmap", 1);
}

void report_section_samples(writer *w)
{
    char path[1200];
    doc_heading(&w->doc, 2, "Samples");
    snprintf(path, sizeof path, "%s/figures/filtered_samples.png", w->p->out_dir);
    writer_image(w, NULL, path, "The first test images, low-pass and high-pass filtered at r = 4, 8, 12, 16 (min-max for display)");
    snprintf(path, sizeof path, "%s/figures/dataset_samples.png", w->p->out_dir);
    writer_image(w, NULL, path, "The first training images of CIFAR-10, HARS, SCR and WCR (the same index in each column)");
}
