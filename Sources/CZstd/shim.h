// The zstd API that veil uses: streaming decompression (ZSTD_decompressStream) and its
// error codes. Only Sources/VeilCore/Input imports this module.
#ifndef VEIL_CZSTD_SHIM_H
#define VEIL_CZSTD_SHIM_H

#include <zstd.h>
#include <zstd_errors.h>

#endif
