// Where a tensor's memory lives: the CPU, or a CUDA GPU (filled in by cuda/ when it is built).
#pragma once
#include <cstdint>
#include <string>

namespace ember {

enum class DeviceType : uint8_t { CPU = 0, CUDA = 1 };
constexpr int kNumDeviceTypes = 2;

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device&) const = default;
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

// Parses "cpu", "cuda", "cuda:1"; anything else is an error that quotes the text.
Device parse_device(const std::string& text);

// How many CUDA GPUs this program can use: 0 when Ember was built without CUDA, when there is no
// driver or no GPU (any CUDA error at this question counts as "no GPU"). Defined in kernels.cpp.
int cuda_device_count();
bool cuda_is_available();

}  // namespace ember
