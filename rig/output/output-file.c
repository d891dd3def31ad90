/*
 * Output files: atomic replace of regular files, write-through of devices
 * and FIFOs, symlinks resolved (output-file.h says why).
 */
#include "output/output-file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* Linux's own limit on symlinks followed in one lookup */
#define MAX_SYMLINKS 40

struct RigOutputFile {
    char *path;   /* as the user gave it: every message names it */
    char *target; /* symlinks resolved */
    char *tmp;    /* temporary file renamed over target; NULL: write-through */
    int fd;
};

/* "PATH: WHAT WHERE: REASON", or "PATH: REASON" without @what */
static gboolean set_errno_error(GError **error, int errsv, const char *path,
                                const char *what, const char *where)
{
    g_autoptr(GString) msg = g_string_new(path);

    g_string_append(msg, ": ");
    if (*what) {
        g_string_append(msg, what);
        if (where) {
            g_string_append_printf(msg, " %s", where);
        }
        g_string_append(msg, ": ");
    }
    g_string_append(msg, g_strerror(errsv));
    g_set_error_literal(error, G_FILE_ERROR, g_file_error_from_errno(errsv),
                        msg->str);
    return FALSE;
}

/*
 * One step along a symlink chain: the path @cur's link points to, resolved
 * against @cur's directory.  Returns NULL with *ret_is_link FALSE when
 * @cur is no symlink (or does not exist), NULL with @error set when the
 * link can not be read.
 */
static char *follow_link(const char *cur, gboolean *ret_is_link, GError **error)
{
    g_autofree char *link = NULL;
    g_autofree char *dir = NULL;
    struct stat st;

    *ret_is_link = lstat(cur, &st) == 0 && S_ISLNK(st.st_mode);
    if (!*ret_is_link) {
        return NULL;
    }
    link = g_file_read_link(cur, error);
    if (!link || g_path_is_absolute(link)) {
        return g_steal_pointer(&link);
    }
    dir = g_path_get_dirname(cur);
    return g_build_filename(dir, link, NULL);
}

/*
 * Where nothing exists yet, follows @path through its symlinks (a dangling
 * one names where the file will be created).
 */
static gboolean resolve_absent(const char *path, char **ret_target,
                               GError **error)
{
    g_autofree char *cur = g_strdup(path);

    for (int i = 0; i <= MAX_SYMLINKS; i++) {
        GError *local = NULL;
        gboolean is_link;
        char *next = follow_link(cur, &is_link, &local);

        if (!is_link) {
            *ret_target = g_steal_pointer(&cur);
            return TRUE;
        }
        if (!next) {
            g_propagate_prefixed_error(error, local, "%s: ", path);
            return FALSE;
        }
        g_free(cur);
        cur = next;
    }
    return set_errno_error(error, ELOOP, path, "can not resolve", NULL);
}

/*
 * What @path is, through every symlink: stat() follows them all, /proc's
 * "magic" ones included (/dev/stdout -> /proc/self/fd/1 -> pipe:[N]).  A
 * regular file is named by its real path (the rename goes there, the link
 * stays); anything else is opened through @path itself.  Sets *ret_st when
 * something exists.
 */
static gboolean resolve(const char *path, char **ret_target,
                        gboolean *ret_exists, struct stat *ret_st,
                        GError **error)
{
    struct stat st;
    char *real;

    if (stat(path, &st) < 0) {
        if (errno != ENOENT) {
            return set_errno_error(error, errno, path, "can not look up", NULL);
        }
        *ret_exists = FALSE;
        return resolve_absent(path, ret_target, error);
    }
    if (S_ISDIR(st.st_mode)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_ISDIR,
                    "%s: is a directory, not a file", path);
        return FALSE;
    }
    if (S_ISREG(st.st_mode)) {
        real = realpath(path, NULL);
        if (!real) {
            return set_errno_error(error, errno, path, "can not resolve", NULL);
        }
        *ret_target = g_strdup(real);
        free(real);
    } else {
        *ret_target = g_strdup(path);
    }
    *ret_exists = TRUE;
    *ret_st = st;
    return TRUE;
}

/*
 * The descriptor @path names when it is one of this process's own: "-"
 * is 1; /dev/stdout, /dev/fd/N and /proc/self/fd/N lead (through
 * symlinks) to /proc/PID/fd/N.  Such an output is the descriptor itself
 * (dup): opening the path anew would write a regular file from offset 0
 * over what the process printed, and replacing it would detach the file
 * from the shell's redirection.  Returns -1 for any other path.
 */
static int own_fd(const char *path)
{
    g_autofree char *cur = g_strdup(path);
    g_autofree char *fd_dir = g_strdup_printf("/proc/%d/fd", (int)getpid());

    if (g_str_equal(path, "-")) {
        return STDOUT_FILENO;
    }
    for (int i = 0; cur && i <= MAX_SYMLINKS; i++) {
        g_autofree char *dir = g_path_get_dirname(cur);
        g_autofree char *base = g_path_get_basename(cur);
        char *real_dir = realpath(dir, NULL);
        gboolean ours = real_dir && g_str_equal(real_dir, fd_dir);
        gboolean is_link;
        char *next;
        guint64 n;

        free(real_dir);
        if (ours &&
            g_ascii_string_to_unsigned(base, 10, 0, G_MAXINT, &n, NULL)) {
            return (int)n;
        }
        next = follow_link(cur, &is_link, NULL);
        g_free(cur);
        cur = next;
    }
    return -1;
}

gboolean rig_output_is_stdout(const char *path)
{
    return path && own_fd(path) == STDOUT_FILENO;
}

static gboolean check_own_fd(const char *path, int fd, GError **error)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0) {
        return set_errno_error(error, errno, path, "", NULL);
    }
    if ((flags & O_ACCMODE) == O_RDONLY) {
        return set_errno_error(error, EBADF, path, "is open read-only", NULL);
    }
    return TRUE;
}

static gboolean is_replaceable(gboolean exists, const struct stat *st)
{
    return !exists || S_ISREG(st->st_mode);
}

/* A hidden temporary file next to @target, open for writing. */
static int create_temp(const char *target, int mode, char **ret_tmp)
{
    g_autofree char *dir = g_path_get_dirname(target);
    g_autofree char *base = g_path_get_basename(target);
    g_autofree char *tmpl = NULL;
    int fd;

    tmpl = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
    fd = g_mkstemp_full(tmpl, O_WRONLY | O_CLOEXEC, mode);
    if (fd >= 0) {
        *ret_tmp = g_steal_pointer(&tmpl);
    }
    return fd;
}

static gboolean probe_dir(const char *path, const char *target, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(target);
    g_autofree char *tmp = NULL;
    int fd = create_temp(target, 0600, &tmp);
    int errsv;

    if (fd < 0) {
        return set_errno_error(error, errno, path, "can not create a file in",
                               dir);
    }
    /* a full file system refuses the first block, not the empty file */
    errsv = write(fd, "\n", 1) == 1 ? 0 : errno;
    close(fd);
    g_unlink(tmp);
    if (errsv) {
        return set_errno_error(error, errsv, path, "can not write in", dir);
    }
    return TRUE;
}

gboolean rig_output_check(const char *path, GError **error)
{
    g_autofree char *target = NULL;
    gboolean exists;
    struct stat st;
    int fd;
    int own;

    g_return_val_if_fail(path != NULL, FALSE);

    own = own_fd(path);
    if (own >= 0) {
        return check_own_fd(path, own, error);
    }
    if (!resolve(path, &target, &exists, &st, error)) {
        return FALSE;
    }
    if (is_replaceable(exists, &st)) {
        return probe_dir(path, target, error);
    }
    if (S_ISFIFO(st.st_mode)) {
        /* opening a FIFO waits for its reader: only ask */
        if (access(target, W_OK) < 0) {
            return set_errno_error(error, errno, path, "", NULL);
        }
        return TRUE;
    }
    fd = open(target, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        return set_errno_error(error, errno, path, "can not open", NULL);
    }
    close(fd);
    return TRUE;
}

gboolean rig_output_check_dir(const char *dir, GError **error)
{
    g_autofree char *probe = g_build_filename(dir, "probe", NULL);

    return probe_dir(dir, probe, error);
}

gboolean rig_output_is_stream(const char *path)
{
    g_autofree char *target = NULL;
    gboolean exists;
    struct stat st;

    if (own_fd(path) >= 0) {
        return TRUE;
    }
    /* a path that does not resolve is an error later, not a stream */
    return resolve(path, &target, &exists, &st, NULL) &&
           !is_replaceable(exists, &st);
}

static int default_mode(void)
{
    mode_t mask = umask(0);

    umask(mask);
    return 0666 & ~(int)mask;
}

RigOutputFile *rig_output_file_open(const char *path, GError **error)
{
    g_autoptr(RigOutputFile) f = NULL;
    gboolean exists;
    struct stat st;
    int own;

    g_return_val_if_fail(path != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    f = g_new0(RigOutputFile, 1);
    f->fd = -1;
    f->path = g_strdup(path);
    own = own_fd(path);
    if (own >= 0) {
        f->target = g_strdup(path);
        /* what stdio holds must come before this output */
        fflush(stdout);
        fflush(stderr);
        f->fd = fcntl(own, F_DUPFD_CLOEXEC, 3);
        if (f->fd < 0) {
            set_errno_error(error, errno, path, "", NULL);
            return NULL;
        }
        return g_steal_pointer(&f);
    }
    if (!resolve(path, &f->target, &exists, &st, error)) {
        return NULL;
    }
    if (is_replaceable(exists, &st)) {
        int mode = exists ? (int)(st.st_mode & 07777) : default_mode();
        g_autofree char *dir = g_path_get_dirname(f->target);

        f->fd = create_temp(f->target, mode, &f->tmp);
        if (f->fd < 0) {
            set_errno_error(error, errno, path, "can not create a file in",
                            dir);
            return NULL;
        }
        /* g_mkstemp_full() applies the umask; an existing file keeps its */
        if (exists) {
            fchmod(f->fd, (mode_t)mode);
        }
        return g_steal_pointer(&f);
    }
    f->fd = open(f->target, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (f->fd < 0) {
        set_errno_error(error, errno, path, "can not open", NULL);
        return NULL;
    }
    return g_steal_pointer(&f);
}

gboolean rig_output_file_write(RigOutputFile *file, const void *data, gsize len,
                               GError **error)
{
    const char *p = data;

    g_return_val_if_fail(file != NULL && file->fd >= 0, FALSE);

    while (len > 0) {
        ssize_t n = write(file->fd, p, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return set_errno_error(error, n < 0 ? errno : ENOSPC, file->path,
                                   "writing failed", NULL);
        }
        p += n;
        len -= (gsize)n;
    }
    return TRUE;
}

FILE *rig_output_file_dup_stream(RigOutputFile *file, GError **error)
{
    int fd;
    FILE *stream;

    g_return_val_if_fail(file != NULL && file->fd >= 0, NULL);

    fd = fcntl(file->fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
        set_errno_error(error, errno, file->path, "", NULL);
        return NULL;
    }
    stream = fdopen(fd, "wb");
    if (!stream) {
        set_errno_error(error, errno, file->path, "", NULL);
        close(fd);
    }
    return stream;
}

gboolean rig_output_file_commit(RigOutputFile *file, GError **error)
{
    g_autoptr(RigOutputFile) f = file;
    int fd;

    g_return_val_if_fail(file != NULL && file->fd >= 0, FALSE);

    fd = f->fd;
    f->fd = -1;
    if (!f->tmp) {
        /* a device or FIFO: what it did with the data is its business,
         * but a refused write (ENOSPC of /dev/full) surfaced already */
        if (close(fd) < 0 && errno != EINTR) {
            return set_errno_error(error, errno, f->path, "writing failed",
                                   NULL);
        }
        return TRUE;
    }
    /* a full or failing disk may only say so here */
    if (fsync(fd) < 0) {
        int errsv = errno;

        close(fd);
        return set_errno_error(error, errsv, f->path, "writing failed", NULL);
    }
    if (close(fd) < 0) {
        return set_errno_error(error, errno, f->path, "writing failed", NULL);
    }
    if (g_rename(f->tmp, f->target) < 0) {
        return set_errno_error(error, errno, f->path, "can not replace",
                               g_str_equal(f->path, f->target) ? NULL
                                                               : f->target);
    }
    g_clear_pointer(&f->tmp, g_free);
    return TRUE;
}

void rig_output_file_free(RigOutputFile *file)
{
    if (!file) {
        return;
    }
    if (file->fd >= 0) {
        close(file->fd);
    }
    if (file->tmp) {
        g_unlink(file->tmp);
    }
    g_free(file->path);
    g_free(file->target);
    g_free(file->tmp);
    g_free(file);
}

gboolean rig_output_write(const char *path, const void *data, gsize len,
                          GError **error)
{
    g_autoptr(RigOutputFile) f = rig_output_file_open(path, error);

    return f && rig_output_file_write(f, data, len, error) &&
           rig_output_file_commit(g_steal_pointer(&f), error);
}
