#ifndef CVIGIL_ALLOCATOR_H
#define CVIGIL_ALLOCATOR_H

/// Turns glibc's fastbins off for the whole process (`mallopt(M_MXFAST, 0)`); small requests
/// are still served first from each thread's cache. Returns 1 when set, 0 when the C library
/// is not glibc or refused it. Swift's Glibc module does not carry <malloc.h>.
int vigil_allocator_disable_fastbins(void);

#endif
