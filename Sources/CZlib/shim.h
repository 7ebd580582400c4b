#ifndef HANDOVER_CZLIB_SHIM_H
#define HANDOVER_CZLIB_SHIM_H
#include <zlib.h>

/// deflateInit2 is a macro; this starts a raw deflate stream (no zlib or gzip wrapper, as a zip entry holds it) with
/// zlib's 32 KiB window and default memory level and strategy.
static inline int handover_deflate_init_raw(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}

/// inflateInit2 is a macro; this starts inflating a raw deflate stream.
static inline int handover_inflate_init_raw(z_streamp stream) {
    return inflateInit2(stream, -15);
}

/// crc32_combine takes z_off_t, a macro Swift cannot see: the CRC-32 of two runs one after the other.
static inline unsigned long handover_crc32_combine(unsigned long first, unsigned long second, long long secondLength) {
    return crc32_combine(first, second, (z_off_t)secondLength);
}
#endif
