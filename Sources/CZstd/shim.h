// The zstd API that veil uses: buffer-less block decompression (ZSTD_decompressContinue, which
// decodes into memory the caller owns), frame headers and error codes. Only
// Sources/VeilCore/Input imports this module.
#ifndef VEIL_CZSTD_SHIM_H
#define VEIL_CZSTD_SHIM_H

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#endif
