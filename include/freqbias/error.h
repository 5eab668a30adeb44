/* freqbias/error.h — status codes and the last-error message.
 *
 * Every fallible function returns fb_status. On failure it also records a
 * human-readable message (thread-local) that names the file or tensor and
 * what is wrong, e.g. "ckpt.safetensors: tensor 'conv1.weight' has shape
 * [8,3,3,3], model expects [16,3,3,3]". Callers print fb_error_message().
 * The CLI maps status codes to exit codes: FB_ERR_USAGE → 1, FB_ERR_IO and
 * FB_ERR_FORMAT → 2, FB_ERR_NUMERIC → 3, anything else → 2.
 */
#ifndef FREQBIAS_ERROR_H
#define FREQBIAS_ERROR_H

typedef enum fb_status {
    FB_OK = 0,
    FB_ERR_USAGE,       /* bad argument or option from the caller           */
    FB_ERR_IO,          /* open/read/write/rename failed                    */
    FB_ERR_FORMAT,      /* a file's content is malformed or does not match  */
    FB_ERR_SHAPE,       /* tensor shapes do not fit together                */
    FB_ERR_NOMEM,       /* allocation failed                                */
    FB_ERR_UNSUPPORTED, /* op missing in this backend, or feature not built */
    FB_ERR_NUMERIC      /* NaN/Inf or other numerical failure               */
} fb_status;

/* Records a printf-style message for the calling thread and returns code. */
fb_status fb_error(fb_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The message recorded by the last failing call on this thread ("" if none). */
const char *fb_error_message(void);

/* A short name for a status code ("io", "format", ...). */
const char *fb_status_name(fb_status code);

/* The process exit code the CLI uses for a status (see above). */
int fb_status_exit_code(fb_status code);

#define FB_TRY(expr)                         \
    do {                                     \
        fb_status fb_try_status_ = (expr);   \
        if (fb_try_status_ != FB_OK)         \
            return fb_try_status_;           \
    } while (0)

#endif
