/* backend.c — finding a backend by name and checking it is complete.
 *
 * "cuda" is special: it exists only in a CUDA=1 build, and is handed out
 * only when the CUDA runtime sees a device. Otherwise the caller gets NULL
 * and a message that says which of the two is missing, so `--backend cuda`
 * fails with a reason instead of a crash at the first kernel. An MPI rank
 * gets the GPU of its rank on the machine (fb_cuda_use_device_of_rank).
 */
#include <stddef.h>
#include <string.h>

#include "freqbias/backend.h"

#ifdef FB_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#include "freqbias/dist.h"
#endif

static const fb_backend *const all_backends[] = {
    &fb_backend_cpu,
    &fb_backend_cpu_ref,
};

fb_conv_geom fb_conv_geom_make(int batch, int in_channels, int in_h, int in_w, int out_channels,
                               int kernel, int stride, int pad)
{
    fb_conv_geom g = {batch, in_channels, in_h, in_w, out_channels, kernel, stride, pad, 0, 0};
    g.out_h = (in_h + 2 * pad - kernel) / stride + 1;
    g.out_w = (in_w + 2 * pad - kernel) / stride + 1;
    return g;
}

const fb_backend *fb_backend_by_name(const char *name)
{
    if (strcmp(name, "cuda") == 0) {
#ifdef FB_WITH_CUDA
        char why[256];
        if (fb_cuda_device_count() < 1) {
            fb_cuda_describe(why, sizeof why);
            fb_error(FB_ERR_UNSUPPORTED, "backend 'cuda': %s", why);
            return NULL;
        }
        fb_cuda_use_device_of_rank(fb_dist_local_rank()); /* one GPU per MPI rank */
        return &fb_backend_cuda;
#else
        fb_error(FB_ERR_UNSUPPORTED,
                 "backend 'cuda': this binary was built without CUDA=1; rebuild with make CUDA=1");
        return NULL;
#endif
    }
    for (size_t i = 0; i < sizeof all_backends / sizeof *all_backends; i++)
        if (strcmp(all_backends[i]->name, name) == 0)
            return all_backends[i];
    fb_error(FB_ERR_USAGE, "unknown backend '%s' (this build has: %s)", name, fb_backend_list());
    return NULL;
}

const char *fb_backend_list(void)
{
#ifdef FB_WITH_CUDA
    return "cpu cpu-ref cuda";
#else
    return "cpu cpu-ref";
#endif
}

fb_status fb_backend_check(const fb_backend *b)
{
    struct entry { const char *name; const void *fn; };
    const struct entry entries[] = {
        {"alloc", (const void *)b->alloc}, {"release", (const void *)b->release},
        {"to_device", (const void *)b->to_device}, {"to_host", (const void *)b->to_host},
        {"zero", (const void *)b->zero},
        {"conv2d_workspace", (const void *)b->conv2d_workspace},
        {"conv2d_forward", (const void *)b->conv2d_forward},
        {"conv2d_backward_data", (const void *)b->conv2d_backward_data},
        {"conv2d_backward_filter", (const void *)b->conv2d_backward_filter},
        {"batchnorm_forward_train", (const void *)b->batchnorm_forward_train},
        {"batchnorm_forward_eval", (const void *)b->batchnorm_forward_eval},
        {"batchnorm_backward", (const void *)b->batchnorm_backward},
        {"batchnorm_backward_eval", (const void *)b->batchnorm_backward_eval},
        {"relu_forward", (const void *)b->relu_forward},
        {"relu_backward", (const void *)b->relu_backward}, {"add", (const void *)b->add},
        {"avgpool_forward", (const void *)b->avgpool_forward},
        {"avgpool_backward", (const void *)b->avgpool_backward},
        {"linear_forward", (const void *)b->linear_forward},
        {"linear_backward", (const void *)b->linear_backward},
        {"normalize_forward", (const void *)b->normalize_forward},
        {"normalize_backward", (const void *)b->normalize_backward},
        {"cross_entropy_forward", (const void *)b->cross_entropy_forward},
        {"cross_entropy_backward", (const void *)b->cross_entropy_backward},
        {"sgd_step", (const void *)b->sgd_step},
    };
    for (size_t i = 0; i < sizeof entries / sizeof *entries; i++)
        if (!entries[i].fn)
            return fb_error(FB_ERR_UNSUPPORTED, "backend '%s' does not implement %s", b->name,
                            entries[i].name);
    return FB_OK;
}
