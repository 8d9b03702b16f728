// The safetensors reader and writer. See safetensors.h for the format.
//
// Reading: split the bytes into length, header and buffer; parse the header JSON; turn every
// entry into an Entry (checking each field); check that the entries tile the buffer; copy the
// bytes out into new tensors. Writing: build the header, then stream header and tensor bytes into
// a temporary file that is renamed into place only once everything is on disk.
#include "tensor/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <vector>

#include "tensor/io/file.h"
#include "tensor/io/json.h"

namespace ember {

// The format is little-endian; so is every CPU Ember runs on, which lets us copy bytes as they are.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian CPU");

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // 100 MB, the limit of the reference implementation
constexpr std::string_view kMetadataKey = "__metadata__";

// ---- dtypes --------------------------------------------------------------------------------------

const char* safetensors_dtype_name(DType dtype) {
  switch (dtype) {
  case DType::Float32: return "F32";
  case DType::Float64: return "F64";
  case DType::Int64: return "I64";
  case DType::UInt8: return "U8";
  case DType::Bool: return "BOOL";
  }
  return "?";
}

std::optional<DType> parse_dtype_name(std::string_view name) {
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int64, DType::UInt8, DType::Bool})
    if (name == safetensors_dtype_name(dtype)) return dtype;
  return std::nullopt;
}

// ---- small helpers -------------------------------------------------------------------------------

// "tensor \"conv1.weight\"": names are quoted, so that odd characters in them stay visible.
std::string tensor_label(const std::string& name) { return "tensor " + json::quote(name); }

std::string describe(const json::Value& value) {
  if (value.is_integer()) return std::to_string(value.as_int());
  if (value.is_number()) return "the number " + std::to_string(value.as_double());
  if (value.is_string()) return "the string " + json::quote(value.as_string());
  return std::string("a JSON ") + json::type_name(value.type());
}

// "[begin, end)": a range of bytes.
std::string range_str(int64_t begin, int64_t end) {
  std::string out = "[";
  out += std::to_string(begin);
  out += ", ";
  out += std::to_string(end);
  return out + ")";
}

// The product of the sizes, or nullopt when it does not fit in int64.
std::optional<int64_t> checked_numel(const Shape& shape) {
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  int64_t numel = 1;
  for (int64_t size : shape) {
    if (numel > std::numeric_limits<int64_t>::max() / size) return std::nullopt;
    numel *= size;
  }
  return numel;
}

// ---- reading: the header -------------------------------------------------------------------------

// One tensor of the header, with every field checked.
struct Entry {
  std::string name;
  DType dtype = DType::Float32;
  Shape shape;
  int64_t begin = 0, end = 0;  // data_offsets, relative to the byte buffer
};

// Parses one file; every error names the file.
class Reader {
 public:
  Reader(std::string_view bytes, std::string source) : bytes_(bytes), source_(std::move(source)) {}

  SafetensorsFile read() {
    const std::string_view header = split_header();
    parse_header(header);
    buffer_ = bytes_.substr(8 + header.size());
    for (const Entry& entry : entries_) check_bounds(entry);
    check_tiling();
    SafetensorsFile file;
    file.metadata = std::move(metadata_);
    for (const Entry& entry : entries_) file.tensors.emplace(entry.name, make_tensor(entry));
    return file;
  }

 private:
  std::string_view bytes_;   // the whole file
  std::string_view buffer_;  // the bytes after the header
  std::string source_;
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;

  [[noreturn]] void fail(const std::string& message) const {
    throw Error("safetensors file '" + source_ + "': " + message);
  }

  // The 8-byte length, then the header of that length.
  std::string_view split_header() const {
    if (bytes_.size() < 8)
      fail("the file is " + std::to_string(bytes_.size()) +
           " bytes long, shorter than 8 bytes (the header length that starts every file)");
    uint64_t length = 0;
    for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(bytes_[i]);
    if (length > kMaxHeaderBytes)
      fail("the header length " + std::to_string(length) + " is larger than the limit of 100 MB (" +
           std::to_string(kMaxHeaderBytes) + " bytes)");
    if (length > bytes_.size() - 8)
      fail("the header length " + std::to_string(length) + " is larger than the " + std::to_string(bytes_.size() - 8) +
           " bytes that follow it");
    return bytes_.substr(8, length);
  }

  void parse_header(std::string_view text) {
    json::Value header;
    try {
      header = json::parse(text);
    } catch (const Error& e) {
      fail(std::string("the header is not valid JSON (byte offsets count from the header's start, byte 8 of the "
                       "file): ") +
           e.what());
    }
    if (!header.is_object()) fail("the header must be a JSON object, got " + describe(header));

    std::set<std::string> seen;
    for (const auto& [key, value] : header.as_object()) {
      if (!seen.insert(key).second) fail("the header has the key " + json::quote(key) + " twice (duplicate names)");
      if (key == kMetadataKey) {
        parse_metadata(value);
      } else {
        entries_.push_back(parse_entry(key, value));
      }
    }
  }

  void parse_metadata(const json::Value& value) {
    if (!value.is_object()) fail("\"__metadata__\" must be an object of strings, got " + describe(value));
    for (const auto& [key, item] : value.as_object()) {
      if (!item.is_string())
        fail("\"__metadata__\": the value of " + json::quote(key) + " must be a string, got " + describe(item));
      if (!metadata_.emplace(key, item.as_string()).second)
        fail("\"__metadata__\" has the key " + json::quote(key) + " twice");
    }
  }

  Entry parse_entry(const std::string& name, const json::Value& value) const {
    const std::string where = tensor_label(name);
    if (!value.is_object())
      fail(where + ": expected an object with \"dtype\", \"shape\" and \"data_offsets\", got " + describe(value));
    check_fields(where, value);

    Entry entry;
    entry.name = name;
    entry.dtype = parse_dtype(where, field(where, value, "dtype"));
    entry.shape = parse_shape(where, field(where, value, "shape"));
    parse_offsets(where, field(where, value, "data_offsets"), entry);

    const std::optional<int64_t> numel = checked_numel(entry.shape);
    const auto element_size = static_cast<int64_t>(dtype_size(entry.dtype));
    if (!numel || *numel > std::numeric_limits<int64_t>::max() / element_size)
      fail(where + ": the shape " + entry.shape.str() + " has more elements than fit in int64 (overflow)");
    const int64_t expected_bytes = *numel * element_size;
    if (entry.end - entry.begin != expected_bytes)
      fail(where + ": \"data_offsets\" " + range_str(entry.begin, entry.end) + " span " +
           std::to_string(entry.end - entry.begin) + " bytes, but shape " + entry.shape.str() + " of " +
           safetensors_dtype_name(entry.dtype) + " needs " + std::to_string(expected_bytes) + " bytes");
    return entry;
  }

  // Exactly the three known fields, each once.
  void check_fields(const std::string& where, const json::Value& value) const {
    std::set<std::string> seen;
    for (const auto& [key, item] : value.as_object()) {
      if (key != "dtype" && key != "shape" && key != "data_offsets")
        fail(where + ": unknown field " + json::quote(key) +
             "; expected only \"dtype\", \"shape\" and \"data_offsets\"");
      if (!seen.insert(key).second) fail(where + ": the field " + json::quote(key) + " appears twice");
    }
  }

  const json::Value& field(const std::string& where, const json::Value& value, const char* key) const {
    const json::Value* found = value.find(key);
    if (!found) fail(where + ": missing the field \"" + key + "\"");
    return *found;
  }

  DType parse_dtype(const std::string& where, const json::Value& value) const {
    if (!value.is_string()) fail(where + ": \"dtype\" must be a string such as \"F32\", got " + describe(value));
    const std::optional<DType> dtype = parse_dtype_name(value.as_string());
    if (!dtype)
      fail(where + ": dtype " + json::quote(value.as_string()) +
           " is not supported; Ember reads F32, F64, I64, U8 and BOOL");
    return *dtype;
  }

  Shape parse_shape(const std::string& where, const json::Value& value) const {
    if (!value.is_array()) fail(where + ": \"shape\" must be an array of sizes, got " + describe(value));
    const json::Value::Array& sizes = value.as_array();
    if (sizes.size() > static_cast<size_t>(kMaxDims))
      fail(where + ": \"shape\" has " + std::to_string(sizes.size()) + " dims; Ember tensors have at most " +
           std::to_string(kMaxDims));
    Shape shape;
    for (size_t i = 0; i < sizes.size(); ++i)
      shape.push_back(non_negative_integer(where + ": \"shape\" entry " + std::to_string(i), sizes[i]));
    return shape;
  }

  void parse_offsets(const std::string& where, const json::Value& value, Entry& entry) const {
    if (!value.is_array() || value.as_array().size() != 2)
      fail(where + ": \"data_offsets\" must be an array [begin, end] of two integers, got " +
           (value.is_array() ? std::to_string(value.as_array().size()) + " entries" : describe(value)));
    entry.begin = non_negative_integer(where + ": \"data_offsets\" begin", value.as_array()[0]);
    entry.end = non_negative_integer(where + ": \"data_offsets\" end", value.as_array()[1]);
    if (entry.begin > entry.end)
      fail(where + ": \"data_offsets\" [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
           "] end before they begin");
  }

  int64_t non_negative_integer(const std::string& what, const json::Value& value) const {
    if (!value.is_integer() || value.as_int() < 0)
      fail(what + " must be a non-negative integer, got " + describe(value));
    return value.as_int();
  }

  // ---- reading: the buffer ----

  void check_bounds(const Entry& entry) const {
    if (static_cast<uint64_t>(entry.end) > buffer_.size())
      fail(tensor_label(entry.name) + ": \"data_offsets\" " + range_str(entry.begin, entry.end) +
           " reach past the end of the data buffer, which is " + std::to_string(buffer_.size()) + " bytes long");
  }

  // Sorted by offset, each tensor must start where the previous one ended, and the last one must end
  // where the buffer does.
  void check_tiling() const {
    std::vector<const Entry*> sorted;
    for (const Entry& entry : entries_) sorted.push_back(&entry);
    std::sort(sorted.begin(), sorted.end(),
              [](const Entry* a, const Entry* b) { return std::pair(a->begin, a->end) < std::pair(b->begin, b->end); });
    int64_t covered = 0;  // bytes [0, covered) belong to the tensors seen so far
    const Entry* previous = nullptr;
    for (const Entry* entry : sorted) {
      if (entry->begin < covered)
        fail(tensor_label(entry->name) + " (bytes " + range_str(entry->begin, entry->end) + ") overlaps " +
             tensor_label(previous->name) + " (bytes " + range_str(previous->begin, previous->end) + ")");
      if (entry->begin > covered) fail_hole(covered, entry->begin);
      covered = entry->end;
      previous = entry;
    }
    if (static_cast<uint64_t>(covered) < buffer_.size()) fail_hole(covered, static_cast<int64_t>(buffer_.size()));
  }

  [[noreturn]] void fail_hole(int64_t begin, int64_t end) const {
    fail("bytes " + range_str(begin, end) +
         " of the data buffer are not covered by any tensor (the format allows no holes)");
  }

  Tensor make_tensor(const Entry& entry) const {
    const std::string_view bytes = buffer_.substr(entry.begin, entry.end - entry.begin);
    if (entry.dtype == DType::Bool) check_bools(entry, bytes);
    Tensor tensor = empty(entry.shape, entry.dtype);
    if (!bytes.empty()) std::memcpy(tensor.raw_data(), bytes.data(), bytes.size());
    return tensor;
  }

  // A C++ bool may only hold the bytes 0 and 1.
  void check_bools(const Entry& entry, std::string_view bytes) const {
    for (size_t i = 0; i < bytes.size(); ++i) {
      const auto byte = static_cast<unsigned char>(bytes[i]);
      if (byte > 1)
        fail(tensor_label(entry.name) + ": BOOL element " + std::to_string(i) + " is the byte " + std::to_string(byte) +
             ", expected 0 or 1");
    }
  }
};

// ---- writing -------------------------------------------------------------------------------------

void check_saveable(const std::string& where, const std::map<std::string, Tensor>& tensors,
                    const std::map<std::string, std::string>& metadata) {
  for (const auto& [name, tensor] : tensors) {
    EMBER_CHECK(json::is_valid_utf8(name), where + ": a tensor name is not valid UTF-8");
    EMBER_CHECK(name != kMetadataKey, where + ": \"__metadata__\" is reserved and cannot name a tensor");
    EMBER_CHECK(tensor.defined(), where + ": " + tensor_label(name) + " is undefined");
    EMBER_CHECK(tensor.device().is_cpu(), where + ": " + tensor_label(name) + " is on " + tensor.device().str() +
                                              "; only CPU tensors can be saved (move it to the cpu first)");
  }
  for (const auto& [key, value] : metadata)
    EMBER_CHECK(json::is_valid_utf8(key) && json::is_valid_utf8(value),
                where + ": a metadata key or value is not valid UTF-8");
}

std::string shape_json(const Shape& shape) {
  std::string out = "[";
  for (int i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ",";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

size_t byte_size(const Tensor& tensor) { return static_cast<size_t>(tensor.numel()) * dtype_size(tensor.dtype()); }

// {"__metadata__":{...},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},...} + padding spaces.
std::string make_header(const std::map<std::string, Tensor>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  std::vector<std::string> members;
  if (!metadata.empty()) {
    std::string object;
    for (const auto& [key, value] : metadata) {
      if (!object.empty()) object += ",";
      object += json::quote(key) + ":" + json::quote(value);
    }
    members.push_back(json::quote(kMetadataKey) + ":{" + object + "}");
  }
  size_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const size_t end = offset + byte_size(tensor);
    members.push_back(json::quote(name) + ":{\"dtype\":\"" + safetensors_dtype_name(tensor.dtype()) +
                      "\",\"shape\":" + shape_json(tensor.shape()) + ",\"data_offsets\":[" + std::to_string(offset) +
                      "," + std::to_string(end) + "]}");
    offset = end;
  }
  std::string header = "{";
  for (size_t i = 0; i < members.size(); ++i) {
    if (i > 0) header += ",";
    header += members[i];
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // so that the data starts 8-byte aligned
  return header;
}

// Copies the elements of `tensor` in row-major order into `out`, following its strides: an index
// counts through the shape like an odometer, and each element is found at sum(index[d] * stride[d]).
void gather_row_major(const Tensor& tensor, char* out) {
  const int64_t numel = tensor.numel();
  if (numel == 0) return;
  const size_t element_size = dtype_size(tensor.dtype());
  const char* base = static_cast<const char*>(tensor.raw_data());
  std::vector<int64_t> index(tensor.dim(), 0);
  for (int64_t i = 0; i < numel; ++i) {
    int64_t offset = 0;
    for (int d = 0; d < tensor.dim(); ++d) offset += index[d] * tensor.stride(d);
    std::memcpy(out + i * element_size, base + offset * static_cast<int64_t>(element_size), element_size);
    for (int d = tensor.dim() - 1; d >= 0; --d) {  // advance the odometer
      if (++index[d] < tensor.size(d)) break;
      index[d] = 0;
    }
  }
}

void write_tensor_data(AtomicFile& file, const Tensor& tensor) {
  const size_t size = byte_size(tensor);
  if (size == 0) return;
  if (tensor.is_contiguous()) {
    file.write(tensor.raw_data(), size);
    return;
  }
  std::vector<char> bytes(size);
  gather_row_major(tensor, bytes.data());
  file.write(bytes.data(), size);
}

}  // namespace

// ---- the API -------------------------------------------------------------------------------------

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& source_name) {
  return Reader(bytes, source_name).read();
}

SafetensorsFile load_safetensors(const std::string& path) {
  const std::string bytes = read_file(path, "load_safetensors");
  return parse_safetensors(bytes, path);
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const std::string where = "save_safetensors('" + path + "')";
  check_saveable(where, tensors, metadata);
  const std::string header = make_header(tensors, metadata);

  unsigned char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(static_cast<uint64_t>(header.size()) >> (8 * i));

  AtomicFile file(path, where);
  file.write(length, sizeof length);
  file.write(header.data(), header.size());
  for (const auto& [name, tensor] : tensors) write_tensor_data(file, tensor);
  file.commit();
}

}  // namespace ember
