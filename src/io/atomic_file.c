/* atomic_file.c — crash-safe file replacement: temp file, fsync, rename.
 *
 * The sequence, and why each step is there:
 *   1. mkstemp("<path>.tmp.XXXXXX") in the folder of <path>: a unique name on
 *      the same file system, so step 4 is a plain rename(2), which POSIX makes
 *      atomic. mkstemp creates the file with mode 0600; we widen it to what
 *      fopen would have given (0666 minus the umask).
 *   2. The caller writes through a FILE*.
 *   3. fflush + fsync: the data is on disk before the name points at it.
 *   4. rename over <path>: readers see the old file or the new one.
 *   5. fsync of the folder: the new directory entry is on disk too.
 * Any failure removes the temp file and reports the path and strerror(errno).
 */
#include "freqbias/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void clear_handle(fb_atomic_file *file)
{
    free(file->path);
    free(file->temp_path);
    file->stream = NULL;
    file->path = NULL;
    file->temp_path = NULL;
}

/* The umask can only be read by setting it; this restores it at once. (A
 * thread creating files at this very moment could see 022; acceptable for a
 * tool that writes its files from the main thread.) */
static mode_t default_file_mode(void)
{
    mode_t mask = umask(022);
    umask(mask);
    return 0666 & ~mask;
}

fb_status fb_atomic_open(const char *path, fb_atomic_file *file)
{
    static const char suffix[] = ".tmp.XXXXXX";
    file->stream = NULL;
    file->path = strdup(path);
    file->temp_path = malloc(strlen(path) + sizeof suffix);
    if (file->path == NULL || file->temp_path == NULL) {
        clear_handle(file);
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    }
    strcpy(file->temp_path, path);
    strcat(file->temp_path, suffix);

    int fd = mkstemp(file->temp_path);
    if (fd < 0) {
        int saved = errno;
        clear_handle(file);
        return fb_error(FB_ERR_IO, "%s: cannot create a temporary file next to it: %s", path,
                        strerror(saved));
    }
    if (fchmod(fd, default_file_mode()) != 0 || (file->stream = fdopen(fd, "wb")) == NULL) {
        int saved = errno;
        close(fd);
        unlink(file->temp_path);
        clear_handle(file);
        return fb_error(FB_ERR_IO, "%s: cannot prepare temporary file: %s", path,
                        strerror(saved));
    }
    return FB_OK;
}

/* fsync of the folder holding path; file systems that cannot sync a folder
 * answer EINVAL, which is not an error for us. */
static int sync_parent_folder(const char *path)
{
    char *folder = strdup(path);
    if (folder == NULL)
        return -1;
    char *slash = strrchr(folder, '/');
    if (slash == NULL)
        strcpy(folder, ".");
    else if (slash == folder)
        folder[1] = '\0';
    else
        *slash = '\0';
    int fd = open(folder, O_RDONLY | O_DIRECTORY);
    int saved = errno;
    free(folder);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    int result = fsync(fd);
    saved = errno;
    close(fd);
    if (result != 0 && saved == EINVAL)
        return 0;
    errno = saved;
    return result;
}

fb_status fb_atomic_commit(fb_atomic_file *file)
{
    if (file->stream == NULL)
        return fb_error(FB_ERR_USAGE, "atomic commit of a file that is not open");

    const char *step = NULL;
    int saved = 0;
    if (ferror(file->stream)) {
        step = "write failed";
        saved = EIO;
    } else if (fflush(file->stream) != 0) {
        step = "write failed";
        saved = errno;
    } else if (fsync(fileno(file->stream)) != 0) {
        step = "fsync failed";
        saved = errno;
    }
    if (fclose(file->stream) != 0 && step == NULL) {
        step = "close failed";
        saved = errno;
    }
    file->stream = NULL;
    if (step == NULL && rename(file->temp_path, file->path) != 0) {
        step = "rename of the temporary file failed";
        saved = errno;
    }
    if (step != NULL) {
        unlink(file->temp_path);
        fb_status status = fb_error(FB_ERR_IO, "%s: %s: %s", file->path, step, strerror(saved));
        clear_handle(file);
        return status;
    }
    if (sync_parent_folder(file->path) != 0) {
        saved = errno;
        fb_status status = fb_error(FB_ERR_IO, "%s: fsync of the folder failed: %s", file->path,
                                    strerror(saved));
        clear_handle(file);
        return status;
    }
    clear_handle(file);
    return FB_OK;
}

void fb_atomic_abort(fb_atomic_file *file)
{
    if (file->stream != NULL)
        fclose(file->stream);
    if (file->temp_path != NULL)
        unlink(file->temp_path);
    clear_handle(file);
}
