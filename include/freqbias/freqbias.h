/* freqbias/freqbias.h — the umbrella header: everything the library offers.
 *
 *   runtime.h     CPU features, the OpenBLAS kernel fix, threads
 *   error.h       status codes and messages
 *   rng.h         counter-based random numbers (Philox4x32-10)
 *   tensor.h      named tensors, registries, arenas
 *   backend.h     the op table (cpu-ref, cpu)
 *   model.h       CIFAR ResNets and the CDES toy model
 *   checkpoint.h  model state_dicts as safetensors
 *   safetensors.h, json.h, atomic_file.h, sha256.h   file formats
 */
#ifndef FREQBIAS_FREQBIAS_H
#define FREQBIAS_FREQBIAS_H

#include "freqbias/atomic_file.h"
#include "freqbias/backend.h"
#include "freqbias/checkpoint.h"
#include "freqbias/error.h"
#include "freqbias/json.h"
#include "freqbias/model.h"
#include "freqbias/rng.h"
#include "freqbias/runtime.h"
#include "freqbias/safetensors.h"
#include "freqbias/sha256.h"
#include "freqbias/tensor.h"
#include "freqbias/version.h"

#endif
