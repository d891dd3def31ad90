/*
 * pcap files through libpcap with nanosecond timestamps.  libpcap has no
 * pcapng writer, so we write pcap with the nanosecond magic number.
 */
#include "net/pcap-writer.h"

#include <errno.h>
#include <string.h>

#include <pcap/pcap.h>

#include "output/output-file.h"

#define NSEC_PER_SEC G_GINT64_CONSTANT(1000000000)

/* clang-format off */
G_DEFINE_QUARK(rig-pcap-error-quark, rig_pcap_error)
/* clang-format on */

struct RigPcapWriter {
    pcap_t *dead;
    RigOutputFile *out; /* replaced on close, or written through */
    pcap_dumper_t *dumper;
    char *path;
    guint snaplen;
};

struct RigPcapReader {
    pcap_t *pcap;
    char *path;
};

RigPcapWriter *rig_pcap_writer_new(const char *path, int linktype,
                                   guint snaplen, GError **error)
{
    g_autoptr(RigPcapWriter) w = NULL;
    g_autoptr(GError) local = NULL;
    FILE *stream;

    g_return_val_if_fail(path != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    w = g_new0(RigPcapWriter, 1);
    w->path = g_strdup(path);
    w->snaplen = snaplen ? snaplen : RIG_PCAP_SNAPLEN_DEFAULT;
    /* The "dead" handle only carries link type, snaplen and the
     * precision that pcap_dump_open() writes into the file header. */
    w->dead = pcap_open_dead_with_tstamp_precision(linktype, (int)w->snaplen,
                                                   PCAP_TSTAMP_PRECISION_NANO);
    if (!w->dead) {
        g_set_error(error, RIG_PCAP_ERROR, RIG_PCAP_ERROR_INVALID,
                    "libpcap rejected link type %d for %s", linktype, path);
        return NULL;
    }
    /* the one output mechanism of the rig, not pcap_dump_open(): it
     * resolves symlinks, writes devices through and replaces files
     * atomically on close */
    w->out = rig_output_file_open(path, &local);
    stream = w->out ? rig_output_file_dup_stream(w->out, &local) : NULL;
    if (!stream) {
        g_set_error(error, RIG_PCAP_ERROR, RIG_PCAP_ERROR_OPEN,
                    "cannot create capture file %s", local->message);
        return NULL;
    }
    w->dumper = pcap_dump_fopen(w->dead, stream);
    if (!w->dumper) {
        g_set_error(error, RIG_PCAP_ERROR, RIG_PCAP_ERROR_OPEN,
                    "cannot create capture file %s: %s", path,
                    pcap_geterr(w->dead));
        fclose(stream);
        return NULL;
    }
    return g_steal_pointer(&w);
}

gboolean rig_pcap_writer_write(RigPcapWriter *writer, gint64 ts_ns,
                               const guint8 *frame, gsize caplen, gsize origlen,
                               GError **error)
{
    struct pcap_pkthdr hdr;

    g_return_val_if_fail(writer != NULL && writer->dumper != NULL, FALSE);
    g_return_val_if_fail(frame != NULL || caplen == 0, FALSE);

    /* pcap stores seconds as a signed 32-bit field: 2038 is the limit. */
    if (caplen > writer->snaplen || origlen < caplen || origlen > G_MAXUINT32 ||
        ts_ns < 0 || ts_ns / NSEC_PER_SEC > G_MAXINT32) {
        g_set_error(error, RIG_PCAP_ERROR, RIG_PCAP_ERROR_INVALID,
                    "record for %s invalid: caplen %" G_GSIZE_FORMAT
                    ", origlen %" G_GSIZE_FORMAT
                    ", snaplen %u, ts %" G_GINT64_FORMAT,
                    writer->path, caplen, origlen, writer->snaplen, ts_ns);
        return FALSE;
    }
    memset(&hdr, 0, sizeof(hdr));
    /* With nanosecond precision libpcap stores tv_usec as nanoseconds. */
    hdr.ts.tv_sec = (time_t)(ts_ns / NSEC_PER_SEC);
    hdr.ts.tv_usec = (suseconds_t)(ts_ns % NSEC_PER_SEC);
    hdr.caplen = (bpf_u_int32)caplen;
    hdr.len = (bpf_u_int32)origlen;
    pcap_dump((u_char *)writer->dumper, &hdr, frame);
    if (ferror(pcap_dump_file(writer->dumper))) {
        g_set_error(error, RIG_PCAP_ERROR, RIG_PCAP_ERROR_WRITE,
                    "writing to %s failed: %s", writer->path,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

gboolean rig_pcap_writer_flush(RigPcapWriter *writer, GError **error)
{
    g_return_val_if_fail(writer != NULL && writer->dumper != NULL, FALSE);

    if (pcap_dump_flush(writer->dumper) != 0) {
        g_set_error(error, RIG_PCAP_ERROR, RIG_PCAP_ERROR_WRITE,
                    "flushing %s failed: %s", writer->path, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

gboolean rig_pcap_writer_close(RigPcapWriter *writer, GError **error)
{
    g_autoptr(RigPcapWriter) w = writer;
    g_autoptr(GError) local = NULL;
    gboolean ok;

    g_return_val_if_fail(writer != NULL, FALSE);

    ok = rig_pcap_writer_flush(w, error);
    /* pcap_dump_close() calls fclose() without reporting its result; the
     * flush above already surfaced write errors. */
    pcap_dump_close(w->dumper);
    w->dumper = NULL;
    if (!ok) {
        return FALSE;
    }
    if (!rig_output_file_commit(g_steal_pointer(&w->out), &local)) {
        g_set_error(error, RIG_PCAP_ERROR, RIG_PCAP_ERROR_WRITE, "%s",
                    local->message);
        return FALSE;
    }
    return TRUE;
}

void rig_pcap_writer_free(RigPcapWriter *writer)
{
    if (!writer) {
        return;
    }
    if (writer->dumper) {
        pcap_dump_close(writer->dumper);
    }
    if (writer->dead) {
        pcap_close(writer->dead);
    }
    /* not closed: abandoned, the target keeps what it had */
    rig_output_file_free(writer->out);
    g_free(writer->path);
    g_free(writer);
}

RigPcapReader *rig_pcap_reader_new(const char *path, GError **error)
{
    g_autoptr(RigPcapReader) r = NULL;
    char errbuf[PCAP_ERRBUF_SIZE] = "";

    g_return_val_if_fail(path != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    r = g_new0(RigPcapReader, 1);
    r->path = g_strdup(path);
    /* Asking for nanoseconds makes libpcap scale microsecond files up. */
    r->pcap = pcap_open_offline_with_tstamp_precision(
        path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!r->pcap) {
        g_set_error(error, RIG_PCAP_ERROR, RIG_PCAP_ERROR_OPEN,
                    "cannot read capture file %s: %s", path, errbuf);
        return NULL;
    }
    return g_steal_pointer(&r);
}

int rig_pcap_reader_get_linktype(RigPcapReader *reader)
{
    g_return_val_if_fail(reader != NULL, -1);

    return pcap_datalink(reader->pcap);
}

gboolean rig_pcap_reader_next(RigPcapReader *reader, RigPcapRecord *ret_record,
                              gboolean *ret_eof, GError **error)
{
    struct pcap_pkthdr *hdr = NULL;
    const u_char *data = NULL;
    int r;

    g_return_val_if_fail(reader != NULL, FALSE);
    g_return_val_if_fail(ret_record != NULL && ret_eof != NULL, FALSE);

    r = pcap_next_ex(reader->pcap, &hdr, &data);
    if (r == PCAP_ERROR_BREAK) {
        *ret_eof = TRUE;
        return TRUE;
    }
    if (r != 1) {
        g_set_error(error, RIG_PCAP_ERROR, RIG_PCAP_ERROR_READ,
                    "reading %s failed: %s", reader->path,
                    pcap_geterr(reader->pcap));
        return FALSE;
    }
    ret_record->ts_ns =
        (gint64)hdr->ts.tv_sec * NSEC_PER_SEC + (gint64)hdr->ts.tv_usec;
    ret_record->data = data;
    ret_record->caplen = hdr->caplen;
    ret_record->origlen = hdr->len;
    *ret_eof = FALSE;
    return TRUE;
}

void rig_pcap_reader_free(RigPcapReader *reader)
{
    if (!reader) {
        return;
    }
    if (reader->pcap) {
        pcap_close(reader->pcap);
    }
    g_free(reader->path);
    g_free(reader);
}
