#include "cuda/context.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "cuda/check.h"
#include "cuda/cuda_api.h"

namespace ember::cuda {

void throw_cuda_error(cudaError_t error, const char* what, const char* file, int line) {
  cudaGetLastError();  // clear a sticky launch error so the next call does not report it again
  throw Error(std::string(file) + ":" + std::to_string(line) + ": " + what + " failed: " + cudaGetErrorString(error) +
              " (" + cudaGetErrorName(error) + ")");
}

// ---- devices ---------------------------------------------------------------------------------------
struct DeviceTable {
  int count = 0;
  std::string reason;  // why count is 0
  std::vector<cudaDeviceProp> properties;
  std::unique_ptr<std::atomic<cudaStream_t>[]> streams;  // read without the lock on every op
  std::mutex mutex;                                      // guards lazy stream creation
};

// Asked once. Any error (no driver, "driver version is insufficient", no device) means no GPU.
static DeviceTable& devices() {
  static DeviceTable* table = [] {
    auto* t = new DeviceTable;  // never freed: tensors may outlive static destructors
    cudaError_t status = cudaGetDeviceCount(&t->count);
    if (status != cudaSuccess) {
      cudaGetLastError();
      t->count = 0;
      t->reason = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(status);
    } else if (t->count == 0) {
      t->reason = "the CUDA driver reports no GPU";
    }
    t->properties.resize(t->count);
    for (int i = 0; i < t->count; ++i) cudaGetDeviceProperties(&t->properties[i], i);
    t->streams.reset(new std::atomic<cudaStream_t>[t->count > 0 ? t->count : 1]);
    for (int i = 0; i < t->count; ++i) t->streams[i] = nullptr;
    return t;
  }();
  return *table;
}

static void check_index(int device_index) {
  DeviceTable& t = devices();
  if (device_index >= 0 && device_index < t.count) return;
  if (t.count == 0) throw Error("cuda:" + std::to_string(device_index) + " is not available: " + t.reason);
  throw Error("cuda:" + std::to_string(device_index) + " does not exist: this machine has " + std::to_string(t.count) +
              " GPU(s), cuda:0 to cuda:" + std::to_string(t.count - 1));
}

int device_count() { return devices().count; }
std::string unavailable_reason() { return devices().reason; }

std::string device_name(int device_index) {
  check_index(device_index);
  return devices().properties[device_index].name;
}

int multiprocessor_count(int device_index) { return devices().properties[device_index].multiProcessorCount; }

void set_current_device(int device_index) {
  thread_local int current = -1;
  if (current == device_index) return;
  check_index(device_index);
  EMBER_CUDA_CHECK(cudaSetDevice(device_index));
  current = device_index;
}

cudaStream_t stream(int device_index) {
  DeviceTable& t = devices();
  check_index(device_index);
  cudaStream_t s = t.streams[device_index];
  if (s) return s;
  std::lock_guard<std::mutex> lock(t.mutex);
  if (!t.streams[device_index]) {
    set_current_device(device_index);
    cudaStream_t created = nullptr;
    EMBER_CUDA_CHECK(cudaStreamCreateWithFlags(&created, cudaStreamNonBlocking));
    t.streams[device_index] = created;
  }
  return t.streams[device_index];
}

void synchronize(int device_index) {
  set_current_device(device_index);
  EMBER_CUDA_CHECK(cudaStreamSynchronize(stream(device_index)));
}

}  // namespace ember::cuda
