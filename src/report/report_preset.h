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
 *   tiny    every stage on a few hundred images in well under two minutes:
 *           the test of the pipeline (`make check`), not of the science;
 *   laptop  ≤ 45 minutes on 2 cores, chosen so the four findings can show;
 *   paper   the seed's scale: ResNet-18 width 64, 200 epochs, all data.
 *
 * The report prints the chosen preset as a table (report_preset_describe),
 * so a reader always knows which scale a number came from.
 */
#ifndef FREQBIAS_CLI_REPORT_PRESET_H
#define FREQBIAS_CLI_REPORT_PRESET_H

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
    /* the budget the preset was sized for, stated in the report */
    const char *budget;
} report_preset;

/* The preset called name, or NULL. */
const report_preset *report_preset_find(const char *name);
/* "tiny, laptop, paper" for messages. */
const char *report_preset_names(void);

#endif
