#ifndef CVIGIL_PREFETCH_H
#define CVIGIL_PREFETCH_H

/// A hint to bring the cache line holding `address` towards the core (all cache levels),
/// for a read or write soon. It never faults, so a stale address is harmless. Swift has no
/// prefetch intrinsic; as a static inline function this compiles to one instruction in place.
static inline __attribute__((always_inline)) void vigil_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// The same for a line about to be written: it arrives owned, so the store need not ask again.
static inline __attribute__((always_inline)) void vigil_prefetch_for_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
