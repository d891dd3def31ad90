#include "guest/qtest-parse.h"

#include <errno.h>
#include <string.h>

static const char *skip_word(const char *line, const char *word)
{
    size_t n = strlen(word);

    if (strncmp(line, word, n) != 0) {
        return NULL;
    }
    if (line[n] == '\0') {
        return line + n;
    }
    if (line[n] == ' ') {
        return line + n + 1;
    }
    return NULL;
}

int rig_qtest_parse_line(const char *line, RigQtestLine *ret_line)
{
    const char *rest;

    if ((rest = skip_word(line, "OK"))) {
        *ret_line = (RigQtestLine){.kind = RIG_QTEST_LINE_OK, .payload = rest};
        return 0;
    }
    if ((rest = skip_word(line, "FAIL")) || (rest = skip_word(line, "ERR"))) {
        *ret_line =
            (RigQtestLine){.kind = RIG_QTEST_LINE_FAIL, .payload = rest};
        return 0;
    }
    if ((rest = skip_word(line, "IRQ"))) {
        gboolean raised;
        const char *num;
        char *end = NULL;
        long irq;

        if ((num = skip_word(rest, "raise"))) {
            raised = TRUE;
        } else if ((num = skip_word(rest, "lower"))) {
            raised = FALSE;
        } else {
            return -EPROTO;
        }
        if (!g_ascii_isdigit(num[0])) {
            return -EPROTO;
        }
        errno = 0;
        irq = strtol(num, &end, 10);
        if (errno != 0 || *end != '\0' || irq < 0 || irq >= RIG_QTEST_MAX_IRQ) {
            return -EPROTO;
        }
        *ret_line = (RigQtestLine){
            .kind = RIG_QTEST_LINE_IRQ,
            .payload = num,
            .irq = (int)irq,
            .irq_raised = raised,
        };
        return 0;
    }
    return -EPROTO;
}

int rig_qtest_parse_u64(const char *payload, uint64_t *ret_value)
{
    guint64 value;
    char *end = NULL;

    if (!g_ascii_isxdigit(payload[0])) {
        return -EPROTO;
    }
    errno = 0;
    value = g_ascii_strtoull(payload, &end, 0);
    if (errno != 0 || end == payload || *end != '\0') {
        return -EPROTO;
    }
    *ret_value = value;
    return 0;
}

gboolean rig_qtest_linebuf_pop(GString *buf, char **ret_line)
{
    const char *nl = memchr(buf->str, '\n', buf->len);
    size_t n;

    if (!nl) {
        return FALSE;
    }
    n = (size_t)(nl - buf->str);
    *ret_line = g_strndup(buf->str, n);
    g_string_erase(buf, 0, (gssize)(n + 1));
    return TRUE;
}
