// The zlib API that veil uses: streaming gzip decompression (inflate). Only
// Sources/VeilCore/Input imports this module.
#ifndef VEIL_CZLIB_SHIM_H
#define VEIL_CZLIB_SHIM_H

#include <zlib.h>

// inflateInit2 is a macro (it expands to inflateInit2_ with ZLIB_VERSION and sizeof(z_stream)),
// and Swift cannot call C macros that take arguments. This function exposes it to Swift and
// keeps the version/size check that the macro performs.
static inline int veil_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}

#endif
