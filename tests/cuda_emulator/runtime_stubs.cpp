// The few functions of cuda/cuda_api.h and cuda/context.h that live in cuda/context.cpp (not
// emulated): the kernels' host code calls them, so the emulator provides trivial versions. The
// kernels use the real cuda/context.h (prepare, blocks_for): one emulated device with
// emu::sm_count multiprocessors and no streams.
#include <string>

#include "cuda/context.h"
#include "cuda/cuda_api.h"

namespace ember::cuda {
void set_current_device(int) {}
cudaStream_t stream(int) { return nullptr; }
int multiprocessor_count(int) { return ::emu::sm_count; }
void synchronize(int) {}
int device_count() { return 0; }
std::string unavailable_reason() { return "the CPU emulator (tests/cuda_emulator)"; }
}  // namespace ember::cuda
