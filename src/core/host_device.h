/* host_device.h — FB_HOST_DEVICE: marks a static inline function that the
 * host backends and the CUDA kernels both call, so one written expression
 * serves both (src/backend/kernels.h, src/spectrum/cdes_terms.h).
 *
 * A C file sees nothing; nvcc sees __host__ __device__. Such a function
 * must stay plain arithmetic: no allocation, no I/O, no library calls
 * beyond <math.h>. With -ffp-contract=off on the C side and --fmad=false in
 * nvcc both compile the same expression to the same float operations.
 */
#ifndef FREQBIAS_HOST_DEVICE_H
#define FREQBIAS_HOST_DEVICE_H

#ifdef __CUDACC__
#define FB_HOST_DEVICE __host__ __device__
#else
#define FB_HOST_DEVICE
#endif

#endif
