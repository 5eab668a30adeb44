/* cmd_info.c — `freqbias info`: what this build is and what it runs on.
 *
 * Prints the version, build profile, backends, the OpenBLAS kernel in use
 * (after the start-up kernel fix), OpenMP threads, CPU features and the FFTW
 * version: everything a run record needs to say whether two results are
 * expected to be bit-identical. The "cuda" line names the GPU, driver and
 * library versions of a CUDA=1 build, or why `--backend cuda` cannot run
 * (no device, no driver, or a build without CUDA=1). The "mpi" line names
 * the MPI library of an MPI=1 build and the number of ranks.
 */
#include <fftw3.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "freqbias/backend.h"
#include "freqbias/dist.h"
#include "freqbias/runtime.h"
#include "freqbias/version.h"

#ifdef FB_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

char *openblas_get_config(void);

int cmd_info(int argc, char **argv)
{
    static const struct option options[] = {{"threads", required_argument, 0, 't'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 't') {
            fb_set_threads(atoi(optarg));
        } else if (opt == 'h') {
            printf("usage: freqbias info [--threads T]\n"
                   "Prints version, build profile, backends, BLAS kernel, threads, CPU features and\n"
                   "the CUDA device (or why there is none).\n");
            return 0;
        } else {
            return 1;
        }
    }
    fb_cpu_features f = fb_cpu_detect();
    printf("freqbias      %s\n", FB_VERSION);
    printf("profile       %s\n", FB_PROFILE);
    printf("backends      %s\n", fb_backend_list());
    printf("blas          %s\n", openblas_get_config());
    printf("blas kernel   %s\n", fb_runtime_note());
    printf("threads       %d OpenMP (OpenBLAS runs one thread per GEMM)\n", fb_get_threads());
    printf("fftw          %s\n", fftwf_version);
    printf("cpu           %s (%s)\n", f.brand, f.vendor);
    printf("cpu features  sse4.2=%d avx=%d avx2=%d fma=%d avx512f=%d avx512bw=%d avx512vl=%d "
           "avx512dq=%d os-avx=%d os-avx512=%d\n",
           f.sse42, f.avx, f.avx2, f.fma, f.avx512f, f.avx512bw, f.avx512vl, f.avx512dq, f.os_avx,
           f.os_avx512);
    printf("best kernel   %s\n", fb_cpu_best_blas_core(&f));
    printf("mpi           %s, %d rank%s\n", fb_dist_library(), fb_dist_size(), fb_dist_size() == 1 ? "" : "s");
#ifdef FB_WITH_CUDA
    char cuda[320];
    fb_cuda_describe(cuda, sizeof cuda);
    printf("cuda          %s\n", cuda);
#else
    printf("cuda          not built (rebuild with make CUDA=1 for --backend cuda)\n");
#endif
    return 0;
}
