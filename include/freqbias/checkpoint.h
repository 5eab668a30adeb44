/* freqbias/checkpoint.h — a model's state_dict as a safetensors file.
 *
 * The file holds every registry tensor under its PyTorch name (F32; I64 for
 * num_batches_tracked, 0-rank as PyTorch saves it) and __metadata__ with
 * arch, width, num_classes, in_channels, image_size, epoch and seed, so
 * `model.load_state_dict(load_file(path), strict=True)` works in PyTorch
 * (see ref_data/gen/check_roundtrip.py).
 *
 * Loading accepts what users have: plain kuangliu/robustness names, the
 * robustness wrapper prefix "module.model." (and DataParallel's "module."),
 * ignoring "module.attacker.*" and "module.normalizer.*". Every model tensor
 * must be present with the right shape and dtype and no unknown tensor may
 * remain; otherwise the error lists the first mismatches by name.
 */
#ifndef FREQBIAS_CHECKPOINT_H
#define FREQBIAS_CHECKPOINT_H

#include <stdint.h>

#include "freqbias/model.h"

typedef struct fb_checkpoint_info {
    int epoch;           /* -1 when unknown */
    uint64_t seed;
    char data_sha256[65]; /* "" when unknown */
} fb_checkpoint_info;

/* Reads a checkpoint of either format into *file (fb_st_free it): a
 * PyTorch torch.save file (zip, detected by its "PK\3\4" magic; see
 * torch_pt.h) or a safetensors file. Load and inspect go through here. */
struct fb_st_file;
fb_status fb_checkpoint_read(const char *path, struct fb_st_file *file);

/* Atomic write (temp + fsync + rename). */
fb_status fb_checkpoint_save(fb_model *model, const char *path, const fb_checkpoint_info *info);

/* Loads values into an existing model of the matching architecture. */
fb_status fb_checkpoint_load(fb_model *model, const char *path, fb_checkpoint_info *info);

/* The model config a checkpoint needs: from __metadata__ when present, else
 * inferred from tensor names and shapes (blocks per layer, conv1 and linear
 * shapes). max_batch is left at the default. */
fb_status fb_checkpoint_inspect(const char *path, fb_model_config *config);

/* Training state for an exact resume: every model tensor ("model.<name>"),
 * every SGD momentum buffer ("momentum.<name>") and the caller's metadata
 * (plus "sgd_steps"), in ONE atomic file, so a crash leaves either the old
 * or the new state, never a mix. */
fb_status fb_train_state_save(fb_model *model, const char *path, const char *const *keys,
                              const char *const *values, int count);
/* Restores model, momentum and the SGD step count; the file stays open in
 * *file for the caller's metadata look-ups (fb_st_meta; then fb_st_free). */
fb_status fb_train_state_load(fb_model *model, const char *path, struct fb_st_file *file);

#endif
