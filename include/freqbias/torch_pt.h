/* freqbias/torch_pt.h — PyTorch `torch.save` checkpoints (.pt), read without Python.
 *
 * Since PyTorch 1.6 `torch.save` writes a zip archive:
 *
 *   <name>/data.pkl      a pickle (protocol 2) of the saved object; every
 *                        tensor in it is torch._utils._rebuild_tensor_v2(
 *                        storage, offset, size, stride, requires_grad, hooks)
 *                        and every storage a "persistent id"
 *                        ('storage', torch.FloatStorage, '<key>', 'cpu', numel)
 *   <name>/data/<key>    the raw little-endian bytes of storage <key>
 *   <name>/version, <name>/byteorder, <name>/.data/serialization_id, ...
 *
 * Three layers read it, each trusting nothing it is given:
 *   zip.c       the container: central directory, stored and deflated entries
 *               (zlib), every offset and size checked against the file, CRC-32
 *               checked, inflated sizes capped (no deflate bombs);
 *   pickle.c    a weights-only pickle VM: it only builds data (numbers,
 *               strings, tuples, lists, dicts, tensors, storages). A GLOBAL
 *               outside a short whitelist stops the load with an error naming
 *               it; nothing is ever imported, called or executed;
 *   torch_pt.c  finds the state dict (robustness {'model': …}, {'state_dict': …}
 *               or a plain one) and copies each tensor out of its storage
 *               (offsets and strides honoured, result contiguous).
 *
 * The result is an fb_st_file, the same struct the safetensors reader fills,
 * so everything downstream (name mapping, shape checks, `convert`) is shared.
 * float64 tensors become float32 (what every freqbias model holds); int64
 * tensors (num_batches_tracked) stay int64. There is no __metadata__.
 *
 * The whitelist, the whole of it:
 *   collections.OrderedDict                      (state dicts are OrderedDicts)
 *   torch._utils._rebuild_tensor_v2              (every tensor)
 *   torch._utils._rebuild_parameter              (an nn.Parameter saved as such)
 *   torch.<Type>Storage for Float, Double, Long, Int, Short, Char, Byte, Bool,
 *   Half, BFloat16 and torch.<dtype> (float32, float64, int64, ...): the
 *   storage type inside a persistent id — inert names, never called.
 */
#ifndef FREQBIAS_TORCH_PT_H
#define FREQBIAS_TORCH_PT_H

#include <stddef.h>
#include <stdint.h>

#include "freqbias/error.h"
#include "freqbias/safetensors.h"

/* ---- the zip container ---------------------------------------------------- */

typedef struct fb_zip_entry {
    char *name;             /* NUL-terminated, as stored                   */
    int method;             /* 0 stored, 8 deflated                        */
    uint32_t crc32;
    uint64_t compressed_size, size; /* bytes in the file / after inflating */
    uint64_t data_offset;   /* where the (compressed) bytes start          */
} fb_zip_entry;

typedef struct fb_zip {
    const uint8_t *bytes;   /* [size] the whole archive (not owned)        */
    size_t size;
    const char *label;      /* the file name used in error messages        */
    fb_zip_entry *entries;  /* [count] in central-directory order          */
    int count;
} fb_zip;

/* True when the first bytes are a zip local-file header ("PK\3\4"). */
int fb_zip_magic(const uint8_t *head, size_t n);

/* Parses and validates the central directory of an archive held in memory. */
fb_status fb_zip_open(fb_zip *zip, const uint8_t *bytes, size_t size, const char *label);
const fb_zip_entry *fb_zip_find(const fb_zip *zip, const char *name);
/* A malloc'd copy of an entry's bytes (*out, *out_size), inflated when
 * deflated, CRC-checked; entries larger than max_size are refused. */
fb_status fb_zip_extract(const fb_zip *zip, const fb_zip_entry *entry, size_t max_size,
                         uint8_t **out, size_t *out_size);
void fb_zip_close(fb_zip *zip);

/* ---- torch.save files ----------------------------------------------------- */

/* True when the first bytes are a torch.save file: a zip, or a legacy
 * (pre-1.6) pickle starting with PROTO 2 and torch's magic number. */
int fb_pt_magic(const uint8_t *head, size_t n);

/* Reads the state dict of a torch.save file into *file (fb_st_free it).
 * A pre-1.6 (non-zip) torch file gets a "re-save with PyTorch >= 1.6" error. */
fb_status fb_pt_read(const char *path, fb_st_file *file);
/* The same from bytes in memory; label names them in messages. */
fb_status fb_pt_read_memory(const uint8_t *bytes, size_t size, const char *label,
                            fb_st_file *file);

#endif
