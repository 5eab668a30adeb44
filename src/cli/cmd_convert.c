/* cmd_convert.c — `freqbias convert IN OUT.safetensors`: a checkpoint as a freqbias safetensors file.
 *
 * IN is anything the checkpoint loader reads — a PyTorch torch.save file
 * (.pt, told apart by its zip magic; see freqbias/torch_pt.h) or a
 * safetensors file. The conversion goes through a real model: the config is
 * inferred as every command infers it (fb_checkpoint_inspect: blocks per
 * layer, conv1 and linear shapes), the tensors are loaded with the usual name
 * mapping and checks (robustness prefixes stripped, attacker/normalizer
 * copies skipped, every tensor present with its shape), then saved like a
 * trained model: plain names, float32 (+ int64 num_batches_tracked), and
 * __metadata__ arch, width, num_classes, in_channels, image_size, epoch.
 * So OUT is exactly what `freqbias train` would have written for those
 * weights, and `freqbias test` gives the same numbers on IN and OUT. The
 * write is atomic: an existing OUT is replaced whole or not at all.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "freqbias/backend.h"
#include "freqbias/checkpoint.h"
#include "freqbias/model.h"

static void usage(FILE *to)
{
    fprintf(to, "usage: freqbias convert IN OUT.safetensors\n"
                "Reads a checkpoint (PyTorch torch.save .pt from PyTorch >= 1.6, robustness\n"
                "{'model': ...}, {'state_dict': ...} or a plain state dict; or safetensors) and\n"
                "writes it as a freqbias safetensors file with metadata (arch, width,\n"
                "num_classes, in_channels, image_size, epoch), atomically.\n");
}

int cmd_convert(int argc, char **argv)
{
    static const struct option options[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return 0;
        }
        usage(stderr);
        return 1;
    }
    if (argc - optind != 2) {
        usage(stderr);
        return 1;
    }
    const char *in = argv[optind], *out = argv[optind + 1];
    fb_model_config config;
    fb_status status = fb_checkpoint_inspect(in, &config);
    if (status != FB_OK)
        return cli_fail("convert", status);
    config.max_batch = 1;
    fb_model *model = NULL;
    fb_checkpoint_info info;
    status = fb_model_create(&model, &config, fb_backend_by_name("cpu-ref"));
    if (status == FB_OK)
        status = fb_checkpoint_load(model, in, &info);
    if (status == FB_OK)
        status = fb_checkpoint_save(model, out, &info);
    if (status == FB_OK)
        printf("%s -> %s (%s, width %d, %d classes, epoch %d)\n", in, out, fb_arch_name(config.arch),
               config.arch == FB_ARCH_TOYKERNEL ? config.toy_filters : config.width,
               config.arch == FB_ARCH_TOYKERNEL ? 0 : config.num_classes, info.epoch);
    fb_model_free(model);
    return status == FB_OK ? 0 : cli_fail("convert", status);
}
