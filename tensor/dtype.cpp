#include "tensor/dtype.h"

#include "tensor/error.h"

namespace ember {

const char* dtype_name(DType dtype) {
  switch (dtype) {
  case DType::Float32: return "float32";
  case DType::Float64: return "float64";
  case DType::Int64: return "int64";
  case DType::UInt8: return "uint8";
  case DType::Bool: return "bool";
  }
  return "?";
}

bool is_floating(DType dtype) { return dtype == DType::Float32 || dtype == DType::Float64; }

void throw_not_floating(const char* op, DType dtype) {
  throw Error(std::string(op) + ": expected a float32 or float64 tensor, got " + dtype_name(dtype));
}

static int promotion_rank(DType d) {
  switch (d) {
  case DType::Bool: return 0;
  case DType::UInt8: return 1;
  case DType::Int64: return 2;
  case DType::Float32: return 3;
  case DType::Float64: return 4;
  }
  return 0;
}

DType promote_types(DType a, DType b) { return promotion_rank(a) >= promotion_rank(b) ? a : b; }

}  // namespace ember
