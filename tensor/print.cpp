// Follows torch/_tensor_str.py: one number format for the whole tensor, chosen from its values
// (integers print as "1.", otherwise 4 decimals, scientific when the range is wide), right-aligned
// to a common width; tensors over 1000 elements show 3 items at each edge of each dim.
#include "tensor/print.h"

#include <cmath>
#include <cstdio>
#include <vector>

#include "tensor/creation.h"
#include "tensor/kernels.h"

namespace ember {

std::string (*grad_fn_name_hook)(const Node& node) = nullptr;

namespace {

constexpr int64_t kThreshold = 1000, kEdgeItems = 3, kLineWidth = 80;

struct Formatter {
  DType dtype;
  bool int_mode = true, sci_mode = false;
  size_t width = 1;

  explicit Formatter(const std::vector<double>& values, DType dtype) : dtype(dtype) {
    if (is_floating(dtype)) {
      double max_abs = 0, min_abs = INFINITY;
      bool any = false;
      for (double v : values) {
        if (!std::isfinite(v)) continue;
        if (v != std::ceil(v)) int_mode = false;
        double a = std::fabs(v);
        if (a == 0) continue;
        any = true;
        max_abs = std::max(max_abs, a), min_abs = std::min(min_abs, a);
      }
      if (any) {
        if (int_mode)
          sci_mode = max_abs / min_abs > 1000 || max_abs > 1e8;
        else
          sci_mode = max_abs / min_abs > 1000 || max_abs > 1e8 || min_abs < 1e-4;
      }
    }
    for (double v : values) width = std::max(width, format(v).size());
  }

  std::string format(double v) const {
    char buf[64];
    if (dtype == DType::Bool) return v != 0 ? "True" : "False";
    if (!is_floating(dtype)) {
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    } else if (std::isnan(v)) {
      return "nan";
    } else if (std::isinf(v)) {
      return v > 0 ? "inf" : "-inf";
    } else if (sci_mode) {
      std::snprintf(buf, sizeof buf, "%.4e", v);
    } else if (int_mode) {
      std::snprintf(buf, sizeof buf, "%.0f.", v);
    } else {
      std::snprintf(buf, sizeof buf, "%.4f", v);
    }
    return buf;
  }

  std::string padded(double v) const {
    std::string s = format(v);
    return std::string(width > s.size() ? width - s.size() : 0, ' ') + s;
  }
};

// Indices along one dim that are shown: all, or the first and last kEdgeItems with a gap (-1).
std::vector<int64_t> shown_indices(int64_t size, bool summarize) {
  std::vector<int64_t> idx;
  if (summarize && size > 2 * kEdgeItems) {
    for (int64_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
    idx.push_back(-1);
    for (int64_t i = size - kEdgeItems; i < size; ++i) idx.push_back(i);
  } else {
    for (int64_t i = 0; i < size; ++i) idx.push_back(i);
  }
  return idx;
}

// The values that will be printed (so the format is chosen from them alone, as PyTorch does).
void collect(const Tensor& t, const std::vector<double>& flat, const Strides& strides, int dim, int64_t offset,
             bool summarize, std::vector<double>& out) {
  if (dim == t.dim()) {
    out.push_back(flat[offset]);
    return;
  }
  for (int64_t i : shown_indices(t.shape()[dim], summarize))
    if (i >= 0) collect(t, flat, strides, dim + 1, offset + i * strides[dim], summarize, out);
}

std::string render(const Tensor& t, const std::vector<double>& flat, const Strides& strides, const Formatter& f,
                   int dim, int64_t offset, int indent, bool summarize) {
  if (t.dim() == 0) return f.format(flat[0]);
  std::string s = "[";
  auto idx = shown_indices(t.shape()[dim], summarize);
  if (dim == t.dim() - 1) {
    // PyTorch's indent is one less than ours (it counts "tensor(" without the bracket).
    int64_t per_line = std::max<int64_t>(1, (kLineWidth - (indent - 1)) / static_cast<int64_t>(f.width + 2));
    for (size_t k = 0; k < idx.size(); ++k) {
      if (k > 0) s += (k % per_line == 0) ? ",\n" + std::string(indent, ' ') : ", ";
      s += idx[k] < 0 ? " ..." : f.padded(flat[offset + idx[k] * strides[dim]]);
    }
  } else {
    std::string separator = ",";  // built by appends: GCC 12 misreports "a" + string(...) (-Wrestrict)
    separator.append(t.dim() - dim - 1, '\n').append(indent, ' ');
    for (size_t k = 0; k < idx.size(); ++k) {
      if (k > 0) s += separator;
      s += idx[k] < 0 ? "..."
                      : render(t, flat, strides, f, dim + 1, offset + idx[k] * strides[dim], indent + 1, summarize);
    }
  }
  return s + "]";
}

}  // namespace

std::string format_tensor(const Tensor& t) {
  if (!t.defined()) return "tensor(undefined)";
  std::vector<std::string> suffixes;
  const bool default_dtype = t.dtype() == DType::Float32 || t.dtype() == DType::Int64 || t.dtype() == DType::Bool;
  if (t.numel() == 0) {  // an empty tensor shows its shape (unless 1-d) and any non-float32 dtype
    if (t.dim() != 1) {
      std::string size = "size=(";
      for (int d = 0; d < t.dim(); ++d) size += (d ? ", " : "") + std::to_string(t.shape()[d]);
      suffixes.push_back(size + ")");
    }
    if (t.dtype() != DType::Float32) suffixes.push_back(std::string("dtype=torch.") + dtype_name(t.dtype()));
  } else if (!default_dtype) {
    suffixes.push_back(std::string("dtype=torch.") + dtype_name(t.dtype()));
  }
  if (t.device().is_cuda()) suffixes.insert(suffixes.begin(), "device='" + t.device().str() + "'");
  if (t.grad_fn() && grad_fn_name_hook)
    suffixes.push_back("grad_fn=<" + grad_fn_name_hook(*t.grad_fn()) + ">");
  else if (t.requires_grad())
    suffixes.push_back("requires_grad=True");

  std::string body = "[]";
  if (t.numel() > 0) {
    Tensor host = t;
    if (!t.device().is_cpu()) {
      host = empty(t.shape(), t.dtype());
      kernels::copy(host, t);
    }
    std::vector<double> flat = to_vector<double>(host);
    Strides strides = contiguous_strides(t.shape());
    bool summarize = t.numel() > kThreshold;
    std::vector<double> shown;
    collect(t, flat, strides, 0, 0, summarize, shown);
    Formatter f(shown, t.dtype());
    body = render(t, flat, strides, f, 0, 0, 8, summarize);
  }
  // PyTorch's _add_suffixes: a suffix that would pass 80 columns goes on its own line, indented.
  std::string s = "tensor(" + body;
  const size_t indent = 7;  // strlen("tensor(")
  size_t newline = s.rfind('\n');
  size_t last_line = newline == std::string::npos ? s.size() + 2 : s.size() - newline + 1;  // PyTorch's arithmetic
  for (const auto& suffix : suffixes) {
    if (last_line + suffix.size() + 2 > 80) {
      s += ",\n" + std::string(indent, ' ') + suffix;
      last_line = indent + suffix.size();
    } else {
      s += ", " + suffix;
      last_line += suffix.size() + 2;
    }
  }
  return s + ")";
}

}  // namespace ember
