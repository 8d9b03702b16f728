#include "tensor/shape.h"

#include "tensor/error.h"

namespace ember {

Dims::Dims(std::initializer_list<int64_t> values) {
  EMBER_CHECK(values.size() <= kMaxDims,
              "a tensor may have at most " + std::to_string(kMaxDims) + " dims, got " + std::to_string(values.size()));
  for (int64_t v : values) v_[n_++] = v;
}

Dims::Dims(const std::vector<int64_t>& values) {
  EMBER_CHECK(values.size() <= kMaxDims,
              "a tensor may have at most " + std::to_string(kMaxDims) + " dims, got " + std::to_string(values.size()));
  for (int64_t v : values) v_[n_++] = v;
}

Dims Dims::filled(int n, int64_t value) {
  Dims d;
  d.resize(n, value);
  return d;
}

void Dims::push_back(int64_t value) {
  EMBER_CHECK(n_ < kMaxDims, "a tensor may have at most " + std::to_string(kMaxDims) + " dims");
  v_[n_++] = value;
}

void Dims::insert(int position, int64_t value) {
  EMBER_CHECK(n_ < kMaxDims, "a tensor may have at most " + std::to_string(kMaxDims) + " dims");
  for (int i = n_; i > position; --i) v_[i] = v_[i - 1];
  v_[position] = value;
  ++n_;
}

void Dims::erase(int position) {
  for (int i = position; i + 1 < n_; ++i) v_[i] = v_[i + 1];
  --n_;
}

void Dims::resize(int n, int64_t fill) {
  EMBER_CHECK(n >= 0 && n <= kMaxDims, "a tensor may have at most " + std::to_string(kMaxDims) + " dims");
  for (int i = n_; i < n; ++i) v_[i] = fill;
  n_ = n;
}

std::string Dims::str() const {
  std::string s = "[";
  for (int i = 0; i < n_; ++i) s += (i ? ", " : "") + std::to_string(v_[i]);
  return s + "]";
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides = Dims::filled(shape.size(), 1);
  for (int i = shape.size() - 2; i >= 0; --i) strides[i] = strides[i + 1] * std::max<int64_t>(shape[i + 1], 1);
  return strides;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  if (a == b) return a;
  int n = std::max(a.size(), b.size());
  Shape out = Dims::filled(n, 1);
  for (int i = 0; i < n; ++i) {
    int ia = a.size() - n + i, ib = b.size() - n + i;
    int64_t sa = ia >= 0 ? a[ia] : 1, sb = ib >= 0 ? b[ib] : 1;
    EMBER_CHECK(sa == sb || sa == 1 || sb == 1, std::string(op) + ": shapes " + a.str() + " and " + b.str() +
                                                    " cannot be broadcast together (dim " + std::to_string(i) +
                                                    " from the left of the result: " + std::to_string(sa) + " vs " +
                                                    std::to_string(sb) + ")");
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

int wrap_dim(int64_t dim, int ndim, const char* op) {
  int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  EMBER_CHECK(dim >= lo && dim <= hi, std::string(op) + ": dim " + std::to_string(dim) + " is out of range for a " +
                                          std::to_string(ndim) + "-d tensor (expected " + std::to_string(lo) + ".." +
                                          std::to_string(hi) + ")");
  return static_cast<int>(dim < 0 ? dim + std::max(ndim, 1) : dim);
}

}  // namespace ember
