#ifndef CVIGIL_ALLOCATOR_H
#define CVIGIL_ALLOCATOR_H

#include <stddef.h>

/// Turns glibc's fastbins off for the whole process (`mallopt(M_MXFAST, 0)`); small requests
/// are still served first from each thread's cache. Returns 1 when set; 0, and nothing done,
/// when the C library is not glibc, when `malloc` is not defined by the object that defines
/// `mallopt` (another allocator comes first), or when `mallopt` refuses (a sanitizer's does).
/// Swift's Glibc module does not carry <malloc.h>.
int vigil_allocator_disable_fastbins(void);

/// The file of the object that defines the `malloc` this process calls, as the dynamic linker
/// names it (the main program by `argv[0]`), or NULL when unknown. Right in a
/// position-independent executable, whose calls go through the global offset table; a name
/// only, what serves `malloc` is told by the two functions below.
const char *vigil_allocator_malloc_object(void);

/// "address" or "thread" when the process runs under that sanitizer (its runtime, which then
/// serves `malloc`, is in the process), else NULL.
const char *vigil_allocator_sanitizer(void);

/// When jemalloc serves this process's `malloc`: writes its version, NUL-terminated, into
/// `buffer` and returns 1; otherwise returns 0. Asked of the allocator itself (its `mallctl`,
/// found at run time, so that a program not linked with it can ask): the thread's allocated
/// bytes must grow by a block this function allocates with `malloc`. Loaded is not serving (a
/// sanitizer's or a preloaded allocator may come first), and a jemalloc built without
/// statistics is not recognised.
int vigil_allocator_jemalloc_version(char *buffer, size_t size);

#endif
