// The part of OpenSSL's libcrypto that veil uses: SHA-256 with its state as a plain struct,
// so a keyed HMAC state is copied by value (no allocation) and a pseudonym costs the hash
// blocks alone. Only Sources/VeilCore/Privacy/KeyedHMAC.swift imports this module.
//
// OpenSSL 3 marks the SHA256_* functions deprecated in favour of EVP, whose contexts live on
// the heap; the wrappers below keep the one use of them here, with the warning silenced.
#ifndef VEIL_CLIBCRYPTO_SHIM_H
#define VEIL_CLIBCRYPTO_SHIM_H

#include <stddef.h>
#include <openssl/sha.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static inline void veil_sha256_init(SHA256_CTX *c) { SHA256_Init(c); }

static inline void veil_sha256_update(SHA256_CTX *c, const void *data, size_t n) { SHA256_Update(c, data, n); }

/// Writes the 32-byte digest to `out`.
static inline void veil_sha256_final(SHA256_CTX *c, unsigned char *out) { SHA256_Final(out, c); }

#pragma GCC diagnostic pop

#endif
