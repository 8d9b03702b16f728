// Element types a tensor can hold, and the one switch that turns a runtime dtype into a C++ type.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ember {

// float32 is the compute type; float64 exists for gradcheck; int64 for labels and indices;
// uint8 for images; bool for masks produced by comparisons.
enum class DType : uint8_t { Float32, Float64, Int64, UInt8, Bool };

constexpr size_t dtype_size(DType dtype) {
  switch (dtype) {
  case DType::Float32: return 4;
  case DType::Float64: return 8;
  case DType::Int64: return 8;
  case DType::UInt8: return 1;
  case DType::Bool: return 1;
  }
  return 0;
}
const char* dtype_name(DType dtype);  // "float32", ... (PyTorch's spelling without "torch.")
bool is_floating(DType dtype);

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::Float32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::Float64;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::Int64;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::UInt8;
}
template <>
constexpr DType dtype_of<bool>() {
  return DType::Bool;
}

// Calls fn.template operator()<T>() with T the C++ type of `dtype`:
//   visit_dtype(t.dtype(), [&]<typename T>() { T* p = t.data<T>(); ... });
template <typename Fn>
decltype(auto) visit_dtype(DType dtype, Fn&& fn) {
  switch (dtype) {
  case DType::Float32: return fn.template operator()<float>();
  case DType::Float64: return fn.template operator()<double>();
  case DType::Int64: return fn.template operator()<int64_t>();
  case DType::UInt8: return fn.template operator()<uint8_t>();
  case DType::Bool: return fn.template operator()<bool>();
  }
  return fn.template operator()<float>();  // unreachable
}

// The same, restricted to float32 / float64; any other dtype is an error naming `op`.
void throw_not_floating(const char* op, DType dtype);
template <typename Fn>
decltype(auto) visit_floating(const char* op, DType dtype, Fn&& fn) {
  if (dtype == DType::Float64) return fn.template operator()<double>();
  if (dtype != DType::Float32) throw_not_floating(op, dtype);
  return fn.template operator()<float>();
}

// Type promotion for binary ops, as in PyTorch: bool < uint8 < int64 < float32 < float64.
DType promote_types(DType a, DType b);

}  // namespace ember
