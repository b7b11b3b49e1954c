// The ISA-L API that veil uses: streaming gzip decompression (igzip's isal_inflate). Only
// Sources/VeilCore/Input imports this module.
#ifndef VEIL_CISAL_SHIM_H
#define VEIL_CISAL_SHIM_H

#include <isa-l/igzip_lib.h>

#endif
