#ifndef HOOKTRACE_CZLIB_SHIM_H
#define HOOKTRACE_CZLIB_SHIM_H
#include <zlib.h>

/* deflateInit and inflateInit are macros that Swift cannot import; these
   wrappers pass the version and struct size the way the macros do. */
static inline int hooktrace_deflateInit(z_streamp strm, int level) {
    return deflateInit(strm, level);
}
static inline int hooktrace_inflateInit(z_streamp strm) {
    return inflateInit(strm);
}
#endif
