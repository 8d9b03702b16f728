// Dims: a short list of int64 (one per dimension) kept inline, used for shapes and strides.
// A fixed capacity instead of std::vector keeps tensor creation free of extra heap allocations,
// which is most of the per-op overhead of a tiny op.
#pragma once
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace ember {

constexpr int kMaxDims = 8;

class Dims {
 public:
  Dims() = default;
  Dims(std::initializer_list<int64_t> values);
  explicit Dims(const std::vector<int64_t>& values);
  static Dims filled(int n, int64_t value);

  int size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t& operator[](int i) { return v_[i]; }
  int64_t operator[](int i) const { return v_[i]; }
  int64_t* begin() { return v_; }
  int64_t* end() { return v_ + n_; }
  const int64_t* begin() const { return v_; }
  const int64_t* end() const { return v_ + n_; }
  int64_t back() const { return v_[n_ - 1]; }

  void push_back(int64_t value);
  void insert(int position, int64_t value);
  void erase(int position);
  void resize(int n, int64_t fill = 0);

  int64_t numel() const {  // product of the entries (1 for an empty list: a scalar)
    int64_t n = 1;
    for (int i = 0; i < n_; ++i) n *= v_[i];
    return n;
  }
  std::vector<int64_t> to_vector() const { return {begin(), end()}; }
  std::string str() const;  // "[2, 3]"

  bool operator==(const Dims& other) const {
    if (n_ != other.n_) return false;
    for (int i = 0; i < n_; ++i)
      if (v_[i] != other.v_[i]) return false;
    return true;
  }
  bool operator!=(const Dims& other) const { return !(*this == other); }

 private:
  int64_t v_[kMaxDims] = {};
  int n_ = 0;
};

using Shape = Dims;
using Strides = Dims;

// Row-major (C order) strides, in elements: contiguous_strides([2,3,4]) = [12,4,1].
Strides contiguous_strides(const Shape& shape);

// NumPy broadcasting: align from the right, sizes must match or be 1. The error names both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Wraps a possibly negative dim into [0, ndim); the error names op, the dim and the rank.
int wrap_dim(int64_t dim, int ndim, const char* op);

}  // namespace ember
