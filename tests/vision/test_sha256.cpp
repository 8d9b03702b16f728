// SHA-256 against published answers: the FIPS 180-2 / NIST example messages, and messages of the
// lengths where padding changes shape (55, 56, 63, 64, 65 bytes: the length field just fits, needs
// a second block, or the message fills a block) with digests from Python's hashlib.
#include <doctest/doctest.h>

#include <string>

#include "tensor/error.h"
#include "vision/sha256.h"

using ember::vision::Sha256;
using ember::vision::sha256_hex;

namespace {

// Bytes (7 i + 3) mod 256, the pattern the hashlib digests below were made from.
std::string pattern(size_t n) {
  std::string bytes(n, '\0');
  for (size_t i = 0; i < n; ++i) bytes[i] = char((i * 7 + 3) % 256);
  return bytes;
}

}  // namespace

TEST_CASE("sha256: the NIST example messages") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(
      sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopq"
                 "rstnopqrstu") == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256: lengths around the padding boundaries (hashlib's digests)") {
  const std::pair<size_t, const char*> cases[] = {
      {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
      {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
      {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
      {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
      {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
      {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
      {1000, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371"},
  };
  for (const auto& [length, digest] : cases) {
    INFO("length ", length);
    CHECK(sha256_hex(pattern(length)) == digest);
  }
}

TEST_CASE("sha256: fed in pieces of any size, the digest is the same") {
  const std::string message = pattern(1000);
  for (size_t piece : {1, 3, 63, 64, 65, 500}) {
    INFO("piece ", piece);
    Sha256 hash;
    for (size_t at = 0; at < message.size(); at += piece) hash.update(std::string_view(message).substr(at, piece));
    CHECK(hash.hex_digest() == "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371");
  }
  Sha256 used;
  used.hex_digest();
  CHECK_THROWS_AS(used.update("x"), ember::Error);
}
