/* report_data.h — the data stages of `freqbias report`: find and verify
 * CIFAR-10, take the preset's subsets, and pack a generated dataset's batch
 * files into one file when the readers need that.
 *
 * Verification: the six batch files must be there with their exact sizes
 * (the reader checks), and their SHA-256 are compared with the official
 * CIFAR-10 binary release's. A mismatch is not an error (tests run on
 * synthetic CIFAR-format fixtures) but the report says in its first lines
 * that the numbers do not come from the official data.
 *
 * Subsets are the FIRST N training and M test images in file order: the
 * same images `cdes-generate --subset N --test-subset M` transforms, so the
 * baseline and the CDES models see corresponding images.
 */
#ifndef FREQBIAS_CLI_REPORT_DATA_H
#define FREQBIAS_CLI_REPORT_DATA_H

#include "report_preset.h"
#include "report_stage.h"

typedef struct report_data {
    char cifar_dir[STAGE_PATH];   /* the folder with data_batch_1..5.bin, test_batch.bin */
    char train_path[STAGE_PATH];  /* what the classifiers train on: a subset file or cifar_dir */
    char test_path[STAGE_PATH];   /* and are tested on                                     */
    char e4_train_path[STAGE_PATH]; /* what HARS and the E4 baseline use (E4 protocol)     */
    char record_path[STAGE_PATH]; /* OUT/data/data.json                                    */
    int train_images, test_images, e4_train_images;
} report_data;

/* Finds CIFAR-10 in dir or dir/cifar-10-batches-bin; the error says how to
 * fetch it. */
fb_status report_data_locate(const char *dir, char *cifar_dir, size_t size);

/* Fills data's paths for the preset and stage with the verify-and-subset
 * step (in process). */
void report_data_stage(report_stage *stage, report_data *data, const report_preset *preset, const char *out_dir);

/* Whether data.json says the six files matched the official release
 * (1 yes, 0 no, -1 no readable data.json). */
int report_data_official(const char *record_path);

/* A packing step: the batch files dir/data_batch_1..files.bin into one
 * CIFAR-format file out_file (in process). context must outlive the stage. */
typedef struct report_pack {
    char dir[STAGE_PATH];
    int files;
    char out_file[STAGE_PATH];
} report_pack;
void report_pack_stage(report_stage *stage, report_pack *pack, const char *name, const char *title);

/* The path the classifiers should read for a generated folder of `images`
 * training images (10,000 per batch file): the folder itself when it holds
 * the full official layout, its only batch file, or the packed file. Returns
 * 1 when packing is needed (then out gets the packed file's path). */
int report_generated_train_path(const char *dir, int images, const char *packed_file, char *out, size_t size);

#endif
