// The libbz2 API that veil uses: streaming bzip2 decompression. Only Sources/VeilCore/Input
// imports this module. (Debian's libbz2-dev ships no pkg-config file: the header is found in
// the system include path and the module map links libbz2.)
#ifndef VEIL_CBZIP2_SHIM_H
#define VEIL_CBZIP2_SHIM_H

#include <bzlib.h>

#endif
