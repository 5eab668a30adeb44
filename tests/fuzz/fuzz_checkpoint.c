/* fuzz_checkpoint.c — a checkpoint as `freqbias test` uses it: inspect the
 * file (metadata or shape inference → model config), build the model that
 * config describes (cpu-ref backend, batch 2), and load the tensors into it.
 * fb_checkpoint_inspect checks the config against the file's tensors before
 * anything is built, so the model's memory is bounded by the file's size. */
#include <stdint.h>

#include "freqbias/backend.h"
#include "freqbias/checkpoint.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file(0, "input.safetensors", data, size);
    fb_model_config config;
    if (fb_checkpoint_inspect(path, &config) != FB_OK)
        return 0;
    config.max_batch = 2;
    fb_model *model = NULL;
    fuzz_check(fb_model_create(&model, &config, &fb_backend_cpu_ref) == FB_OK,
               "inspect accepted a config the model cannot be built from");
    fb_checkpoint_info info;
    fb_checkpoint_load(model, path, &info);
    fb_model_free(model);
    return 0;
}
