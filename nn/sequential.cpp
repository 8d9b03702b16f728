// See sequential.h.
#include "nn/sequential.h"

namespace ember::nn {

Sequential::Sequential(const List& modules) : Module("Sequential") {
  for (const auto& m : modules) push_back(m);
}

void Sequential::push_back(std::shared_ptr<Module> module) { add_child(std::to_string(size()), std::move(module)); }

std::shared_ptr<Module> Sequential::ptr(int64_t index) const {
  const auto n = static_cast<int64_t>(size());
  EMBER_CHECK(index >= -n && index < n,
              "Sequential: index " + std::to_string(index) + " is out of range for " + std::to_string(n) + " modules");
  return named_children()[index < 0 ? index + n : index].second;
}

Module& Sequential::operator[](int64_t index) const { return *ptr(index); }

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& [name, module] : named_children()) y = module->forward(y);
  return y;
}

}  // namespace ember::nn
