// Stand-in for cuda/allocator.h: under the emulator every tensor lives in host memory, so the
// caching device allocator is not needed; the kernels only include this header.
#pragma once
#include <cstddef>
