/*
 * pcap output and input through libpcap, with nanosecond timestamps.
 *
 * libpcap 1.10 can only *write* classic pcap (pcap_dump_*); it has no
 * pcapng writer API.  We write pcap with the nanosecond magic (a1b23c4d),
 * which Wireshark/tshark and libpcap read natively.  Reading accepts both
 * pcap and pcapng (pcap_open_offline does).
 *
 * Unlike the rest of rig/net this part allocates (libpcap does) and reports
 * errors through GError (domain RIG_PCAP_ERROR).
 */
#pragma once

#include <stdint.h>

#include <glib.h>

#define RIG_PCAP_LINKTYPE_ETHERNET 1   /* DLT_EN10MB */
#define RIG_PCAP_LINKTYPE_RAW      101 /* LINKTYPE_RAW: starts at IPv4/IPv6 */
#define RIG_PCAP_SNAPLEN_DEFAULT   262144

#define RIG_PCAP_ERROR (rig_pcap_error_quark())
typedef enum RigPcapError {
    RIG_PCAP_ERROR_OPEN,   /* file cannot be created/opened or parsed */
    RIG_PCAP_ERROR_WRITE,  /* write/flush failed */
    RIG_PCAP_ERROR_READ,   /* corrupt or truncated record */
    RIG_PCAP_ERROR_INVALID /* bad argument (caplen > snaplen, ...) */
} RigPcapError;

/**
 * rig_pcap_error_quark:
 * Returns: the GError domain of this file.
 */
GQuark rig_pcap_error_quark(void);

typedef struct RigPcapWriter RigPcapWriter;

/**
 * rig_pcap_writer_new:
 * @path: file to create, "-" for standard output; written through
 *   rig/output (output-file.h): a regular file is replaced when the writer
 *   is closed, a device or FIFO is written through, symlinks are followed
 * @linktype: RIG_PCAP_LINKTYPE_* (a pcap LINKTYPE_ value)
 * @snaplen: largest record; 0 means RIG_PCAP_SNAPLEN_DEFAULT
 * @error: return location for a GError
 *
 * Returns: (transfer full): a writer to free with rig_pcap_writer_free(),
 * or NULL with @error set.
 */
RigPcapWriter *rig_pcap_writer_new(const char *path, int linktype,
                                   guint snaplen, GError **error);

/**
 * rig_pcap_writer_write:
 * @writer: a writer
 * @ts_ns: timestamp, nanoseconds since the Unix epoch (CLOCK_REALTIME),
 *   from 0 to 2^31 s - 1 ns (the pcap format ends in 2038)
 * @frame: the captured bytes (borrowed)
 * @caplen: number of bytes of @frame to store (<= snaplen)
 * @origlen: original length on the wire (>= @caplen)
 * @error: return location for a GError
 *
 * Returns: TRUE, or FALSE with @error set.
 */
gboolean rig_pcap_writer_write(RigPcapWriter *writer, gint64 ts_ns,
                               const guint8 *frame, gsize caplen, gsize origlen,
                               GError **error);

/**
 * rig_pcap_writer_flush:
 * Returns: TRUE once every record written so far has left the process (a
 * regular file shows them once rig_pcap_writer_close() replaced it), or
 * FALSE with @error set.
 */
gboolean rig_pcap_writer_flush(RigPcapWriter *writer, GError **error);

/**
 * rig_pcap_writer_close:
 * @writer: (transfer full): a writer, freed whatever the result
 * @error: return location for a GError
 *
 * Flushes and closes the file, reporting a failure that
 * rig_pcap_writer_free() would silently ignore.
 *
 * Returns: TRUE, or FALSE with @error set.
 */
gboolean rig_pcap_writer_close(RigPcapWriter *writer, GError **error);

/**
 * rig_pcap_writer_free:
 * @writer: (transfer full) (nullable): a writer that was not closed is
 *   abandoned: a file it was to replace keeps its old content (or stays
 *   absent).
 */
void rig_pcap_writer_free(RigPcapWriter *writer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigPcapWriter, rig_pcap_writer_free)

typedef struct RigPcapReader RigPcapReader;

/* One record, valid until the next rig_pcap_reader_next() or free. */
typedef struct RigPcapRecord {
    gint64 ts_ns;       /* nanoseconds since the epoch */
    const guint8 *data; /* (transfer none) */
    gsize caplen;
    gsize origlen;
} RigPcapRecord;

/**
 * rig_pcap_reader_new:
 * @path: a pcap or pcapng file
 * @error: return location for a GError
 *
 * Returns: (transfer full): a reader for rig_pcap_reader_free(), or NULL
 * with @error set.
 */
RigPcapReader *rig_pcap_reader_new(const char *path, GError **error);

/**
 * rig_pcap_reader_get_linktype:
 * Returns: the file's LINKTYPE_ value.
 */
int rig_pcap_reader_get_linktype(RigPcapReader *reader);

/**
 * rig_pcap_reader_next:
 * @reader: a reader
 * @ret_record: (out): the next record (its data is owned by @reader);
 *   set only when the function returns TRUE and *@ret_eof is FALSE
 * @ret_eof: (out): TRUE at the end of the file
 * @error: return location for a GError
 *
 * Returns: TRUE (a record or end of file), or FALSE with @error set.
 */
gboolean rig_pcap_reader_next(RigPcapReader *reader, RigPcapRecord *ret_record,
                              gboolean *ret_eof, GError **error);

/**
 * rig_pcap_reader_free:
 * @reader: (transfer full) (nullable)
 */
void rig_pcap_reader_free(RigPcapReader *reader);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigPcapReader, rig_pcap_reader_free)
