// See sha256.h. The algorithm, FIPS 180-4 section 6.2, in one paragraph:
//
// The message is padded to a multiple of 64 bytes: a 0x80 byte, zeros, and its length in bits as a
// big-endian 64-bit number at the very end. Each 64-byte block is read as 16 big-endian words
// w[0..15], extended to 64 words by
//   w[t] = s1(w[t-2]) + w[t-7] + s0(w[t-15]) + w[t-16],
//   s0(x) = rotr(x,7) ^ rotr(x,18) ^ (x >> 3),   s1(x) = rotr(x,17) ^ rotr(x,19) ^ (x >> 10),
// and mixed into eight working words a..h by 64 rounds of
//   T1 = h + S1(e) + Ch(e,f,g) + K[t] + w[t],    T2 = S0(a) + Maj(a,b,c),
//   h=g g=f f=e e=d+T1 d=c c=b b=a a=T1+T2,
//   S0(a) = rotr(a,2) ^ rotr(a,13) ^ rotr(a,22),  S1(e) = rotr(e,6) ^ rotr(e,11) ^ rotr(e,25),
//   Ch(e,f,g) = (e & f) ^ (~e & g),               Maj(a,b,c) = (a & b) ^ (a & c) ^ (b & c),
// after which a..h are added to the state. All arithmetic is modulo 2^32. The digest is the final
// state written as eight big-endian words.
#include "vision/sha256.h"

#include <algorithm>

#include "tensor/error.h"

namespace ember::vision {

namespace {

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
constexpr uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// The first 32 bits of the fractional parts of the square roots of the first 8 primes.
constexpr std::array<uint32_t, 8> kInitialState = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

constexpr uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

}  // namespace

Sha256::Sha256() : state_(kInitialState) {}

void Sha256::compress(const uint8_t* block) {
  uint32_t w[64];
  for (int t = 0; t < 16; ++t)
    w[t] = uint32_t(block[4 * t]) << 24 | uint32_t(block[4 * t + 1]) << 16 | uint32_t(block[4 * t + 2]) << 8 |
           uint32_t(block[4 * t + 3]);
  for (int t = 16; t < 64; ++t) {
    const uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    const uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = s1 + w[t - 7] + s0 + w[t - 16];
  }
  uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
  for (int t = 0; t < 64; ++t) {
    const uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kRoundConstants[t] + w[t];
    const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state_[0] += a, state_[1] += b, state_[2] += c, state_[3] += d;
  state_[4] += e, state_[5] += f, state_[6] += g, state_[7] += h;
}

void Sha256::update(std::string_view bytes) {
  EMBER_CHECK(!finished_, "Sha256: update() after hex_digest(); start a new Sha256");
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t size = bytes.size();
  total_bytes_ += size;
  if (buffered_ > 0) {  // top up the unfinished block first
    const size_t take = std::min(size, 64 - buffered_);
    std::copy(data, data + take, buffer_.begin() + buffered_);
    buffered_ += take, data += take, size -= take;
    if (buffered_ < 64) return;
    compress(buffer_.data());
    buffered_ = 0;
  }
  for (; size >= 64; data += 64, size -= 64) compress(data);  // whole blocks straight from the input
  std::copy(data, data + size, buffer_.begin());
  buffered_ = size;
}

std::string Sha256::hex_digest() {
  EMBER_CHECK(!finished_, "Sha256: hex_digest() called twice");
  const uint64_t bit_length = total_bytes_ * 8;
  // Padding: 0x80, then zeros up to 56 bytes into a block, then the 8-byte length.
  const uint8_t one_bit = 0x80;
  update(std::string_view(reinterpret_cast<const char*>(&one_bit), 1));
  const uint8_t zero = 0;
  while (buffered_ != 56) update(std::string_view(reinterpret_cast<const char*>(&zero), 1));
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = uint8_t(bit_length >> (56 - 8 * i));
  update(std::string_view(reinterpret_cast<const char*>(length), 8));
  finished_ = true;
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (uint32_t word : state_)
    for (int shift = 28; shift >= 0; shift -= 4) hex += kHex[(word >> shift) & 0xf];
  return hex;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 hash;
  hash.update(bytes);
  return hash.hex_digest();
}

}  // namespace ember::vision
