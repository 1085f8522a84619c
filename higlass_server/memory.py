"""Allocator settings for the serving process.

A tile answer allocates many short-lived buffers of 0.2–4 MB (tile arrays, base64 text, the
response body). glibc hands buffers above its mmap threshold (128 kB at first) back to the
kernel when they are freed, so the next request maps them again and pays a page fault for
every 4 kB page it touches: about 2 ms of a 3 MB 9-tile answer on the benchmark machine. Raising
the mmap threshold and the trim threshold keeps such memory in the process heap for reuse. The
heap then stays near its high-water mark (docs/performance.md records the peak RSS).

Called once from ``higlass_server.wsgi``; a no-op where the C library has no ``mallopt``.
"""

import ctypes

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest accepted value on 64-bit systems
TRIM_THRESHOLD = 128 * 1024 * 1024


def keep_freed_memory():
    """True when both settings were applied."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    applied = [mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD), mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)]
    return all(applied)
