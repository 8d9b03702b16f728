// Reading and writing safetensors files: named tensors plus string metadata, the format of
// Hugging Face's `safetensors` library. Ember uses it for the fixtures of its golden tests and
// for pretrained weights.
//
// The format (https://github.com/huggingface/safetensors):
//
//   [8 bytes]  N, the length of the header, as a little-endian uint64
//   [N bytes]  the header: a UTF-8 JSON object. Each key is a tensor name, mapping to
//                {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
//              and an optional key "__metadata__" maps to an object of string -> string.
//              The header may end with spaces (writers pad it so that the data is aligned).
//   [rest]     the byte buffer: each tensor's elements, little-endian, row-major (C order), at
//              [begin, end) relative to the start of the buffer. The tensors tile the buffer
//              exactly: no two overlap and no byte belongs to no tensor.
//
// Ember reads and writes the dtypes it has: F32, F64, I64, U8 and BOOL (one byte, 0 or 1). Any
// other dtype (F16, BF16, I32, ...) is an error naming the tensor and the dtype.
//
// The reader trusts nothing: every field is checked, and a broken file is an ember::Error that
// names the file, the tensor and what was expected.
#pragma once
#include <map>
#include <string>
#include <string_view>

#include "tensor/tensor.h"

namespace ember {

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;  // the "__metadata__" object, empty when absent
};

// Reads a whole file. The tensors are CPU, contiguous, and own their memory.
SafetensorsFile load_safetensors(const std::string& path);

// Parses the bytes of a file; `source_name` (usually the path) is only used in error messages.
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& source_name);

// Writes `tensors` (CPU, any strides; stored row-major) in name order, with the header padded
// with spaces to a multiple of 8 bytes. The write is atomic: the bytes go to a temporary file
// next to `path` ("<path>.tmp-<pid>"), which is flushed to disk and then renamed over `path`. A
// failed save throws and leaves `path` as it was, and no temporary file behind.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace ember
