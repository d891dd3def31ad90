/*
 * streamframe.c - QEMU stream netdev framing
 */
#include "trafgen/streamframe.h"

#include <errno.h>

struct TrafgenStreamDecoder {
    GByteArray *buffer;
};

int trafgen_stream_put_header(uint8_t hdr[TRAFGEN_STREAM_HDR_LEN],
                              size_t frame_len)
{
    if (frame_len > TRAFGEN_STREAM_MAX_FRAME) {
        return -EMSGSIZE;
    }
    hdr[0] = (uint8_t)(frame_len >> 24);
    hdr[1] = (uint8_t)(frame_len >> 16);
    hdr[2] = (uint8_t)(frame_len >> 8);
    hdr[3] = (uint8_t)frame_len;
    return 0;
}

TrafgenStreamDecoder *trafgen_stream_decoder_new(void)
{
    TrafgenStreamDecoder *decoder = g_new0(TrafgenStreamDecoder, 1);

    decoder->buffer = g_byte_array_new();
    return decoder;
}

void trafgen_stream_decoder_free(TrafgenStreamDecoder *decoder)
{
    if (decoder == NULL) {
        return;
    }
    g_byte_array_unref(decoder->buffer);
    g_free(decoder);
}

void trafgen_stream_decoder_feed(TrafgenStreamDecoder *decoder,
                                 const uint8_t *data, size_t len)
{
    g_byte_array_append(decoder->buffer, data, (guint)len);
}

int trafgen_stream_decoder_next(TrafgenStreamDecoder *decoder,
                                GBytes **ret_frame)
{
    const uint8_t *p = decoder->buffer->data;
    size_t frame_len;

    if (decoder->buffer->len < TRAFGEN_STREAM_HDR_LEN) {
        return 0;
    }
    frame_len = ((size_t)p[0] << 24) | ((size_t)p[1] << 16) |
                ((size_t)p[2] << 8) | p[3];
    if (frame_len > TRAFGEN_STREAM_MAX_FRAME) {
        return -EMSGSIZE;
    }
    if (decoder->buffer->len < TRAFGEN_STREAM_HDR_LEN + frame_len) {
        return 0;
    }
    *ret_frame = g_bytes_new(p + TRAFGEN_STREAM_HDR_LEN, frame_len);
    g_byte_array_remove_range(decoder->buffer, 0,
                              (guint)(TRAFGEN_STREAM_HDR_LEN + frame_len));
    return 1;
}
