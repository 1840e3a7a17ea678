#ifndef FIELDLOG_CZLIB_SHIM_H
#define FIELDLOG_CZLIB_SHIM_H
#include <zlib.h>

// deflateInit2 and inflateInit2 are macros, which Swift cannot call: wrap them.
static inline int fieldlog_deflateInit2(z_streamp strm, int level) {
    // windowBits 15 + 16: write a gzip header and trailer.
    return deflateInit2(strm, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

static inline int fieldlog_deflateInitRaw(z_streamp strm, int level) {
    // windowBits -15: raw deflate, no header or trailer (a piece of a gzip member, Gzip.Piece).
    return deflateInit2(strm, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}

static inline int fieldlog_inflateInit2(z_streamp strm) {
    // windowBits 15 + 16: accept gzip only.
    return inflateInit2(strm, 15 + 16);
}
#endif
