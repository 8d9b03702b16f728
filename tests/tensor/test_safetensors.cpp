// Tests of the safetensors reader and writer in tensor/io/safetensors.h: round trips of every
// dtype, the exact bytes of a small file built by hand from the format description, a hand-built
// file read back, broken files, and the atomic save.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "../test_util.h"
#include "tensor/error.h"
#include "tensor/io/safetensors.h"
#include "tensor/tensor.h"

namespace fs = std::filesystem;
using ember::DType;
using ember::Shape;
using ember::Strides;
using ember::Tensor;
using ember::test::check_throws;

namespace {

using ember::test::TempDir;

template <typename T>
Tensor make_tensor(const Shape& shape, const std::vector<T>& values) {
  Tensor t = ember::empty(shape, ember::dtype_of<T>());
  REQUIRE(t.numel() == static_cast<int64_t>(values.size()));
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

// The elements of a loaded tensor, which must be a contiguous CPU tensor of dtype T.
template <typename T>
std::vector<T> values_of(const Tensor& t) {
  REQUIRE(t.defined());
  REQUIRE(t.dtype() == ember::dtype_of<T>());
  REQUIRE(t.device().is_cpu());
  REQUIRE(t.is_contiguous());
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

// Bit-for-bit equality, so that NaN, -0.0 and the like compare as what they are.
template <typename T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  REQUIRE(out.good());
}

// n as 8 little-endian bytes, written out byte by byte.
std::string le64(uint64_t n) {
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes += static_cast<char>((n >> (8 * i)) & 0xFF);
  return bytes;
}

// A file made of: the length of `header`, `header`, then `data`.
std::string file_with(const std::string& header, const std::string& data = "") {
  return le64(header.size()) + header + data;
}

// Parsing `bytes` must throw an ember::Error naming the file and containing every fragment.
void check_error(const std::string& bytes, const std::vector<std::string>& fragments) {
  try {
    ember::parse_safetensors(bytes, "bad.safetensors");
    FAIL("no error was thrown");
  } catch (const ember::Error& e) {
    const std::string message = e.what();
    INFO("message: ", message);
    CHECK(message.find("bad.safetensors") != std::string::npos);
    for (const std::string& fragment : fragments) {
      INFO("fragment: ", fragment);
      CHECK(message.find(fragment) != std::string::npos);
    }
  }
}

const std::string kEightBytes(8, '\0');

}  // namespace

// ---- round trips ---------------------------------------------------------------------------------

TEST_CASE("safetensors: round trip of every dtype") {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> f32 = {1.5f, -0.0f, inf, -inf, std::nanf(""), 1e-45f};
  const std::vector<double> f64 = {3.141592653589793, -1e300, 5e-324, 0.1};
  const std::vector<int64_t> i64 = {std::numeric_limits<int64_t>::min(), -1, 0, std::numeric_limits<int64_t>::max()};
  const std::vector<uint8_t> u8 = {0, 1, 127, 128, 255};
  const std::vector<bool> flags = {true, false, false, true};

  TempDir dir;
  const std::string path = dir.file("all.safetensors");
  ember::save_safetensors(path, {{"f32", make_tensor<float>({2, 3}, f32)},
                                 {"f64", make_tensor<double>({4}, f64)},
                                 {"i64", make_tensor<int64_t>({2, 2}, i64)},
                                 {"u8", make_tensor<uint8_t>({5, 1}, u8)},
                                 {"bool", make_tensor<bool>({2, 1, 2}, flags)}});
  const ember::SafetensorsFile file = ember::load_safetensors(path);

  CHECK(file.tensors.size() == 5);
  CHECK(file.metadata.empty());
  CHECK(file.tensors.at("f32").shape() == Shape{2, 3});
  CHECK(same_bits(values_of<float>(file.tensors.at("f32")), f32));
  CHECK(file.tensors.at("f64").shape() == Shape{4});
  CHECK(same_bits(values_of<double>(file.tensors.at("f64")), f64));
  CHECK(file.tensors.at("i64").shape() == Shape{2, 2});
  CHECK(values_of<int64_t>(file.tensors.at("i64")) == i64);
  CHECK(file.tensors.at("u8").shape() == Shape{5, 1});
  CHECK(values_of<uint8_t>(file.tensors.at("u8")) == u8);
  CHECK(file.tensors.at("bool").shape() == Shape{2, 1, 2});
  CHECK(values_of<bool>(file.tensors.at("bool")) == flags);

  // 8 (length) + header (a multiple of 8) + 24 + 32 + 32 + 5 + 4 data bytes.
  const std::string bytes = read_bytes(path);
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  CHECK(header_length % 8 == 0);
  CHECK(bytes.size() == 8 + header_length + 24 + 32 + 32 + 5 + 4);
}

TEST_CASE("safetensors: round trip of a 0-d tensor and of empty tensors") {
  TempDir dir;
  const std::string path = dir.file("shapes.safetensors");
  ember::save_safetensors(path, {{"scalar", make_tensor<double>({}, {-2.25})},
                                 {"empty", make_tensor<float>({0}, {})},
                                 {"empty3d", make_tensor<int64_t>({2, 0, 3}, {})}});
  const ember::SafetensorsFile file = ember::load_safetensors(path);

  const Tensor& scalar = file.tensors.at("scalar");
  CHECK(scalar.dim() == 0);
  CHECK(scalar.numel() == 1);
  CHECK(values_of<double>(scalar) == std::vector<double>{-2.25});

  CHECK(file.tensors.at("empty").shape() == Shape{0});
  CHECK(file.tensors.at("empty").dtype() == DType::Float32);
  CHECK(file.tensors.at("empty").numel() == 0);
  CHECK(file.tensors.at("empty3d").shape() == Shape{2, 0, 3});
  CHECK(file.tensors.at("empty3d").dtype() == DType::Int64);

  const std::string bytes = read_bytes(path);
  CHECK(bytes.find("\"scalar\":{\"dtype\":\"F64\",\"shape\":[],") != std::string::npos);
  CHECK(bytes.size() % 8 == 0);  // 8 + padded header + the 8 bytes of the scalar
}

TEST_CASE("safetensors: metadata round trip") {
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"},
      {"note", "quote \" backslash \\ newline \n tab \t control \x01"},
      {"unicode", "caf\xC3\xA9 \xF0\x9F\x98\x80"},
      {"empty", ""},
      {"key with \"quotes\"", "v"},
  };
  TempDir dir;
  const std::string path = dir.file("meta.safetensors");
  ember::save_safetensors(path, {{"x", make_tensor<uint8_t>({1}, {7})}}, metadata);
  const ember::SafetensorsFile file = ember::load_safetensors(path);
  CHECK(file.metadata == metadata);
  CHECK(values_of<uint8_t>(file.tensors.at("x")) == std::vector<uint8_t>{7});

  // Metadata alone, without tensors.
  const std::string only_metadata = dir.file("only_meta.safetensors");
  ember::save_safetensors(only_metadata, {}, {{"a", "b"}});
  const ember::SafetensorsFile file2 = ember::load_safetensors(only_metadata);
  CHECK(file2.tensors.empty());
  CHECK(file2.metadata == std::map<std::string, std::string>{{"a", "b"}});
}

TEST_CASE("safetensors: non-contiguous tensors are written element by element in row-major order") {
  const Tensor base = make_tensor<float>({12}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const Tensor transposed = base.as_strided({4, 3}, {1, 4}, 0);  // the transpose of a 3x4 matrix
  const Tensor stepped = base.as_strided({2, 2}, {6, 2}, 1);     // rows 1 and 7, every other column
  const Tensor broadcast = base.as_strided({2, 3}, {0, 1}, 4);   // the same row twice
  const Tensor reversed = make_tensor<int64_t>({3}, {10, 20, 30}).as_strided({3}, {-1}, 2);
  REQUIRE_FALSE(transposed.is_contiguous());
  REQUIRE_FALSE(stepped.is_contiguous());
  REQUIRE_FALSE(broadcast.is_contiguous());
  REQUIRE_FALSE(reversed.is_contiguous());

  TempDir dir;
  const std::string path = dir.file("views.safetensors");
  ember::save_safetensors(
      path, {{"transposed", transposed}, {"stepped", stepped}, {"broadcast", broadcast}, {"reversed", reversed}});
  const ember::SafetensorsFile file = ember::load_safetensors(path);

  CHECK(file.tensors.at("transposed").shape() == Shape{4, 3});
  CHECK(values_of<float>(file.tensors.at("transposed")) == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  CHECK(file.tensors.at("stepped").shape() == Shape{2, 2});
  CHECK(values_of<float>(file.tensors.at("stepped")) == std::vector<float>{1, 3, 7, 9});
  CHECK(values_of<float>(file.tensors.at("broadcast")) == std::vector<float>{4, 5, 6, 4, 5, 6});
  CHECK(values_of<int64_t>(file.tensors.at("reversed")) == std::vector<int64_t>{30, 20, 10});
}

// ---- the bytes of the format ---------------------------------------------------------------------

TEST_CASE("safetensors: exact bytes of a small file, built by hand from the format") {
  TempDir dir;
  const std::string path = dir.file("small.safetensors");
  ember::save_safetensors(path, {{"b", make_tensor<uint8_t>({3}, {1, 2, 3})}, {"a", make_tensor<float>({2}, {1, -2})}},
                          {{"k", "v"}});

  // The header: metadata first, then the tensors in name order, each one's bytes after the last.
  const std::string json =
      "{\"__metadata__\":{\"k\":\"v\"},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}}";
  REQUIRE(json.size() == 132);
  const std::string header = json + std::string(4, ' ');  // padded to 136 = 0x88, a multiple of 8
  std::string expected = std::string("\x88\0\0\0\0\0\0\0", 8) + header;
  expected += std::string("\x00\x00\x80\x3F", 4);  // 1.0f: sign 0, exponent 127, mantissa 0
  expected += std::string("\x00\x00\x00\xC0", 4);  // -2.0f: sign 1, exponent 128, mantissa 0
  expected += std::string("\x01\x02\x03", 3);
  CHECK(read_bytes(path) == expected);
}

TEST_CASE("safetensors: reads a hand-built file: any key order, padding, metadata last") {
  const std::string header = R"({ "w": {"dtype": "F64", "shape": [1], "data_offsets": [4, 12]},)"
                             R"( "m": {"shape": [2, 2], "data_offsets": [0, 4], "dtype": "U8"},)"
                             R"( "z": {"dtype": "BOOL", "shape": [0, 5], "data_offsets": [12, 12]},)"
                             R"( "f": {"dtype": "BOOL", "shape": [], "data_offsets": [12, 13]},)"
                             "\n \"__metadata__\": {\"a\": \"b\\u00e9\"} }      ";
  std::string data = "\x01\x02\x03\x04";
  data += std::string("\x00\x00\x00\x00\x00\x00\xF8\x3F", 8);  // 1.5 as a little-endian double
  data += std::string("\x01", 1);
  std::string bytes = file_with(header, data);

  const ember::SafetensorsFile file = ember::parse_safetensors(bytes, "hand.safetensors");
  bytes.assign(bytes.size(), '\0');  // the tensors must own copies, not point into `bytes`

  CHECK(file.tensors.size() == 4);
  CHECK(file.tensors.at("m").shape() == Shape{2, 2});
  CHECK(values_of<uint8_t>(file.tensors.at("m")) == std::vector<uint8_t>{1, 2, 3, 4});
  CHECK(file.tensors.at("w").shape() == Shape{1});
  CHECK(values_of<double>(file.tensors.at("w")) == std::vector<double>{1.5});
  CHECK(file.tensors.at("z").shape() == Shape{0, 5});
  CHECK(file.tensors.at("z").dtype() == DType::Bool);
  CHECK(file.tensors.at("f").dim() == 0);
  CHECK(values_of<bool>(file.tensors.at("f")) == std::vector<bool>{true});
  CHECK(file.metadata == std::map<std::string, std::string>{{"a", "b\xC3\xA9"}});
}

// ---- broken files --------------------------------------------------------------------------------

TEST_CASE("safetensors: broken lengths and headers") {
  check_error(std::string("\x01\x02\x03\x04\x05", 5), {"5 bytes", "shorter than 8 bytes"});
  check_error("", {"0 bytes", "shorter than 8 bytes"});
  check_error(le64(1000) + "{}", {"header length 1000", "larger than the 2 bytes"});
  check_error(le64(200'000'000) + "{}", {"header length 200000000", "100 MB"});
  check_error(le64(std::numeric_limits<uint64_t>::max()) + "{}", {"100 MB"});
  check_error(file_with(""), {"not valid JSON", "expected a value"});
  check_error(file_with("{"), {"not valid JSON", "at byte 1"});
  check_error(file_with("{} trailing"), {"not valid JSON", "at byte 3", "expected the end of the input"});
  check_error(file_with("[]"), {"must be a JSON object", "array"});
  check_error(file_with("{\"\xFF\":1}"), {"not valid JSON", "invalid UTF-8"});
  check_error(file_with(std::string(70, '[') + std::string(70, ']')), {"not valid JSON", "nested deeper than 64"});
}

TEST_CASE("safetensors: broken tensor entries name the tensor") {
  auto one = [](const std::string& entry, const std::string& data = kEightBytes) {
    return file_with("{\"w\":" + entry + "}", data);
  };
  check_error(one(R"([1])"), {"tensor \"w\"", "expected an object"});
  check_error(one(R"({"shape":[2],"data_offsets":[0,8]})"), {"tensor \"w\"", "missing the field \"dtype\""});
  check_error(one(R"({"dtype":"F32","data_offsets":[0,8]})"), {"tensor \"w\"", "missing the field \"shape\""});
  check_error(one(R"({"dtype":"F32","shape":[2]})"), {"tensor \"w\"", "missing the field \"data_offsets\""});
  check_error(one(R"({"dtype":"F16","shape":[4],"data_offsets":[0,8]})"), {"tensor \"w\"", "\"F16\"", "not supported"});
  check_error(one(R"({"dtype":"BF16","shape":[4],"data_offsets":[0,8]})"), {"tensor \"w\"", "\"BF16\""});
  check_error(one(R"({"dtype":"I32","shape":[2],"data_offsets":[0,8]})"), {"tensor \"w\"", "\"I32\""});
  check_error(one(R"({"dtype":32,"shape":[2],"data_offsets":[0,8]})"), {"\"dtype\" must be a string", "32"});
  check_error(one(R"({"dtype":"F32","shape":"2","data_offsets":[0,8]})"),
              {"tensor \"w\"", "\"shape\" must be an array"});
  check_error(one(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"),
              {"tensor \"w\"", "\"shape\" entry 0", "non-negative integer", "-2"});
  check_error(one(R"({"dtype":"F32","shape":[1,2.5],"data_offsets":[0,8]})"),
              {"tensor \"w\"", "\"shape\" entry 1", "the number 2.5"});
  check_error(one(R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})"),
              {"\"shape\" entry 0", "non-negative integer"});
  check_error(one(R"({"dtype":"F32","shape":[1,1,1,1,1,1,1,1,2],"data_offsets":[0,8]})"),
              {"tensor \"w\"", "9 dims", "at most 8"});
  check_error(one(R"({"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]})"),
              {"tensor \"w\"", "overflow"});
  check_error(one(R"({"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,8]})"),  // 2^61 * 4 bytes
              {"tensor \"w\"", "overflow"});
  check_error(one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"),
              {"tensor \"w\"", "span 8 bytes", "needs 12 bytes"});
  check_error(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8,16]})"),
              {"tensor \"w\"", "two integers", "3 entries"});
  check_error(one(R"({"dtype":"F32","shape":[2],"data_offsets":[-8,0]})"),
              {"tensor \"w\"", "\"data_offsets\" begin", "non-negative"});
  check_error(one(R"({"dtype":"F32","shape":[0],"data_offsets":[8,0]})"), {"tensor \"w\"", "end before they begin"});
  check_error(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1})"),
              {"tensor \"w\"", "unknown field \"extra\""});
  check_error(one(R"({"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]})"),
              {"tensor \"w\"", "\"dtype\" appears twice"});
  check_error(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})", "1234"),
              {"tensor \"w\"", "reach past the end", "4 bytes long"});
  check_error(one(R"({"dtype":"BOOL","shape":[2],"data_offsets":[0,2]})", std::string("\x01\x02", 2)),
              {"tensor \"w\"", "BOOL element 1", "byte 2"});
}

TEST_CASE("safetensors: overlaps, holes, duplicates and bad metadata") {
  const std::string a = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  check_error(file_with("{" + a + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", std::string(12, 'x')),
              {"tensor \"b\"", "overlaps", "tensor \"a\"", "[4, 12)"});
  check_error(file_with("{" + a + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})", std::string(20, 'x')),
              {"bytes [8, 12)", "not covered by any tensor"});
  check_error(file_with("{" + a + "}", std::string(10, 'x')), {"bytes [8, 10)", "not covered by any tensor"});
  check_error(file_with("{}", "xy"), {"bytes [0, 2)", "not covered by any tensor"});
  check_error(file_with("{" + a + "," + a + "}", kEightBytes), {"\"a\" twice", "duplicate"});
  check_error(file_with(R"({"__metadata__":{"epoch":3}})"), {"__metadata__", "\"epoch\"", "must be a string", "3"});
  check_error(file_with(R"({"__metadata__":"x"})"), {"\"__metadata__\" must be an object"});
  check_error(file_with(R"({"__metadata__":{"k":"a","k":"b"}})"), {"__metadata__", "\"k\" twice"});
  check_error(file_with(R"({"__metadata__":{},"__metadata__":{}})"), {"\"__metadata__\" twice"});
}

// ---- files ---------------------------------------------------------------------------------------

TEST_CASE("safetensors: loading a missing file or a directory names the path") {
  TempDir dir;
  const std::string missing = dir.file("missing.safetensors");
  check_throws([&] { ember::load_safetensors(missing); }, {missing, "No such file or directory"});
  check_throws([&] { ember::load_safetensors(dir.path.string()); }, {dir.path.string(), "Is a directory"});
}

TEST_CASE("safetensors: load_safetensors names the path in format errors") {
  TempDir dir;
  const std::string path = dir.file("short.safetensors");
  write_bytes(path, "abc");
  check_throws([&] { ember::load_safetensors(path); }, {path, "3 bytes", "shorter than 8 bytes"});
}

TEST_CASE("safetensors: saving into a missing directory throws and leaves no temporary file") {
  TempDir dir;
  const std::string path = dir.file("no_such_dir") + "/x.safetensors";
  check_throws(
      [&] {
        ember::save_safetensors(path, {{"x", make_tensor<uint8_t>({1}, {1})}});
      },
      {path, "No such file or directory"});
  CHECK(dir.entries().empty());
}

TEST_CASE("safetensors: a failed rename removes the temporary file and keeps what was at the path") {
  TempDir dir;
  const std::string target = dir.file("target");  // a non-empty directory: rename() cannot replace it
  fs::create_directory(target);
  write_bytes(target + "/inside", "keep me");
  check_throws(
      [&] {
        ember::save_safetensors(target, {{"x", make_tensor<uint8_t>({1}, {1})}});
      },
      {target, "cannot rename"});
  CHECK(dir.entries() == std::vector<std::string>{"target"});
  CHECK(read_bytes(target + "/inside") == "keep me");
}

TEST_CASE("safetensors: a save that fails leaves the existing file untouched") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  write_bytes(path, "the old contents");
  check_throws([&] { ember::save_safetensors(path, {{"x", Tensor()}}); }, {path, "tensor \"x\"", "undefined"});
  check_throws(
      [&] {
        ember::save_safetensors(path, {{"__metadata__", make_tensor<uint8_t>({1}, {1})}});
      },
      {path, "reserved"});
  check_throws([&] { ember::save_safetensors(path, {}, {{"k", "bad \xFF"}}); }, {path, "not valid UTF-8"});
  CHECK(read_bytes(path) == "the old contents");
  CHECK(dir.entries() == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("safetensors: saving over an existing file replaces it") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  ember::save_safetensors(path, {{"old", make_tensor<int64_t>({2}, {1, 2})}});
  ember::save_safetensors(path, {{"new", make_tensor<int64_t>({1}, {42})}});
  const ember::SafetensorsFile file = ember::load_safetensors(path);
  CHECK(file.tensors.size() == 1);
  CHECK(values_of<int64_t>(file.tensors.at("new")) == std::vector<int64_t>{42});
  CHECK(dir.entries() == std::vector<std::string>{"model.safetensors"});
}
