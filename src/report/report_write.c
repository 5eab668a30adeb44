/* report_write.c — the report itself: every figure and table of the
 * paper's experiments as this run measured them, the paper's published
 * numbers beside ours where PAPER.md has them, the preset's choices, the
 * five findings, and for every table the exact command (and checkpoint
 * with its SHA-256) that produced it.
 *
 * Sections: summary · preset and data · E1 feature discrimination ·
 * E2 learning priority · E3 CDES · E4 HARS · E5 band-power KDEs · Fourier
 * heat maps and band noise (beyond the paper) · samples · time per stage
 * group · stages. This file writes the frame (header, summary, preset,
 * times, stages, summary.txt, stages/summary.json) and the helpers every
 * section uses (report_writer.h); report_sections.c the experiments' sections.
 * A section whose stages did not finish says so and shows what exists.
 */
#include "report_write.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_util.h"
#include "freqbias/runtime.h"
#include "freqbias/version.h"
#include "report_stats.h"
#include "report_writer.h"


/* path relative to the report folder (paths inside it start with OUT/). */
const char *writer_relative(const writer *w, const char *path)
{
    size_t n = strlen(w->p->out_dir);
    return strncmp(path, w->p->out_dir, n) == 0 && path[n] == '/' ? path + n + 1 : path;
}

/* A figure; made_by names the stage that draws it (NULL: the report's own
 * figures, redrawn every time). A figure of a stage that did not finish in
 * this run is not shown, even if an older file is there. */
void writer_image(writer *w, const char *made_by, const char *path, const char *caption)
{
    if (made_by && !report_stage_finished(w->p, made_by)) {
        doc_paragraph(&w->doc, "*(figure `%s` not made in this run: stage `%s` did not finish)*", writer_relative(w, path),
                      made_by);
        return;
    }
    doc_image(&w->doc, writer_relative(w, path), caption);
}

void writer_number(char *out, size_t size, double value, const char *format)
{
    if (isnan(value))
        snprintf(out, size, "–");
    else
        snprintf(out, size, format, value);
}

/* "Produced by stage X (ran, 12.3 s):" + the command, and the checkpoint. */
void writer_produced_by(writer *w, const char *stage_name, const char *checkpoint)
{
    const report_stage *s = report_pipeline_stage(w->p, stage_name);
    if (!s)
        return;
    char command[8 * STAGE_PATH];
    stage_command_line(s, w->outcome->threads, command, sizeof command);
    if (s->action == STAGE_RAN || s->action == STAGE_SKIPPED || s->action == STAGE_RESUMED)
        doc_paragraph(&w->doc, "Produced by stage `%s` (%s; %.1f s of wall time when it ran):", s->name,
                      stage_action_name(s->action), s->wall_seconds);
    else
        doc_paragraph(&w->doc, "**Stage `%s` did not finish in this run (%s)**; its command:", s->name,
                      stage_action_name(s->action));
    doc_code(&w->doc, command);
    char hex[65];
    if (checkpoint && stage_file_sha256(checkpoint, hex) == FB_OK)
        doc_paragraph(&w->doc, "Checkpoint `%s` (SHA-256 `%.16s…`).", writer_relative(w, checkpoint), hex);
}

/* produced_by for a model's stage (what: train, sweep, spectrum, heatmap)
 * of the first seed, and a note naming the other seeds' stages. */
void writer_produced_by_model(writer *w, int model, const char *what, int with_checkpoint)
{
    const report_model *m = &w->p->models[model][0];
    char name[48], ckpt[1200];
    report_model_stage_name(m, what, name);
    snprintf(ckpt, sizeof ckpt, "%s/last.safetensors", m->run);
    writer_produced_by(w, name, with_checkpoint ? ckpt : NULL);
    if (w->p->seeds > 1)
        doc_paragraph(&w->doc, "Seeds %llu to %llu: the same command with `--seed S` (training and heat map) "
                               "and `seed<S>` in place of `seed%llu` in every path, stages `…-s<S>`.",
                      m->seed + 1, m->seed + (unsigned long long)w->p->seeds - 1, m->seed);
}

/* mean ± std of one sweep number over a model's seeds into out[size]. */
void writer_cell(writer *w, char *out, size_t size, int model, result_kind what, const char *freq, double r,
                       const char *format)
{
    stats_format(out, size, results_summary(w->res, model, what, freq, r), format);
}

static void section_header(writer *w)
{
    const report_pipeline *p = w->p;
    const report_preset *preset = p->preset;
    char stamp[64];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M UTC", &utc);
    double total = 0.0;
    for (int i = 0; i < p->count; i++)
        total += p->stages[i].wall_seconds;
    doc_paragraph(&w->doc,
                  "Reproduction of Lin, Gao, Sang, *Investigating and Explaining the Frequency Bias in Image "
                  "Classification* (IJCAI-22) by `freqbias %s` (profile %s, %s, backend `%s`, seeds %llu to %llu), "
                  "preset **%s**, written %s. Stage wall time in all: %.1f min (this invocation: %.1f min).",
                  FB_VERSION, FB_PROFILE, fb_runtime_note(), p->backend, p->seed,
                  p->seed + (unsigned long long)p->seeds - 1, preset->name, stamp, total / 60.0,
                  w->outcome->seconds / 60.0);
    doc_paragraph(&w->doc,
                  "**Seeds: K = %d.** Every classifier a finding compares (f_baseline, f_hars, f_scr, f_wcr%s) is "
                  "trained K times, with seeds %llu to %llu, and every stage that depends on a classifier (sweep, "
                  "spectrum, gradient spectrum, heat map) runs per seed. The data-making stages do not depend on "
                  "the classifier seed and run once, with seed %llu: the subsets, the HARS dataset, the CDES "
                  "kernels and the CDES datasets. Every number below is the mean ± the sample standard deviation "
                  "over the K seeds (just the value when K = 1), and the figures that compare models draw the "
                  "standard deviation as error bars.",
                  p->seeds, p->e4_model == MODEL_E4_BASELINE ? ", and the baseline with the E4 protocol" : "",
                  p->seed, p->seed + (unsigned long long)p->seeds - 1, p->seed);
    if (w->outcome->failed_stage >= 0)
        doc_paragraph(&w->doc,
                      "**INCOMPLETE: stage `%s` failed** — %s. The sections below show what the finished stages "
                      "measured. Rerun the same command to continue: finished stages are skipped.",
                      p->stages[w->outcome->failed_stage].name, w->outcome->message);
    if (strcmp(preset->name, "tiny") == 0)
        doc_paragraph(&w->doc, "**Preset tiny is a test of the pipeline**: a few hundred images and two epochs; "
                               "its numbers are noise and its verdicts mean nothing about the paper.");
}

static void section_summary(writer *w, const report_finding *findings)
{
    doc_heading(&w->doc, 2, "Summary: the findings, measured");
    doc_list_begin(&w->doc, 1);
    for (int i = 0; i < REPORT_FINDINGS; i++)
        doc_list_item(&w->doc, "%s", findings[i].line);
    doc_list_end(&w->doc);
    doc_paragraph(&w->doc, "Criteria (a verdict compares our numbers with each other over the %d seeds; it says "
                           "whether this run shows the paper's qualitative claim beyond the seed-to-seed spread, "
                           "not whether it matches the paper's numbers; with one seed no criterion can be "
                           "evaluated). Each line above gives the t statistic, the Welch–Satterthwaite degrees "
                           "of freedom and the one-sided p-value of every test it used:", w->p->seeds);
    doc_list_begin(&w->doc, 1);
    for (int i = 0; i < REPORT_FINDINGS; i++)
        doc_list_item(&w->doc, "%s.", findings[i].criterion);
    doc_list_end(&w->doc);
}

static void section_preset(writer *w)
{
    const report_preset *preset = w->p->preset;
    doc_heading(&w->doc, 2, "Preset `%s` and data", preset->name);
    doc_paragraph(&w->doc, "%s. Sized for: %s.", preset->purpose, preset->budget);
    static const char *const headers[2] = {"choice", "value"};
    doc_table_begin(&w->doc, 2, headers);
    char value[256];
#define ROW(name, ...)                                  \
    do {                                                \
        snprintf(value, sizeof value, __VA_ARGS__);     \
        const char *cells[2] = {name, value};           \
        doc_table_row(&w->doc, cells);                  \
    } while (0)
    if (preset->train_images)
        ROW("training images", "first %d of 50,000", preset->train_images);
    else
        ROW("training images", "all 50,000");
    if (preset->test_images)
        ROW("test images", "first %d of 10,000", preset->test_images);
    else
        ROW("test images", "all 10,000");
    ROW("classifiers", "CIFAR ResNet-18, width %d (the paper's: 64)", preset->width);
    ROW("epochs", "%d (the paper's: 200)", preset->epochs);
    ROW("learning rate", "0.1, %s%s", preset->lr_milestones[0] ? "×0.1 after epochs " : "×0.1 every 50 epochs",
        preset->lr_milestones);
    ROW("batch, momentum, weight decay, augmentation", "%d, 0.9, 5e-4, reflect-pad 4 + crop + flip", preset->batch);
    ROW("online gradient spectrum", "first %d test images of each model's test split", preset->gradspec_images);
    ROW("radii", "sweep r = %s; CDES table r = %s; HARS r = %d", REPORT_SWEEP_RADII, REPORT_CDES_RADII,
        REPORT_HARS_RADIUS);
    if (preset->cdes_scr_images_per_class)
        ROW("CDES SCR kernels", "first %d images per class (train, then test), %d epochs, StepLR(%d), batch %d",
            preset->cdes_scr_images_per_class, preset->cdes_epochs, preset->cdes_step_lr, preset->cdes_batch);
    else
        ROW("CDES SCR kernels", "all 6,000 images per class, %d epochs, StepLR(%d), batch %d", preset->cdes_epochs,
            preset->cdes_step_lr, preset->cdes_batch);
    if (preset->cdes_wcr_images)
        ROW("CDES WCR kernels", "first %d of the 60,000 images, %d epochs", preset->cdes_wcr_images,
            preset->cdes_epochs);
    else
        ROW("CDES WCR kernels", "all 60,000 images, %d epochs", preset->cdes_epochs);
    ROW("seeds", "K = %d (seeds %llu to %llu; preset default %d, `--seeds` overrides)", w->p->seeds, w->p->seed,
        w->p->seed + (unsigned long long)w->p->seeds - 1, preset->seeds);
    const report_protocol *e4 = &preset->e4;
    char e4_images[64];
    if (e4->train_images)
        snprintf(e4_images, sizeof e4_images, "first %d", e4->train_images);
    else
        snprintf(e4_images, sizeof e4_images, "all 50,000");
    ROW("E4 protocol (f_hars and its baseline)", "%s training images, width %d, %d epochs, lr %g, %s%s, %s; %s",
        e4_images, e4->width, e4->epochs, e4->lr, e4->lr_milestones[0] ? "×0.1 after epochs " : "×0.1 every 50 epochs",
        e4->lr_milestones, e4->augment ? "augmented" : "no augmentation",
        w->p->e4_model == MODEL_E4_BASELINE ? "differs from the main protocol: an extra baseline (`e4-baseline`) is "
                                              "trained with it"
                                            : "the main protocol: E4 reuses the baseline");
    ROW("checkpoint evaluated", "the last epoch's (`last.safetensors`), never the best-on-test one");
#undef ROW
    doc_table_end(&w->doc);
    int official = report_data_official(w->p->data.record_path);
    if (official == 1)
        doc_paragraph(&w->doc, "Data: `%s` is the official CIFAR-10 binary release (SHA-256 of all six files "
                               "verified; record `data/data.json`).", w->p->data.cifar_dir);
    else if (official == 0)
        doc_paragraph(&w->doc, "**Data: `%s` is NOT the official CIFAR-10** (SHA-256 differ, see "
                               "`data/data.json`): the numbers below are not comparable with the paper's.",
                      w->p->data.cifar_dir);
    else
        doc_paragraph(&w->doc, "Data: not verified (the data stage did not finish).");
}

static void section_stages(writer *w)
{
    const report_pipeline *p = w->p;
    doc_heading(&w->doc, 2, "Stages");
    doc_paragraph(&w->doc, "Each stage's record (`stages/<name>.json`) holds its command, the SHA-256 of its inputs "
                           "and key outputs, its exit status and wall time; its output is in `stages/<name>.log`. "
                           "A rerun of `freqbias report` skips every stage whose record still matches (also when an "
                           "earlier build of freqbias made it: then this table says so; delete the record to rerun).");
    static const char *const headers[4] = {"stage", "this run", "wall time (s)", "command"};
    doc_table_begin(&w->doc, 4, headers);
    for (int i = 0; i < p->count; i++) {
        const report_stage *s = &p->stages[i];
        char command[8 * STAGE_PATH], quoted[8 * STAGE_PATH + 4], seconds[32];
        stage_command_line(s, w->outcome->threads, command, sizeof command);
        snprintf(quoted, sizeof quoted, "`%s`", s->function ? s->title : command);
        snprintf(seconds, sizeof seconds, "%.1f", s->wall_seconds);
        const char *action = s->other_build ? "skipped (made by another build of freqbias)" : stage_action_name(s->action);
        const char *cells[4] = {s->name, action, seconds, quoted};
        doc_table_row(&w->doc, cells);
    }
    doc_table_end(&w->doc);
}

static void section_times(writer *w)
{
    doc_heading(&w->doc, 2, "Time per stage group");
    doc_paragraph(&w->doc, "Wall time of the stages of each group that ran in this invocation, from their records; "
                           "\"cached\" stages were skipped because their record matched (their time is from the "
                           "run that made them). The figures are drawn by the report itself.");
    static const char *const headers[2] = {"group", "wall time"};
    doc_table_begin(&w->doc, 2, headers);
    for (int g = 0; g < REPORT_GROUPS; g++) {
        char line[256];
        report_time_line(&w->times[g], line, sizeof line);
        if (!line[0])
            continue;
        const char *cells[2] = {report_group_names[g], line};
        doc_table_row(&w->doc, cells);
    }
    doc_table_end(&w->doc);
}

static fb_status write_stage_summary(const report_pipeline *p)
{
    cli_text t = {0};
    cli_text_add(&t, "{\n  \"preset\": \"%s\",\n  \"seeds\": %d,\n  \"first_seed\": %llu,\n  \"stages\": [",
                 p->preset->name, p->seeds, p->seed);
    for (int i = 0; i < p->count; i++) {
        const report_stage *s = &p->stages[i];
        static const char *const actions[] = {"not run", "skipped", "ran", "resumed", "failed"};
        cli_text_add(&t, "%s\n    {\"name\": \"%s\", \"group\": \"%s\", \"action\": \"%s\", \"wall_seconds\": %.3f, "
                     "\"exit_status\": %d}", i ? "," : "", s->name, report_group_names[s->group], actions[s->action],
                     s->wall_seconds, s->exit_status);
    }
    cli_text_add(&t, "\n  ]\n}\n");
    char path[1200];
    snprintf(path, sizeof path, "%s/stages/summary.json", p->out_dir);
    fb_status status = cli_text_write(path, &t);
    cli_text_free(&t);
    return status;
}

/* OUT/summary.txt: the five findings, their criteria, the time per group. */
static fb_status write_summary_text(const report_pipeline *p, const report_finding *findings,
                                    const report_printout *printout)
{
    cli_text t = {0};
    for (int i = 0; i < REPORT_FINDINGS; i++)
        cli_text_add(&t, "%s\n", findings[i].line);
    cli_text_add(&t, "\nCriteria (K = %d seeds; one-sided tests at %g %%; one seed: cannot be evaluated):\n",
                 p->seeds, 100.0 * REPORT_ALPHA);
    for (int i = 0; i < REPORT_FINDINGS; i++)
        cli_text_add(&t, "%d. %s\n", i + 1, findings[i].criterion);
    cli_text_add(&t, "\nTime per stage group (this invocation; cached = skipped, its record matched):\n");
    for (int g = 0; g < REPORT_GROUPS; g++)
        if (printout->times[g][0])
            cli_text_add(&t, "%s: %s\n", report_group_names[g], printout->times[g]);
    char path[1200];
    snprintf(path, sizeof path, "%s/summary.txt", p->out_dir);
    fb_status status = cli_text_write(path, &t);
    cli_text_free(&t);
    return status;
}

fb_status report_write(const report_pipeline *p, const report_outcome *outcome, report_printout *printout)
{
    writer w = {.p = p, .outcome = outcome};
    report_results *res = calloc(1, sizeof *res);
    if (!res)
        return fb_error(FB_ERR_NOMEM, "report: out of memory");
    report_results_load(p, res);
    w.res = res;
    heatmap_result *heatmaps = calloc(MODEL_COUNT, sizeof *heatmaps);
    if (!heatmaps) {
        free(res);
        return fb_error(FB_ERR_NOMEM, "report: out of memory");
    }
    report_heatmaps_load(p, heatmaps);
    w.heatmaps = heatmaps;
    char figures[1200];
    snprintf(figures, sizeof figures, "%s/figures", p->out_dir);
    int drawn = 0, heatmap_figures = 0;
    double start = cli_now();
    fb_status status = report_figures_draw(p, res, figures, &drawn);
    if (status == FB_OK)
        status = report_heatmaps_draw(p, heatmaps, figures, &heatmap_figures);
    report_group_time times[REPORT_GROUPS];
    report_times_compute(p, cli_now() - start, times);
    w.times = times;
    for (int g = 0; g < REPORT_GROUPS; g++)
        report_time_line(&times[g], printout->times[g], sizeof printout->times[g]);
    report_finding findings[REPORT_FINDINGS];
    report_findings_compute(res, p->e4_model, findings);
    for (int i = 0; i < REPORT_FINDINGS; i++)
        memcpy(printout->findings[i], findings[i].line, REPORT_LINE); /* same size, NUL-terminated */
    if (status == FB_OK) {
        char title[128];
        snprintf(title, sizeof title, "freqbias report: frequency bias in image classification (preset %s)",
                 p->preset->name);
        doc_init(&w.doc, p->out_dir, title);
        section_header(&w);
        section_summary(&w, findings);
        section_preset(&w);
        report_section_e1(&w);
        report_section_e2(&w);
        report_section_e3(&w);
        report_section_e4(&w);
        report_section_e5(&w);
        report_section_heatmaps(&w);
        report_section_samples(&w);
        section_times(&w);
        section_stages(&w);
        char md[1200], html[1200];
        snprintf(md, sizeof md, "%s/report.md", p->out_dir);
        snprintf(html, sizeof html, "%s/report.html", p->out_dir);
        status = doc_finish(&w.doc, md, html);
    }
    if (status == FB_OK)
        status = write_summary_text(p, findings, printout);
    if (status == FB_OK)
        status = write_stage_summary(p);
    free(heatmaps);
    free(res);
    return status;
}
