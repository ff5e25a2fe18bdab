#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // dladdr and RTLD_DEFAULT
#endif
#include "CVigilAllocator.h"

#include <dlfcn.h>
#include <stdint.h>
// Any C library header tells whether this is glibc (__GLIBC__).
#include <stdlib.h>
#include <string.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

const char *vigil_allocator_malloc_object(void) {
    void *(*bound)(size_t) = malloc;
    Dl_info info;
    if (dladdr((void *)bound, &info) == 0 || info.dli_fname == NULL) return NULL;
    return info.dli_fname;
}

int vigil_allocator_disable_fastbins(void) {
#if defined(__GLIBC__)
    // Only where glibc's malloc serves: glibc's mallopt under another allocator (a preloaded
    // one, which does not define mallopt) would tune a heap no one uses.
    void *(*boundMalloc)(size_t) = malloc;
    int (*boundMallopt)(int, int) = mallopt;
    Dl_info mallocInfo, malloptInfo;
    if (dladdr((void *)boundMalloc, &mallocInfo) == 0 || dladdr((void *)boundMallopt, &malloptInfo) == 0) return 0;
    if (mallocInfo.dli_fbase != malloptInfo.dli_fbase) return 0;
    return mallopt(M_MXFAST, 0) == 1 ? 1 : 0;
#else
    return 0;
#endif
}

const char *vigil_allocator_sanitizer(void) {
    if (dlsym(RTLD_DEFAULT, "__asan_init") != NULL) return "address";
    if (dlsym(RTLD_DEFAULT, "__tsan_init") != NULL) return "thread";
    return NULL;
}

typedef int (*vigil_mallctl_t)(const char *, void *, size_t *, void *, size_t);

int vigil_allocator_jemalloc_version(char *buffer, size_t size) {
    if (buffer == NULL || size == 0) return 0;
    vigil_mallctl_t mallctl = (vigil_mallctl_t)dlsym(RTLD_DEFAULT, "mallctl");
    if (mallctl == NULL) return 0;
    uint64_t before = 0, after = 0;
    size_t length = sizeof(before);
    if (mallctl("thread.allocated", &before, &length, NULL, 0) != 0) return 0;
    // Through a volatile pointer, so that the compiler keeps the allocation.
    void *volatile block = malloc(4096);
    if (block == NULL) return 0;
    length = sizeof(after);
    int serves = mallctl("thread.allocated", &after, &length, NULL, 0) == 0 && after - before >= 4096;
    free(block);
    if (!serves) return 0;
    const char *version = NULL;
    length = sizeof(version);
    if (mallctl("version", &version, &length, NULL, 0) != 0 || version == NULL) return 0;
    if (strlen(version) >= size) return 0;
    memcpy(buffer, version, strlen(version) + 1);
    return 1;
}
