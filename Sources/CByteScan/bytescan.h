// Byte scans for the text, JSON and W3C parsers, inlined into Swift: SSE2 compares and a byte
// mask, which Swift's SIMD types do not lower to. Header only; without SSE2 the sixteen-byte
// scans take no block (the Swift caller scans the bytes itself) and the field-stop mask is
// built from 64-bit words.
#ifndef VEIL_CBYTESCAN_H
#define VEIL_CBYTESCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// Scans p[i..<n) sixteen bytes at a time for a byte equal to `a` or `b`. Returns its index,
/// or, when no whole block of sixteen holds one, the index of the first byte not scanned
/// (fewer than sixteen remain): the caller scans the rest.
static inline ptrdiff_t veil_scan16_either(const uint8_t *p, ptrdiff_t i, ptrdiff_t n, uint8_t a, uint8_t b) {
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8((char)a);
    const __m128i vb = _mm_set1_epi8((char)b);
    while (i + 16 <= n) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        const int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)));
        if (m != 0) return i + __builtin_ctz((unsigned)m);
        i += 16;
    }
#endif
    return i;
}

/// Scans p[i..<n) sixteen bytes at a time for a byte that stops a JSON string: `"`, `\` or a
/// control byte (below 0x20). Returns its index, or, when no whole block of sixteen holds one,
/// the index of the first byte not scanned (fewer than sixteen remain): the caller scans the
/// rest.
static inline ptrdiff_t veil_scan16_json_string(const uint8_t *p, ptrdiff_t i, ptrdiff_t n) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i control = _mm_set1_epi8(0x1F);
    while (i + 16 <= n) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        // v <= 0x1F (unsigned) exactly where min(v, 0x1F) == v.
        const __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, control), v);
        const __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), low);
        const int m = _mm_movemask_epi8(stop);
        if (m != 0) return i + __builtin_ctz((unsigned)m);
        i += 16;
    }
#endif
    return i;
}

/// Scans p[i..<n) sixteen bytes at a time for a control byte: below 0x20 and not a tab. Returns
/// its index, or the index of the first byte not scanned (fewer than sixteen remain), as
/// `veil_scan16_either` does.
static inline ptrdiff_t veil_scan16_control(const uint8_t *p, ptrdiff_t i, ptrdiff_t n) {
#if defined(__SSE2__)
    const __m128i below = _mm_set1_epi8(0x1F);
    const __m128i tab = _mm_set1_epi8(0x09);
    while (i + 16 <= n) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        // v <= 0x1F (unsigned) exactly where min(v, 0x1F) == v.
        const __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, below), v);
        const int m = _mm_movemask_epi8(_mm_andnot_si128(_mm_cmpeq_epi8(v, tab), low));
        if (m != 0) return i + __builtin_ctz((unsigned)m);
        i += 16;
    }
#endif
    return i;
}

/// The eight bytes at `q` as a 64-bit word, q[0] in the low bits, whatever the byte order.
static inline uint64_t veil_word(const uint8_t *q) {
    uint64_t x = 0;
    for (int k = 0; k < 8; k++) x |= (uint64_t)q[k] << (8 * k);
    return x;
}

/// The bytes of `x` equal to `c`, exactly (no borrow between bytes): the high bit of each.
/// Byte k of t = x ^ c… is zero exactly when ((t & 0x7F…) + 0x7F…) | t has its high bit clear.
static inline uint64_t veil_equal_bytes(uint64_t x, uint8_t c) {
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7FULL, t = x ^ (0x0101010101010101ULL * c);
    return ~(((t & low7) + low7) | t) & 0x8080808080808080ULL;
}

/// The bytes of `x` below `n` (1...128), exactly: the high bit of each. (b & 0x7F) + 0x80 - n
/// has its high bit clear exactly when b & 0x7F is below n, and b is below 0x80.
static inline uint64_t veil_bytes_below(uint64_t x, uint8_t n) {
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7FULL;
    return ~(((x & low7) + 0x0101010101010101ULL * (uint8_t)(0x80 - n)) | x) & 0x8080808080808080ULL;
}

/// The exact per-byte flags of eight bytes (the high bit of byte k) gathered into the low
/// eight bits by a multiply: bit k set when byte k is flagged.
static inline uint64_t veil_gather8(uint64_t flags) {
    return ((flags >> 7) * 0x0102040810204080ULL) >> 56;
}

/// `veil_field_stops64` on 64 readable bytes, eight at a time in a 64-bit word (exact per-byte
/// compares without carries between bytes, then the eight flags gathered by a multiply): the
/// portable form, used where SSE2 is not available.
static inline uint64_t veil_field_stops64_words(const uint8_t *q) {
    uint64_t m = 0;
    for (int w = 0; w < 8; w++) {
        const uint64_t x = veil_word(q + 8 * w);
        m |= veil_gather8(veil_bytes_below(x, 0x21) | veil_equal_bytes(x, 0x7F)) << (8 * w);
    }
    return m;
}

/// A mask of the bytes of p[0..<min(count, 64)) that end an unquoted field: bit k is set when
/// p[k] is a space or below (tab, other control bytes, NUL) or DEL. Reads only those bytes (a
/// block shorter than 64 bytes is copied first).
static inline uint64_t veil_field_stops64(const uint8_t *p, ptrdiff_t count) {
    if (count <= 0) return 0;
    uint8_t tail[64];
    const uint8_t *q = p;
    uint64_t valid = ~(uint64_t)0;
    if (count < 64) {
        for (ptrdiff_t k = 0; k < count; k++) tail[k] = p[k];
        for (ptrdiff_t k = count; k < 64; k++) tail[k] = 0x41;
        q = tail;
        valid = ((uint64_t)1 << count) - 1;
    }
#if defined(__SSE2__)
    const __m128i space = _mm_set1_epi8(0x20);
    const __m128i del = _mm_set1_epi8(0x7F);
    uint64_t m = 0;
    for (int b = 0; b < 4; b++) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(q + 16 * b));
        // v <= 0x20 (unsigned) exactly where min(v, 0x20) == v.
        const __m128i stop = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, space), v), _mm_cmpeq_epi8(v, del));
        m |= (uint64_t)(uint32_t)_mm_movemask_epi8(stop) << (16 * b);
    }
    return m & valid;
#else
    return veil_field_stops64_words(q) & valid;
#endif
}

/// The quotes of 64 readable bytes at `q`: bit k is set when q[k] is `"`. Bit k of
/// `*backslashes` is set when q[k] is `\` (on SSE2, the flags of the four 16-byte parts are
/// or-ed into the low 16 bits: zero exactly when no byte is `\`).
static inline uint64_t veil_quotes64(const uint8_t *q, uint64_t *backslashes) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    uint64_t mq = 0;
    __m128i bs = _mm_setzero_si128();
    for (int b = 0; b < 4; b++) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(q + 16 * b));
        mq |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) << (16 * b);
        bs = _mm_or_si128(bs, _mm_cmpeq_epi8(v, backslash));
    }
    *backslashes = (uint64_t)(uint32_t)_mm_movemask_epi8(bs);
    return mq;
#else
    uint64_t mq = 0, mb = 0;
    for (int w = 0; w < 8; w++) {
        const uint64_t x = veil_word(q + 8 * w);
        mq |= veil_gather8(veil_equal_bytes(x, '"')) << (8 * w);
        mb |= veil_gather8(veil_equal_bytes(x, '\\')) << (8 * w);
    }
    *backslashes = mb;
    return mq;
#endif
}

/// The masks of the first 64 bytes of a combined-family line (64 readable bytes at `q`): bit
/// k of the result is set when q[k] is a space, of `*colons` when it is `:`, of `*brackets`
/// when it is `[`, of `*controls` when it is below 0x20 (tab and NUL included). The portable
/// form compares eight bytes at a time in 64-bit words, exactly per byte.
static inline uint64_t veil_head_masks64(const uint8_t *q, uint64_t *colons, uint64_t *brackets, uint64_t *controls) {
#if defined(__SSE2__)
    const __m128i space = _mm_set1_epi8(' '), colon = _mm_set1_epi8(':'), bracket = _mm_set1_epi8('[');
    const __m128i control = _mm_set1_epi8(0x1F);
    uint64_t ms = 0, mo = 0, mb = 0, mc = 0;
    for (int b = 0; b < 4; b++) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(q + 16 * b));
        const int shift = 16 * b;
        ms |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, space)) << shift;
        mo |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, colon)) << shift;
        mb |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, bracket)) << shift;
        // v <= 0x1F (unsigned) exactly where min(v, 0x1F) == v.
        mc |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, control), v)) << shift;
    }
    *colons = mo; *brackets = mb; *controls = mc;
    return ms;
#else
    uint64_t ms = 0, mo = 0, mb = 0, mc = 0;
    for (int w = 0; w < 8; w++) {
        const uint64_t x = veil_word(q + 8 * w);
        ms |= veil_gather8(veil_equal_bytes(x, ' ')) << (8 * w);
        mo |= veil_gather8(veil_equal_bytes(x, ':')) << (8 * w);
        mb |= veil_gather8(veil_equal_bytes(x, '[')) << (8 * w);
        mc |= veil_gather8(veil_bytes_below(x, 0x20)) << (8 * w);
    }
    *colons = mo; *brackets = mb; *controls = mc;
    return ms;
#endif
}

/// Whether the `n` bytes at `a` and `b` are the same. Made for hash-table keys of a few to a
/// few hundred bytes that mostly are the same when compared (a lookup that hits): the
/// differences of whole blocks are or-ed together and tested once, and the last blocks are
/// moved back to end at `n` (overlapping the ones before) instead of a loop over what is left,
/// so the branches follow the size of `n` (under 4, 8, 16, then each 64 more; 32 without SSE2)
/// and not the position of a difference. Reads only the `n` bytes of each.
static inline int veil_same_bytes(const void *pa, const void *pb, size_t n) {
    const uint8_t *a = (const uint8_t *)pa, *b = (const uint8_t *)pb;
    if (n < 8) {
        if (n >= 4) {
            uint32_t x0, y0, x1, y1;
            memcpy(&x0, a, 4); memcpy(&y0, b, 4);
            memcpy(&x1, a + n - 4, 4); memcpy(&y1, b + n - 4, 4);
            return ((x0 ^ y0) | (x1 ^ y1)) == 0;
        }
        unsigned d = 0;
        for (size_t k = 0; k < n; k++) d |= (unsigned)(a[k] ^ b[k]);
        return d == 0;
    }
    if (n < 16) {
        uint64_t x0, y0, x1, y1;
        memcpy(&x0, a, 8); memcpy(&y0, b, 8);
        memcpy(&x1, a + n - 8, 8); memcpy(&y1, b + n - 8, 8);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
#if defined(__SSE2__)
    __m128i d = _mm_setzero_si128();
    size_t i = 0;
    for (; n - i > 64; i += 64) {
        for (int k = 0; k < 4; k++) {
            d = _mm_or_si128(d, _mm_xor_si128(_mm_loadu_si128((const __m128i *)(a + i + 16 * k)),
                                              _mm_loadu_si128((const __m128i *)(b + i + 16 * k))));
        }
    }
    // The last 1...64 bytes from i: blocks at i, i + 16, i + 32 and n - 16, each one that would
    // pass the end moved back to n - 16 (n >= 16: every block lies in the keys).
    const size_t last = n - 16;
    for (int k = 0; k < 4; k++) {
        const size_t o = k < 3 && i + 16 * (size_t)k < last ? i + 16 * (size_t)k : last;
        d = _mm_or_si128(d, _mm_xor_si128(_mm_loadu_si128((const __m128i *)(a + o)),
                                          _mm_loadu_si128((const __m128i *)(b + o))));
    }
    return _mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128())) == 0xFFFF;
#else
    uint64_t d = 0;
    size_t i = 0;
    for (; n - i > 32; i += 32) {
        for (int k = 0; k < 4; k++) {
            uint64_t x, y;
            memcpy(&x, a + i + 8 * k, 8); memcpy(&y, b + i + 8 * k, 8);
            d |= x ^ y;
        }
    }
    // The last 1...32 bytes from i, as above with words.
    const size_t last = n - 8;
    for (int k = 0; k < 4; k++) {
        const size_t o = k < 3 && i + 8 * (size_t)k < last ? i + 8 * (size_t)k : last;
        uint64_t x, y;
        memcpy(&x, a + o, 8); memcpy(&y, b + o, 8);
        d |= x ^ y;
    }
    return d == 0;
#endif
}

/// Asks the CPU to start loading the cache line holding `p` for a read, without waiting for
/// it: for a hash-table slot whose address is known before the lookup needs it, so the memory
/// access overlaps other work. Only a hint: it never faults and changes no result.
static inline void veil_prefetch(const void *p) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p, 0, 3);
#else
    (void)p;
#endif
}

#endif
