/* report_preset.h — the three scales `freqbias report` runs at.
 *
 * A preset fixes every choice that trades fidelity for time: how many
 * training and test images the ResNets see, their width and epochs, the
 * learning-rate milestones, how many test images the online gradient
 * spectrum follows, and the CDES kernel-training set sizes and epochs.
 * Everything else (the radii, the HARS radius, the recipe's momentum and
 * weight decay) is the paper's and the same in every preset.
 *
 * The Fourier heat maps (fourier-heatmap) cost one forward pass per image
 * and Hermitian pair of frequencies (514 pairs at 32×32), so the presets
 * choose how many test images and how much of the plane they cover.
 *
 *   tiny        every stage on a few hundred images in well under two
 *               minutes: the test of the pipeline (`make check`), not of
 *               the science;
 *   laptop      ≤ 45 minutes on 2 cores with 3 seeds, chosen so the
 *               findings can show;
 *   workstation width 32, all 50,000 images, 40 epochs: the scale at which
 *               all five findings are expected to hold (a projection);
 *   paper       the seed's scale: ResNet-18 width 64, 200 epochs, all data.
 *
 * Seeds: every classifier a finding compares is trained `seeds` times
 * (report --seeds overrides), with seeds S..S+K−1 (S = --seed, default 0).
 *
 * The E4 protocol: f_hars and the baseline E4 compares it with are trained
 * with the preset's `e4` protocol (the issue demands the same for both).
 * When it equals the main protocol (report_protocol_equal) E4 reuses the
 * baseline run; otherwise the report trains an extra "e4-baseline".
 *
 * The report prints the chosen preset as a table, so a reader always knows
 * which scale a number came from.
 */
#ifndef FREQBIAS_CLI_REPORT_PRESET_H
#define FREQBIAS_CLI_REPORT_PRESET_H

/* How a classifier is trained (the rest is the recipe: SGD momentum 0.9,
 * weight decay 5e-4, batch of the preset, lr ×0.1 at the milestones). */
typedef struct report_protocol {
    int train_images;            /* first N training images; 0 = all 50,000  */
    int width;                   /* ResNet-18 width (64 = the paper's)        */
    int epochs;
    double lr;                   /* initial learning rate (the recipe: 0.1)   */
    const char *lr_milestones;   /* "" = the recipe's ×0.1 every 50 epochs    */
    int augment;                 /* 1: reflect-pad 4 + crop + flip (recipe)   */
} report_protocol;

typedef struct report_preset {
    const char *name;
    const char *purpose;         /* one sentence for the report              */
    /* the ResNet-18 classifiers (baseline, HARS, f_scr, f_wcr) */
    int train_images;            /* first N training images; 0 = all 50,000  */
    int test_images;             /* first M test images; 0 = all 10,000      */
    int width;                   /* ResNet-18 width (64 = the paper's)        */
    int epochs;
    const char *lr_milestones;   /* "" = the recipe's ×0.1 every 50 epochs    */
    int batch;
    int gradspec_images;         /* online gradient spectrum: first N test images */
    int heatmap_images;          /* Fourier heat map and band noise: first N test images */
    int heatmap_size;            /* the heat map's central S×S frequencies (32 = all)    */
    /* CDES toy kernels (cdes-train); 0 = the command's default */
    int cdes_scr_images_per_class; /* first N images of each class (train, then test); 0 = 6,000 */
    int cdes_wcr_images;         /* first N of the 60,000; 0 = all            */
    int cdes_epochs;
    int cdes_step_lr;
    int cdes_batch;
    /* the E4 (HARS) protocol, for f_hars and the baseline it is compared with */
    report_protocol e4;
    int seeds;                   /* classifier seeds K (report --seeds overrides) */
    /* the budget the preset was sized for, stated in the report */
    const char *budget;
} report_preset;

/* The protocol of the baseline, f_scr and f_wcr (lr 0.1, augmentation on). */
report_protocol report_preset_main_protocol(const report_preset *preset);
/* 1 when two protocols train the same way. */
int report_protocol_equal(const report_protocol *a, const report_protocol *b);

/* The preset called name, or NULL. */
const report_preset *report_preset_find(const char *name);
/* "tiny, laptop, workstation, paper" for messages. */
const char *report_preset_names(void);

#endif
