#ifndef CVIGIL_ALLOCATOR_H
#define CVIGIL_ALLOCATOR_H

#include <stddef.h>

/// Turns glibc's fastbins off for the whole process (`mallopt(M_MXFAST, 0)`); small requests
/// are still served first from each thread's cache. Returns 1 when set, 0 when the C library
/// is not glibc or refused it. Swift's Glibc module does not carry <malloc.h>.
int vigil_allocator_disable_fastbins(void);

/// The file of the object that defines the `malloc` this process calls (the dynamic linker's
/// binding: the first object in the lookup order that defines it), or NULL when unknown.
const char *vigil_allocator_malloc_object(void);

/// When jemalloc serves this process's `malloc` (its `mallctl` is defined by the same object
/// as `malloc`): writes its version, NUL-terminated, into `buffer` and returns 1. Otherwise
/// returns 0. Found at run time (`dlsym`), so that a program not linked with jemalloc can ask.
int vigil_allocator_jemalloc_version(char *buffer, size_t size);

#endif
