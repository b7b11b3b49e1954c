// The liblzma API that veil uses: streaming xz decompression. Only Sources/VeilCore/Input
// imports this module.
#ifndef VEIL_CLZMA_SHIM_H
#define VEIL_CLZMA_SHIM_H

#include <lzma.h>

// LZMA_STREAM_INIT is a macro (a compound initialiser), which Swift cannot import.
static inline lzma_stream veil_lzma_stream_init(void) {
    lzma_stream stream = LZMA_STREAM_INIT;
    return stream;
}

// LZMA_CONCATENATED is written with UINT32_C, which Swift does not import either.
static inline uint32_t veil_lzma_concatenated(void) { return LZMA_CONCATENATED; }

#endif
