// See uuid.h.
#include "vision/uuid.h"

#include <array>
#include <cstdint>
#include <mutex>
#include <random>

namespace ember::vision {

std::string uuid4() {
  // One random_device for the program, behind a lock: the crawler names files from many threads.
  static std::mutex mutex;
  static std::random_device device;
  std::array<uint8_t, 16> bytes;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (size_t i = 0; i < bytes.size(); i += 4) {
      const uint32_t r = device();
      for (size_t k = 0; k < 4; ++k) bytes[i + k] = static_cast<uint8_t>(r >> (8 * k));
    }
  }
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3F) | 0x80);  // variant 10xx
  static const char* hex = "0123456789abcdef";
  std::string text;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    text += hex[bytes[i] >> 4];
    text += hex[bytes[i] & 0x0F];
  }
  return text;
}

}  // namespace ember::vision
