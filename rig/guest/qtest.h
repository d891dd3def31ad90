/*
 * A client of QEMU's qtest protocol: the rig's reference guest talks to
 * the machine through it (port I/O, guest memory, the virtual clock).
 * Every wait has a deadline; a FAIL reply becomes a GError naming the
 * command.  Commands are serialised by a mutex so that the real-time clock
 * thread and the driver can share one connection.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "guest/qtest-parse.h"

typedef struct RigQtest RigQtest;

/* Reply deadline used unless rig_qtest_set_timeout() says otherwise. */
#define RIG_QTEST_DEFAULT_TIMEOUT_MS 10000

/**
 * rig_qtest_new_from_fd:
 * @fd: a connected stream socket to QEMU's qtest chardev; ownership moves
 *   to the returned client, which closes it
 *
 * Returns: (transfer full): a client; free with rig_qtest_free().
 */
RigQtest *rig_qtest_new_from_fd(int fd);

typedef struct RigVm RigVm;

/**
 * rig_qtest_new_from_vm:
 * @vm: a VM the launcher started with a qtest connection
 * @error: return location for a GError
 *
 * Returns: (transfer full): a client on a duplicate of the VM's qtest
 *   socket (the VM keeps its own), or NULL with @error set.
 */
RigQtest *rig_qtest_new_from_vm(RigVm *vm, GError **error);

/**
 * rig_qtest_connect_unix:
 * @path: unix socket QEMU listens on (`-qtest unix:PATH,server=on,wait=off`)
 * @timeout_ms: how long to retry while the socket does not exist yet
 * @error: return location for a GError
 *
 * Returns: (transfer full): a connected client, or NULL with @error set.
 */
RigQtest *rig_qtest_connect_unix(const char *path, guint timeout_ms,
                                 GError **error);

/**
 * rig_qtest_listen_unix:
 * @path: unix socket path to create; QEMU connects to it as a client
 *   (`-qtest unix:PATH`); an existing file at @path is an error
 * @error: return location for a GError
 *
 * Returns: a listening socket fd (caller closes it), or -1 with @error set.
 */
int rig_qtest_listen_unix(const char *path, GError **error);

/**
 * rig_qtest_accept:
 * @listen_fd: from rig_qtest_listen_unix() (borrowed, not closed)
 * @timeout_ms: deadline for QEMU to connect
 * @error: return location for a GError
 *
 * Returns: (transfer full): a connected client, or NULL with @error set.
 */
RigQtest *rig_qtest_accept(int listen_fd, guint timeout_ms, GError **error);

/**
 * rig_qtest_free:
 * @q: (nullable): client to close and free
 */
void rig_qtest_free(RigQtest *q);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigQtest, rig_qtest_free)

/**
 * rig_qtest_set_timeout:
 * @q: client
 * @timeout_ms: deadline for each reply from now on
 */
void rig_qtest_set_timeout(RigQtest *q, guint timeout_ms);

/**
 * rig_qtest_command:
 * @q: client
 * @ret_payload: (out) (optional) (transfer full): text after "OK", set only
 *   on success; free with g_free()
 * @error: return location for a GError (COMMAND_FAILED carries QEMU's
 *   reason and the command; TIMEOUT, DISCONNECTED, PROTOCOL)
 * @fmt: printf format of one command line, without the newline
 *
 * Sends one command and waits for its reply; IRQ lines read meanwhile
 * update the levels returned by rig_qtest_irq_level().
 *
 * Returns: TRUE on "OK".
 */
gboolean rig_qtest_command(RigQtest *q, char **ret_payload, GError **error,
                           const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/**
 * rig_qtest_out:
 * @q: client
 * @width: 1, 2 or 4 bytes
 * @port: I/O port
 * @value: value written
 * @error: return location for a GError
 *
 * Returns: TRUE on success.
 */
gboolean rig_qtest_out(RigQtest *q, int width, uint16_t port, uint32_t value,
                       GError **error);

/**
 * rig_qtest_in:
 * @q: client
 * @width: 1, 2 or 4 bytes
 * @port: I/O port
 * @ret_value: (out): value read, set only on success
 * @error: return location for a GError
 *
 * Returns: TRUE on success.
 */
gboolean rig_qtest_in(RigQtest *q, int width, uint16_t port,
                      uint32_t *ret_value, GError **error);

/**
 * rig_qtest_write:
 * @q: client
 * @width: 1, 2, 4 or 8 bytes (guest endianness: little on x86)
 * @addr: guest physical address (RAM or MMIO)
 * @value: value written
 * @error: return location for a GError
 *
 * Returns: TRUE on success.
 */
gboolean rig_qtest_write(RigQtest *q, int width, uint64_t addr, uint64_t value,
                         GError **error);

/**
 * rig_qtest_read:
 * @q: client
 * @width: 1, 2, 4 or 8 bytes
 * @addr: guest physical address
 * @ret_value: (out): value read, set only on success
 * @error: return location for a GError
 *
 * Returns: TRUE on success.
 */
gboolean rig_qtest_read(RigQtest *q, int width, uint64_t addr,
                        uint64_t *ret_value, GError **error);

/**
 * rig_qtest_memread:
 * @q: client
 * @addr: guest physical address
 * @buf: (out caller-allocates): @len bytes
 * @len: bytes to read (> 0)
 * @error: return location for a GError
 *
 * Returns: TRUE on success (@buf is left unspecified on failure).
 */
gboolean rig_qtest_memread(RigQtest *q, uint64_t addr, void *buf, size_t len,
                           GError **error);

/**
 * rig_qtest_memwrite:
 * @q: client
 * @addr: guest physical address
 * @buf: @len bytes (borrowed)
 * @len: bytes to write (> 0)
 * @error: return location for a GError
 *
 * Returns: TRUE on success.
 */
gboolean rig_qtest_memwrite(RigQtest *q, uint64_t addr, const void *buf,
                            size_t len, GError **error);

/**
 * rig_qtest_clock_step:
 * @q: client
 * @ns: nanoseconds to advance the virtual clock; 0 means "to the next
 *   timer deadline" (fails when no timer is pending)
 * @ret_now_ns: (out) (optional): virtual clock after the step
 * @error: return location for a GError (COMMAND_FAILED also when QEMU was
 *   not started with `-accel qtest`, where it ignores clock_step)
 *
 * Returns: TRUE on success.
 */
gboolean rig_qtest_clock_step(RigQtest *q, gint64 ns, gint64 *ret_now_ns,
                              GError **error);

/**
 * rig_qtest_irq_intercept_in:
 * @q: client
 * @qom_path: device whose input GPIOs are reported, e.g. "ioapic"
 * @error: return location for a GError
 *
 * Returns: TRUE on success.
 */
gboolean rig_qtest_irq_intercept_in(RigQtest *q, const char *qom_path,
                                    GError **error);

/**
 * rig_qtest_irq_level:
 * @q: client
 * @irq: line number (< RIG_QTEST_MAX_IRQ)
 *
 * Returns: the level last reported by QEMU for @irq (FALSE if never).
 */
gboolean rig_qtest_irq_level(RigQtest *q, int irq);

/**
 * rig_qtest_check_alive:
 * @q: client
 * @error: return location (DISCONNECTED when QEMU closed the connection)
 *
 * A system call, no command: for loops that otherwise touch only shared
 * memory and would not notice that QEMU is gone.
 *
 * Returns: TRUE while the connection is open.
 */
gboolean rig_qtest_check_alive(RigQtest *q, GError **error);

/**
 * rig_qtest_command_count:
 * @q: client
 *
 * Returns: commands completed so far (for throughput figures).
 */
guint64 rig_qtest_command_count(RigQtest *q);
