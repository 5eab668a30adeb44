/* error.c — the thread-local "last error" message behind fb_error().
 *
 * Functions that fail call `return fb_error(FB_ERR_FORMAT, "%s: ...", path)`;
 * the message stays until the next failure on the same thread, so the CLI can
 * print exactly what went wrong after unwinding.
 */
#include "freqbias/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_message[1024];

fb_status fb_error(fb_status code, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, args);
    va_end(args);
    return code;
}

const char *fb_error_message(void) { return last_message; }

const char *fb_status_name(fb_status code)
{
    switch (code) {
    case FB_OK: return "ok";
    case FB_ERR_USAGE: return "usage";
    case FB_ERR_IO: return "io";
    case FB_ERR_FORMAT: return "format";
    case FB_ERR_SHAPE: return "shape";
    case FB_ERR_NOMEM: return "out of memory";
    case FB_ERR_UNSUPPORTED: return "unsupported";
    case FB_ERR_NUMERIC: return "numeric";
    }
    return "unknown";
}

int fb_status_exit_code(fb_status code)
{
    switch (code) {
    case FB_OK: return 0;
    case FB_ERR_USAGE: return 1;
    case FB_ERR_NUMERIC: return 3;
    default: return 2;
    }
}
