/*
 * Pure parsing of QEMU's qtest protocol (system/qtest.c): lines are
 * "OK [value]", "FAIL reason", "ERR reason", or asynchronous
 * "IRQ raise N" / "IRQ lower N" that may arrive before any reply.
 * No I/O here, so that the unit tests can feed any byte sequence.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

/* Interrupt lines QEMU may report (irq_intercept_in on the IOAPIC: 24). */
#define RIG_QTEST_MAX_IRQ 256

typedef enum {
    RIG_QTEST_LINE_OK,
    RIG_QTEST_LINE_FAIL,
    RIG_QTEST_LINE_IRQ,
} RigQtestLineKind;

typedef struct {
    RigQtestLineKind kind;
    /* Text after "OK "/"FAIL "/"ERR " (points into the line), or "". */
    const char *payload;
    /* For RIG_QTEST_LINE_IRQ: the line number and its new level. */
    int irq;
    gboolean irq_raised;
} RigQtestLine;

/**
 * rig_qtest_parse_line:
 * @line: one line without its newline (borrowed; @ret_line points into it)
 * @ret_line: (out): the classified line, set only on success
 *
 * Returns: 0, or -EPROTO when @line is not a qtest reply or IRQ line.
 */
int rig_qtest_parse_line(const char *line, RigQtestLine *ret_line);

/**
 * rig_qtest_parse_u64:
 * @payload: an OK payload such as "0x00000000000000ff" (borrowed)
 * @ret_value: (out): the number, set only on success
 *
 * Returns: 0, or -EPROTO when @payload is not exactly one number.
 */
int rig_qtest_parse_u64(const char *payload, uint64_t *ret_value);

/**
 * rig_qtest_linebuf_pop:
 * @buf: bytes received so far (borrowed); a complete line is removed
 * @ret_line: (out) (transfer full): the first complete line without "\n",
 *   set only when one is complete; free with g_free()
 *
 * Returns: TRUE when a line was taken from @buf.
 */
gboolean rig_qtest_linebuf_pop(GString *buf, char **ret_line);
