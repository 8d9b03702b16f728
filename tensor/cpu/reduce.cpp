// CPU reductions: sum/max/min over any set of dims, max/min with indices along one dim, and
// softmax / log_softmax with their backward.
//
// All of them first arrange the data as rows: the reduced dims are moved to the end (a permuted
// view, copied to contiguous memory when needed), so the input is (R rows, K reduced elements)
// and each output element is one row's result.
#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <memory>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/parallel.h"

namespace ember::cpu {

Tensor contiguous_cpu(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor out = empty(t.shape(), t.dtype(), t.device());
  copy(out, t);
  return out;
}

Tensor move_dim_last(const Tensor& t, int dim) {
  Shape shape = t.shape();
  Strides strides = t.strides();
  int64_t size = shape[dim], stride = strides[dim];
  shape.erase(dim);
  strides.erase(dim);
  shape.push_back(size);
  strides.push_back(stride);
  return t.as_strided(shape, strides, t.offset());
}

// Permutes `in` so that the dims where out has size 1 (and in does not) come last; returns the
// contiguous (R, K) data.
static Tensor as_rows(const Tensor& out, const Tensor& in, int64_t& rows, int64_t& row_length) {
  Shape kept_shape, reduced_shape;
  Strides kept_strides, reduced_strides;
  for (int d = 0; d < in.dim(); ++d) {
    bool reduced = out.shape()[d] == 1 && in.shape()[d] != 1;
    (reduced ? reduced_shape : kept_shape).push_back(in.shape()[d]);
    (reduced ? reduced_strides : kept_strides).push_back(in.strides()[d]);
  }
  rows = kept_shape.numel();
  row_length = reduced_shape.numel();
  for (int i = 0; i < reduced_shape.size(); ++i) {
    kept_shape.push_back(reduced_shape[i]);
    kept_strides.push_back(reduced_strides[i]);
  }
  return contiguous_cpu(in.as_strided(kept_shape, kept_strides, in.offset()));
}

template <typename T>
static T reduce_row(ReduceOp op, const T* data, int64_t n) {
  if constexpr (std::is_same_v<T, bool>) {
    bool acc = op == ReduceOp::Min;
    for (int64_t i = 0; i < n; ++i) acc = op == ReduceOp::Min ? (acc && data[i]) : (acc || data[i]);
    return acc;
  } else {
    Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> row(data, n);
    switch (op) {
    case ReduceOp::Sum: return row.sum();
    case ReduceOp::Max: return row.maxCoeff();
    case ReduceOp::Min: return row.minCoeff();
    }
    return T(0);
  }
}

template <typename T>
static T combine(ReduceOp op, T a, T b) {
  if (op == ReduceOp::Sum) return static_cast<T>(a + b);
  if (op == ReduceOp::Max) return a > b ? a : b;
  return a < b ? a : b;
}

void reduce(ReduceOp op, const Tensor& out, const Tensor& in) {
  int64_t rows = 0, k = 0;
  Tensor data = as_rows(out, in, rows, k);
  EMBER_CHECK(k > 0 || op == ReduceOp::Sum, std::string(op == ReduceOp::Max ? "max" : "min") +
                                                ": cannot reduce over an empty dimension (input shape " +
                                                in.shape().str() + ")");
  Tensor result = out.is_contiguous() ? out : empty(out.shape(), out.dtype());
  visit_dtype(in.dtype(), [&]<typename T>() {
    const T* src = static_cast<const T*>(data.raw_data());
    T* dst = static_cast<T*>(result.raw_data());
    if (k == 0) {
      for (int64_t r = 0; r < rows; ++r) dst[r] = T(0);
    } else if (rows >= num_threads() || k < 65536) {
      parallel_for(0, rows, std::max<int64_t>(1, 32768 / k), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) dst[r] = reduce_row(op, src + r * k, k);
      });
    } else {  // few long rows (e.g. a full sum): split each row across threads, then combine
      for (int64_t r = 0; r < rows; ++r) {
        const T* row = src + r * k;
        int parts = num_threads();
        std::unique_ptr<T[]> partial(new T[parts]());  // not vector<T>: vector<bool> packs bits
        parallel_for(0, parts, 1, [&](int64_t p0, int64_t p1) {
          for (int64_t p = p0; p < p1; ++p)
            partial[p] = reduce_row(op, row + k * p / parts, k * (p + 1) / parts - k * p / parts);
        });
        T acc = partial[0];
        for (int p = 1; p < parts; ++p) acc = combine(op, acc, partial[p]);
        dst[r] = acc;
      }
    }
  });
  if (!result.is_same(out)) copy(out, result);
}

void reduce_with_index(ReduceOp op, const Tensor& values, const Tensor& indices, const Tensor& in, int dim) {
  Tensor rows_view = contiguous_cpu(move_dim_last(in, dim));
  int64_t k = in.shape()[dim];
  int64_t rows = k == 0 ? 0 : in.numel() / k;
  EMBER_CHECK(k > 0, std::string(op == ReduceOp::Max ? "max" : "min") + ": cannot reduce over dim " +
                         std::to_string(dim) + " of size 0 (input shape " + in.shape().str() + ")");
  Tensor vals = empty(values.shape(), values.dtype());
  Tensor idxs = empty(indices.shape(), DType::Int64);
  visit_dtype(in.dtype(), [&]<typename T>() {
    const T* src = static_cast<const T*>(rows_view.raw_data());
    T* v = static_cast<T*>(vals.raw_data());
    int64_t* ix = static_cast<int64_t*>(idxs.raw_data());
    parallel_for(0, rows, std::max<int64_t>(1, 32768 / k), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* row = src + r * k;
        int64_t best = 0;
        for (int64_t i = 1; i < k; ++i) {
          bool better = op == ReduceOp::Max ? row[i] > row[best] : row[i] < row[best];
          if constexpr (std::is_floating_point_v<T>) better = better || (std::isnan(row[i]) && !std::isnan(row[best]));
          if (better) best = i;
        }
        v[r] = row[best];
        ix[r] = best;
      }
    });
  });
  copy(values, vals);
  copy(indices, idxs);
}

// softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m),  m = max_j x_j (for stability)
// log_softmax(x)_i = x_i - m - log(sum_j exp(x_j - m))
void softmax(const Tensor& out, const Tensor& in, int dim, bool log) {
  Tensor x = contiguous_cpu(move_dim_last(in, dim));
  Tensor y = empty(x.shape(), x.dtype());
  int64_t k = in.shape()[dim];
  int64_t rows = k == 0 ? 0 : in.numel() / k;
  visit_floating("softmax", in.dtype(), [&]<typename T>() {
    const T* src = static_cast<const T*>(x.raw_data());
    T* dst = static_cast<T*>(y.raw_data());
    parallel_for(0, rows, std::max<int64_t>(1, 8192 / k), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* xr = src + r * k;
        T* yr = dst + r * k;
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t i = 0; i < k; ++i) m = std::max(m, xr[i]);
        if (std::isinf(m) && m < 0) m = 0;  // an all -inf row stays finite in the shift
        T sum = 0;
        for (int64_t i = 0; i < k; ++i) {
          yr[i] = std::exp(xr[i] - m);
          sum += yr[i];
        }
        if (log) {
          T log_sum = std::log(sum);
          for (int64_t i = 0; i < k; ++i) yr[i] = xr[i] - m - log_sum;
        } else {
          for (int64_t i = 0; i < k; ++i) yr[i] /= sum;
        }
      }
    });
  });
  copy(move_dim_last(out, dim), y);
}

// With y the forward output and g = dL/dy along one row:
//   softmax:      dL/dx_i = y_i * (g_i - sum_j g_j y_j)
//   log_softmax:  dL/dx_i = g_i - exp(y_i) * sum_j g_j
void softmax_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& y, int dim, bool log) {
  Tensor g = contiguous_cpu(move_dim_last(grad_out, dim));
  Tensor yy = contiguous_cpu(move_dim_last(y, dim));
  Tensor dx = empty(g.shape(), g.dtype());
  int64_t k = y.shape()[dim];
  int64_t rows = k == 0 ? 0 : y.numel() / k;
  visit_floating("softmax backward", y.dtype(), [&]<typename T>() {
    const T* pg = static_cast<const T*>(g.raw_data());
    const T* py = static_cast<const T*>(yy.raw_data());
    T* pd = static_cast<T*>(dx.raw_data());
    parallel_for(0, rows, std::max<int64_t>(1, 8192 / k), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T *gr = pg + r * k, *yr = py + r * k;
        T* dr = pd + r * k;
        T dot = 0;
        for (int64_t i = 0; i < k; ++i) dot += log ? gr[i] : gr[i] * yr[i];
        for (int64_t i = 0; i < k; ++i) dr[i] = log ? gr[i] - std::exp(yr[i]) * dot : yr[i] * (gr[i] - dot);
      }
    });
  });
  copy(move_dim_last(grad_in, dim), dx);
}

}  // namespace ember::cpu
