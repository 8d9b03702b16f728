// Sequential: modules applied one after another, indexable like a Python list (net[0]).
//
//   auto net = std::make_shared<nn::Sequential>(nn::Sequential::List{
//       std::make_shared<nn::Linear>(4, 2, false), std::make_shared<nn::Linear>(2, 4, false)});
//   Tensor z = (*net)[0](x);                        // the first layer alone
//   nn::Linear& l1 = net->at<nn::Linear>(0);        // typed access (an error if it is no Linear)
#pragma once
#include <initializer_list>
#include <memory>
#include <vector>

#include "nn/module.h"

namespace ember::nn {

class Sequential : public Module {
 public:
  using List = std::vector<std::shared_ptr<Module>>;
  Sequential() : Module("Sequential") {}
  explicit Sequential(const List& modules);

  void push_back(std::shared_ptr<Module> module);  // named "0", "1", ... as in PyTorch
  size_t size() const { return named_children().size(); }
  Module& operator[](int64_t index) const;  // negative counts from the end
  std::shared_ptr<Module> ptr(int64_t index) const;
  template <typename M>
  M& at(int64_t index) const {
    auto* typed = dynamic_cast<M*>(&(*this)[index]);
    EMBER_CHECK(typed != nullptr, "Sequential: module " + std::to_string(index) + " is a " +
                                      (*this)[index].type_name() + ", not the type asked for");
    return *typed;
  }

  Tensor forward(const Tensor& x) override;
};

}  // namespace ember::nn
