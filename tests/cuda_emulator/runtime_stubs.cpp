// The few functions of cuda/cuda_api.h that live in cuda/context.cpp (not emulated): the kernels'
// host code calls them, so the emulator provides trivial versions.
#include <string>

#include "cuda/cuda_api.h"

namespace ember::cuda {
void synchronize(int) {}
int device_count() { return 0; }
std::string unavailable_reason() { return "the CPU emulator (tests/cuda_emulator)"; }
}  // namespace ember::cuda
