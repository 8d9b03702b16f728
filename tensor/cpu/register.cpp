// Fills the CPU row of the kernel table at program start-up.
#include <cstdlib>
#include <new>

#include "tensor/cpu/cpu_kernels.h"

namespace ember::cpu {

static int device_count() { return 1; }

// 64-byte alignment: a full cache line, and what AVX-512 loads like.
static void* allocate(size_t nbytes, int /*device_index*/) {
  size_t rounded = (std::max<size_t>(nbytes, 1) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw std::bad_alloc();
  return p;
}

static void deallocate(void* data, size_t) { std::free(data); }

static const DeviceKernels kCpuKernels = {
    .device_count = device_count,
    .allocate = allocate,
    .deallocate = deallocate,
    .copy = copy,
    .fill = fill,
    .unary = unary,
    .binary = binary,
    .where = where,
    .reduce = reduce,
    .reduce_with_index = reduce_with_index,
    .softmax = softmax,
    .softmax_backward = softmax_backward,
    .matmul = matmul,
    .index_select = index_select,
    .index_add = index_add,
    .gather = gather,
    .scatter_add = scatter_add,
    .arange = arange,
    .uniform = uniform,
    .normal = normal,
    .randint = randint,
};

// Called from kernels_for() before the first lookup (a static initialiser in a static library
// could be dropped by the linker, so registration is explicit).
void register_cpu_kernels() { register_device_kernels(DeviceType::CPU, &kCpuKernels); }

}  // namespace ember::cpu
