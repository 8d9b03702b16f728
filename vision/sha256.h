// SHA-256 (FIPS 180-4), written out so a reader can follow it: the crawler names duplicate images
// by their digest, and pretrained weights are checked against the digest their publisher gives.
//
//   std::string hex = vision::sha256_hex("abc");
//   // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
//
//   vision::Sha256 hash;                       // streaming, for files read in pieces
//   hash.update(piece1); hash.update(piece2);
//   std::string hex = hash.hex_digest();
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ember::vision {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view bytes);
  // The 32-byte digest as 64 lowercase hex digits. Ends the hash: call it once.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);  // one 64-byte block into state_
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};  // the bytes of an unfinished block
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
  bool finished_ = false;
};

std::string sha256_hex(std::string_view bytes);

}  // namespace ember::vision
