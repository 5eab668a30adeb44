/* freqbias/freqbias.h — the umbrella header: everything the library offers.
 *
 *   runtime.h     CPU features, the OpenBLAS kernel fix, threads
 *   error.h       status codes and messages
 *   rng.h         counter-based random numbers (Philox4x32-10)
 *   tensor.h      named tensors, registries, arenas
 *   backend.h     the op table (cpu-ref, cpu)
 *   model.h       CIFAR ResNets and the CDES toy model
 *   checkpoint.h  model state_dicts as safetensors
 *   dataset.h, loader.h   readers, batches with augmentation
 *   evaluate.h    accuracy, features, inter-class variance
 *   spectrum.h    FFTs, masks, filters, radial averages, gradient spectra, HARS
 *   fourier.h     Fourier heat maps (Yin et al. 2019), band-limited noise robustness
 *   cdes.h        CDES: spectral-density loss, noise, recombination, kernel training
 *   train.h       training a ResNet: epochs, checkpoints, resume, online gradient spectrum
 *   dist.h        MPI ranks (make MPI=1): shards, gathers, the batch-tree allreduce
 *   plot.h, npy.h figures and arrays
 *   safetensors.h, json.h, atomic_file.h, sha256.h   file formats
 *   torch_pt.h    PyTorch torch.save (.pt) checkpoints: zip + weights-only unpickler
 *   trace.h       one training step op by op (tracing backend), the FMA peak
 */
#ifndef FREQBIAS_FREQBIAS_H
#define FREQBIAS_FREQBIAS_H

#include "freqbias/atomic_file.h"
#include "freqbias/backend.h"
#include "freqbias/batch_view.h"
#include "freqbias/cdes.h"
#include "freqbias/checkpoint.h"
#include "freqbias/dataset.h"
#include "freqbias/dist.h"
#include "freqbias/error.h"
#include "freqbias/evaluate.h"
#include "freqbias/fourier.h"
#include "freqbias/json.h"
#include "freqbias/loader.h"
#include "freqbias/model.h"
#include "freqbias/npy.h"
#include "freqbias/plot.h"
#include "freqbias/rng.h"
#include "freqbias/runtime.h"
#include "freqbias/safetensors.h"
#include "freqbias/sha256.h"
#include "freqbias/spectrum.h"
#include "freqbias/tensor.h"
#include "freqbias/torch_pt.h"
#include "freqbias/trace.h"
#include "freqbias/train.h"
#include "freqbias/version.h"

#endif
