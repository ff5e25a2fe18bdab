#define _GNU_SOURCE
#include "CVigilAllocator.h"

#include <dlfcn.h>
// Any C library header tells whether this is glibc (__GLIBC__).
#include <stdlib.h>
#include <string.h>

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

const char *vigil_allocator_malloc_object(void) {
    // Through the global offset table: the definition the process's calls are bound to.
    void *(*volatile resolved)(size_t) = malloc;
    Dl_info info;
    if (dladdr((void *)resolved, &info) == 0 || info.dli_fname == NULL) return NULL;
    return info.dli_fname;
}

typedef int (*vigil_mallctl_t)(const char *, void *, size_t *, void *, size_t);

int vigil_allocator_jemalloc_version(char *buffer, size_t size) {
    if (buffer == NULL || size == 0) return 0;
    vigil_mallctl_t mallctl = (vigil_mallctl_t)dlsym(RTLD_DEFAULT, "mallctl");
    if (mallctl == NULL) return 0;
    // jemalloc loaded is not jemalloc serving malloc (a sanitizer's or a preloaded allocator
    // may come first): both must come from the same object.
    void *(*volatile resolved)(size_t) = malloc;
    Dl_info mallocInfo, mallctlInfo;
    if (dladdr((void *)resolved, &mallocInfo) == 0 || dladdr((void *)mallctl, &mallctlInfo) == 0) return 0;
    if (mallocInfo.dli_fbase != mallctlInfo.dli_fbase) return 0;
    const char *version = NULL;
    size_t length = sizeof(version);
    if (mallctl("version", &version, &length, NULL, 0) != 0 || version == NULL) return 0;
    strncpy(buffer, version, size - 1);
    buffer[size - 1] = '\0';
    return 1;
}
