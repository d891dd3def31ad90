/*
 * streamframe.h - QEMU "-netdev stream" framing
 *
 * QEMU's stream netdev (and the older "-netdev socket" in stream mode)
 * sends every Ethernet frame as a 4-byte big-endian length followed by the
 * frame.  The decoder turns a byte stream back into frames, however the
 * bytes were split by the socket.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#define TRAFGEN_STREAM_HDR_LEN 4
/* QEMU rejects larger frames (NET_BUFSIZE is 4096 + 65536) */
#define TRAFGEN_STREAM_MAX_FRAME (4096 + 65536)

/**
 * trafgen_stream_put_header:
 * @hdr: 4 bytes to fill
 * @frame_len: length of the frame that follows
 *
 * Returns: 0, or -EMSGSIZE when @frame_len exceeds the QEMU maximum.
 */
int trafgen_stream_put_header(uint8_t hdr[TRAFGEN_STREAM_HDR_LEN],
                              size_t frame_len);

typedef struct TrafgenStreamDecoder TrafgenStreamDecoder;

/**
 * trafgen_stream_decoder_new:
 *
 * Returns: (transfer full): a decoder; free with trafgen_stream_decoder_free.
 */
TrafgenStreamDecoder *trafgen_stream_decoder_new(void);

/**
 * trafgen_stream_decoder_free:
 * @decoder: (nullable): decoder to free
 */
void trafgen_stream_decoder_free(TrafgenStreamDecoder *decoder);

/**
 * trafgen_stream_decoder_feed:
 * @decoder: decoder
 * @data: bytes read from the stream
 * @len: their number
 */
void trafgen_stream_decoder_feed(TrafgenStreamDecoder *decoder,
                                 const uint8_t *data, size_t len);

/**
 * trafgen_stream_decoder_next:
 * @decoder: decoder
 * @ret_frame: set to the next complete frame (transfer full, g_bytes_unref)
 *
 * Returns: 1 when a frame was returned, 0 when more bytes are needed,
 * -EMSGSIZE when the stream announced a frame larger than QEMU allows (the
 * stream is then unusable).
 */
int trafgen_stream_decoder_next(TrafgenStreamDecoder *decoder,
                                GBytes **ret_frame);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrafgenStreamDecoder, trafgen_stream_decoder_free)
