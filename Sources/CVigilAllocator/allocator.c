#include "CVigilAllocator.h"

// Any C library header tells whether this is glibc (__GLIBC__).
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int vigil_allocator_disable_fastbins(void) {
#if defined(__GLIBC__)
    return mallopt(M_MXFAST, 0);
#else
    return 0;
#endif
}
