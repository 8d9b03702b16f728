// Module: PyTorch's nn.Module. A model is a tree of modules; each one owns named parameters
// (tensors the optimiser trains), named buffers (state that is saved but not trained, like
// BatchNorm's running mean) and named children. Everything else (state_dict, train/eval, moving
// to a device, printing) walks that tree.
//
//   auto net = std::make_shared<nn::Sequential>(nn::Sequential{
//       std::make_shared<nn::Linear>(4, 2, /*bias=*/false),
//       std::make_shared<nn::Linear>(2, 4, /*bias=*/false)});
//   Tensor xhat = (*net)(x);                 // forward
//   net->named_parameters();                 // {"0.weight", ...}, {"1.weight", ...}
//   nn::save_safetensors(*net, "net.safetensors");
//
// Parameters are Tensor handles: the module and an optimiser holding the same handle see one
// tensor. Loading a state_dict or moving to a device changes a parameter's data in place (like
// PyTorch's `param.data = ...`), so every handle stays valid.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace ember::nn {

// Named tensors in PyTorch's order: a module's own parameters, then its buffers, then each child's
// entries prefixed with "<child name>." (so "0.weight", "layer1.0.bn1.running_mean").
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using StateDict = NamedTensors;

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;  // parameters are shared handles: a copy would silently alias them
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& input) = 0;
  Tensor operator()(const Tensor& input) { return forward(input); }

  const std::string& type_name() const { return type_name_; }  // "Linear"
  // The part inside the parentheses when printed: "in_features=4, out_features=2, bias=False".
  virtual std::string extra_repr() const { return ""; }
  std::string str() const;  // the tree, printed as PyTorch prints it

  // ---- the tree ------------------------------------------------------------------------------
  NamedTensors named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  // This module ("") and every descendant ("0", "0.conv1", ...), parents before children.
  std::vector<std::pair<std::string, Module*>> named_modules();
  int64_t num_parameters() const;  // total number of elements in all parameters

  // ---- mode and gradients ----------------------------------------------------------------------
  void train(bool on = true);  // this module and all descendants
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // fn(module) for every descendant, children first, then this module (as nn.Module.apply).
  void apply(const std::function<void(Module&)>& fn);
  // Drops every parameter's gradient (set_to_none, PyTorch 2's default) or zeroes it in place.
  void zero_grad(bool set_to_none = true);
  void requires_grad_(bool requires_grad = true);

  // Moves every parameter and buffer to `device` in place (handles stay valid; gradients move too).
  void to(Device device);
  // Casts every floating-point parameter and buffer to `dtype` in place (PyTorch's module.to(dtype),
  // .double()); integer buffers such as num_batches_tracked keep theirs. Gradients are dropped.
  void to(DType dtype);

  // ---- state -------------------------------------------------------------------------------------
  StateDict state_dict() const;  // parameters and buffers, detached, sharing storage
  // Copies each entry into the tensor of the same name (cast to its dtype, moved to its device).
  // strict: every key must match both ways. Shape mismatches are always an error. One error lists
  // every missing, unexpected and mis-shaped key.
  void load_state_dict(const StateDict& state, bool strict = true);

 protected:
  // Registration, in the constructor of a subclass. Returns `value` so it can initialise a member:
  //   weight = register_parameter("weight", empty({out, in}));
  // An undefined value (bias=false) registers nothing, as PyTorch skips None parameters.
  Tensor register_parameter(const std::string& name, Tensor value);
  Tensor register_buffer(const std::string& name, Tensor value);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  void add_child(const std::string& name, std::shared_ptr<Module> module);

 private:
  void collect(const std::string& prefix, bool recurse, bool parameters, NamedTensors& out) const;
  void check_new_name(const std::string& name) const;

  std::string type_name_;
  NamedTensors parameters_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

std::ostream& operator<<(std::ostream& os, const Module& module);

// Saves the state_dict as safetensors with PyTorch's key names (tensors are copied to the CPU),
// atomically; load_safetensors reads such a file (or one exported from PyTorch) into the module.
void save_safetensors(const Module& module, const std::string& path);
void load_safetensors(Module& module, const std::string& path, bool strict = true);

}  // namespace ember::nn
