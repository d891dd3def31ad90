/*
 * Output files named by the user (--json, --junit, --pcap, ...): one way to
 * write them for every command of the rig.
 *
 * A path is resolved through its symlinks first (the link stays, its target
 * is written).  A regular file, or a path where nothing exists yet, is
 * replaced atomically: the data goes to a temporary file in the same
 * directory, renamed over the target on commit, so a reader never sees half
 * a file and an interrupted writer leaves the old one.  Anything else (a
 * character device such as /dev/null or /dev/stdout, a FIFO, a socket, a
 * terminal) is written through in place, never replaced; "-" is standard
 * output.  A directory is refused.
 *
 * Errors name the path as the user gave it and the reason (strerror), in
 * the G_FILE_ERROR domain.
 */
#pragma once

#include <stdio.h>

#include <glib.h>

typedef struct RigOutputFile RigOutputFile;

/**
 * rig_output_check:
 * @path: an output path, "-" for standard output
 * @error: return location for a GError
 *
 * Checks, before any work is done, that @path can be written: for a path
 * replaced atomically that a file can be created (and written) in its
 * directory, for a device or FIFO that it is writable.  Creates nothing
 * that stays.
 *
 * Returns: TRUE when @path looks writable, else FALSE with @error set.
 */
gboolean rig_output_check(const char *path, GError **error);

/**
 * rig_output_check_dir:
 * @dir: a directory that outputs will be created in (must exist)
 * @error: return location for a GError
 *
 * Like rig_output_check() for files to be created in @dir.
 */
gboolean rig_output_check_dir(const char *dir, GError **error);

/**
 * rig_output_is_stream:
 * @path: an output path
 *
 * Returns: TRUE when @path is written through ("-", a device, a FIFO):
 * such a target receives every write in sequence, so a document rewritten
 * as a run goes on must be written there once, at the end.
 */
gboolean rig_output_is_stream(const char *path);

/**
 * rig_output_is_stdout:
 * @path: an output path
 *
 * Returns: TRUE when @path is this process's standard output ("-",
 * /dev/stdout, /dev/fd/1, /proc/self/fd/1): a command then moves its own
 * messages to stderr.
 */
gboolean rig_output_is_stdout(const char *path);

/**
 * rig_output_file_open:
 * @path: the output path, "-" for standard output
 * @error: return location for a GError
 *
 * Returns: (transfer full): an open output to write with
 * rig_output_file_write() or through rig_output_file_dup_stream(), then
 * rig_output_file_commit(); rig_output_file_free() without a commit
 * abandons it (the temporary file is removed, the target is unchanged).
 */
RigOutputFile *rig_output_file_open(const char *path, GError **error);

/**
 * rig_output_file_write:
 * @file: an open output
 * @data: bytes to append
 * @len: their number
 * @error: return location for a GError
 *
 * Returns: TRUE when every byte was written.
 */
gboolean rig_output_file_write(RigOutputFile *file, const void *data, gsize len,
                               GError **error);

/**
 * rig_output_file_dup_stream:
 * @file: an open output
 * @error: return location for a GError
 *
 * Returns: (transfer full): a new stdio stream on a duplicate of the
 * output's descriptor, for writers that want a FILE (libpcap).  The caller
 * flushes (checking the result) and closes it before
 * rig_output_file_commit().
 */
FILE *rig_output_file_dup_stream(RigOutputFile *file, GError **error);

/**
 * rig_output_file_commit:
 * @file: (transfer full): an open output, freed by this call
 * @error: return location for a GError
 *
 * Makes the data durable (fsync of a replaced file) and puts it in place
 * (rename over the target), or closes a written-through target.
 *
 * Returns: TRUE when the output now holds everything written.
 */
gboolean rig_output_file_commit(RigOutputFile *file, GError **error);

/**
 * rig_output_file_free:
 * @file: (nullable): an output, abandoned if not committed
 */
void rig_output_file_free(RigOutputFile *file);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigOutputFile, rig_output_file_free)

/**
 * rig_output_write:
 * @path: the output path, "-" for standard output
 * @data: the whole content
 * @len: its length
 * @error: return location for a GError
 *
 * open + write + commit: what a report writer needs.
 *
 * Returns: TRUE when @path holds @data.
 */
gboolean rig_output_write(const char *path, const void *data, gsize len,
                          GError **error);
