/* report_preset.c — the values of the tiny, laptop and paper presets (see
 * report_preset.h for what each field means).
 *
 * How the laptop preset was sized (2 cores, OpenBLAS SkylakeX kernel):
 * four ResNet-18 width-16 classifiers (baseline, HARS, f_scr, f_wcr), each
 * on 20,000 images for 10 epochs with the learning rate ×0.1 after epochs 7
 * and 9 so the short runs end converged (the paper's runs decay too), plus
 * the sweeps, spectra and CDES kernels. Measured end to end (make demo
 * from a fresh clone, quiet machine, commit becd56c): 17.2 minutes, each
 * classifier ≈ 3 minutes (≈ 1,300 images/s training), CDES kernels ≈ 2
 * minutes per mode; clean top-1 of the baseline 0.757. An earlier build
 * whose convolutions ran ≈ 650 images/s took 34.9 minutes on a machine that
 * other jobs shared: the 45-minute budget keeps that margin.
 *
 * The CDES kernel-training constants are named so they are easy to retune.
 * What matters is the number of SGD steps at the first learning rate: with
 * the seed's batch of 100, WCR kernels on 6,000 images reached a spectral
 * loss of 0.029 after 180 steps and 0.011 after 300 (density MSE to the
 * target 0.003), while 50 steps left SCR kernels at 0.18, far from the
 * double peak (cdes-train, measured here). So each kernel set gets 160 steps
 * at lr 0.01 and 40 at 0.001: SCR 2,000 images per class and WCR 20,000
 * images, 10 epochs, StepLR(8) — 200,000 image-steps per mode; cdes-train
 * runs ≈1,500 images/s on 2 idle cores (≈2.5 min per mode).
 */
#include "report_preset.h"

#include <string.h>

/* laptop: the CDES kernel training, easy to retune */
enum {
    LAPTOP_CDES_SCR_IMAGES_PER_CLASS = 2000,
    LAPTOP_CDES_WCR_IMAGES = 20000,
    LAPTOP_CDES_EPOCHS = 10,
    LAPTOP_CDES_STEP_LR = 8,   /* 160 of the 200 steps at lr 0.01 (see above) */
    LAPTOP_CDES_BATCH = 100,
};

static const report_preset presets[] = {
    {
        .name = "tiny",
        .purpose = "every stage on a few hundred images in well under two minutes: a test of the "
                   "pipeline, not of the science (its numbers are noise)",
        .train_images = 256, .test_images = 128, .width = 4, .epochs = 2, .lr_milestones = "",
        .batch = 64, .gradspec_images = 32, .heatmap_images = 16, .heatmap_size = 8,
        .cdes_scr_images_per_class = 8, .cdes_wcr_images = 80, .cdes_epochs = 2, .cdes_step_lr = 1,
        .cdes_batch = 20,
        .budget = "under 2 minutes on 2 cores",
    },
    {
        .name = "laptop",
        .purpose = "the four findings at laptop scale: ResNet-18 width 16 on the first 20,000 "
                   "training images for 10 epochs, tested on the first 5,000 test images",
        .train_images = 20000, .test_images = 5000, .width = 16, .epochs = 10, .lr_milestones = "7,9",
        .batch = 128, .gradspec_images = 500, .heatmap_images = 200, .heatmap_size = 32,
        .cdes_scr_images_per_class = LAPTOP_CDES_SCR_IMAGES_PER_CLASS,
        .cdes_wcr_images = LAPTOP_CDES_WCR_IMAGES, .cdes_epochs = LAPTOP_CDES_EPOCHS,
        .cdes_step_lr = LAPTOP_CDES_STEP_LR, .cdes_batch = LAPTOP_CDES_BATCH,
        .budget = "at most 45 minutes on 2 cores (17 min measured from a fresh clone)",
    },
    {
        .name = "paper",
        .purpose = "the seed's scale: ResNet-18 width 64, 200 epochs (lr ×0.1 every 50), all 50,000 "
                   "training and 10,000 test images, CDES kernels on all images for 20 epochs",
        .train_images = 0, .test_images = 0, .width = 64, .epochs = 200, .lr_milestones = "",
        .batch = 128, .gradspec_images = 1000, .heatmap_images = 1000, .heatmap_size = 32,
        .cdes_scr_images_per_class = 0, .cdes_wcr_images = 0, .cdes_epochs = 20, .cdes_step_lr = 5,
        .cdes_batch = 100,
        .budget = "days on a CPU; hours with the CUDA backend",
    },
};

const report_preset *report_preset_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof presets / sizeof *presets; i++)
        if (strcmp(presets[i].name, name) == 0)
            return &presets[i];
    return 0;
}

const char *report_preset_names(void)
{
    return "tiny, laptop, paper";
}
