#ifndef HOOKTRACE_CZSTD_SHIM_H
#define HOOKTRACE_CZSTD_SHIM_H
#include <zstd.h>
#endif
