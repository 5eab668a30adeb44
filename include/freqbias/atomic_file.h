/* freqbias/atomic_file.h — write a file so that readers see either the old
 * content or the complete new content, never a torn mix.
 *
 *     fb_atomic_file out;
 *     FB_TRY(fb_atomic_open("ckpt.safetensors", &out));
 *     fwrite(bytes, 1, n, out.stream);            (check as usual)
 *     return fb_atomic_commit(&out);              (or fb_atomic_abort(&out))
 *
 * fb_atomic_open creates "<path>.tmp.XXXXXX" in the same folder (mkstemp, so
 * the final rename never crosses file systems). fb_atomic_commit flushes,
 * fsyncs and closes it, renames it over <path> and fsyncs the folder so the
 * rename itself survives a crash. fb_atomic_abort removes the temp file and
 * leaves <path> as it was. After commit or abort the handle is empty; both
 * are safe to call on an empty (zeroed) handle, so cleanup code can always
 * call fb_atomic_abort. Errors name the path and give strerror(errno).
 */
#ifndef FREQBIAS_ATOMIC_FILE_H
#define FREQBIAS_ATOMIC_FILE_H

#include <stdio.h>

#include "freqbias/error.h"

typedef struct fb_atomic_file {
    FILE *stream;    /* write here (binary mode)      */
    char *path;      /* the final path                */
    char *temp_path; /* "<path>.tmp.XXXXXX"           */
} fb_atomic_file;

fb_status fb_atomic_open(const char *path, fb_atomic_file *file);
fb_status fb_atomic_commit(fb_atomic_file *file);
void fb_atomic_abort(fb_atomic_file *file);

#endif
