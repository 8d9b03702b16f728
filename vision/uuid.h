// Random (version 4) UUIDs, the names fastai's download_images gives the files it saves:
// str(uuid.uuid4()) + suffix, e.g. "3f2b8c1e-5d7a-4e0b-9c41-0a6f3b2d9e17.jpg".
#pragma once
#include <string>

namespace ember::vision {

// 122 random bits from the operating system's generator (std::random_device), formatted as
// 8-4-4-4-12 lowercase hex digits with the version nibble 4 and the variant bits 10 (RFC 4122).
std::string uuid4();

}  // namespace ember::vision
