// See module.h. The tree walks are short recursive functions: models are a few levels deep.
#include "nn/module.h"

#include <map>
#include <ostream>
#include <set>
#include <sstream>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "tensor/io/safetensors.h"

namespace ember::nn {

namespace {

// PyTorch's `param.data = src`: the tensor behind every handle of `target` now holds src's data
// (same dtype expected), and its autograd identity (requires_grad, the leaf's gradient sink) stays.
void replace_data(const Tensor& target, const Tensor& src) {
  TensorImpl& impl = *target.impl();
  impl.storage = src.storage();
  impl.shape = src.shape();
  impl.strides = src.strides();
  impl.offset = src.offset();
  impl.dtype = src.dtype();
}

std::string join_name(const std::string& prefix, const std::string& name) {
  if (prefix.empty()) return name;
  return name.empty() ? prefix : prefix + "." + name;
}

}  // namespace

// ---- registration --------------------------------------------------------------------------------

void Module::check_new_name(const std::string& name) const {
  EMBER_CHECK(
      !name.empty() && name.find('.') == std::string::npos,
      type_name_ + ": a parameter, buffer or child name must be non-empty and contain no '.', got '" + name + "'");
  auto taken = [&](const auto& list) {
    for (const auto& entry : list)
      if (entry.first == name) return true;
    return false;
  };
  EMBER_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_),
              type_name_ + ": the name '" + name + "' is already registered");
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  check_new_name(name);
  if (!value.defined()) return value;
  EMBER_CHECK(is_floating(value.dtype()),
              type_name_ + ": parameter '" + name + "' must be a float tensor, got " + dtype_name(value.dtype()));
  value.requires_grad_(true);
  parameters_.emplace_back(name, value);
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_new_name(name);
  if (value.defined()) buffers_.emplace_back(name, value);
  return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name);
  EMBER_CHECK(module != nullptr, type_name_ + ": child module '" + name + "' is null");
  children_.emplace_back(name, std::move(module));
}

// ---- walking the tree ----------------------------------------------------------------------------

void Module::collect(const std::string& prefix, bool recurse, bool parameters, NamedTensors& out) const {
  for (const auto& [name, tensor] : parameters ? parameters_ : buffers_)
    out.emplace_back(join_name(prefix, name), tensor);
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect(join_name(prefix, name), true, parameters, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect("", recurse, true, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters(recurse)) out.push_back(tensor);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect("", recurse, false, out);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (auto& [name, child] : children_)
    for (auto& [sub_name, module] : child->named_modules()) out.emplace_back(join_name(name, sub_name), module);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t total = 0;
  for (const auto& p : parameters()) total += p.numel();
  return total;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [name, child] : children_) child->apply(fn);
  fn(*this);
}

void Module::zero_grad(bool set_to_none) {
  for (auto& p : parameters()) {
    Tensor grad = p.grad();
    if (!grad.defined()) continue;
    if (set_to_none) {
      p.set_grad(Tensor());
    } else {
      NoGradGuard no_grad;
      zero_(grad);
    }
  }
}

void Module::requires_grad_(bool requires_grad) {
  for (auto& p : parameters()) p.requires_grad_(requires_grad);
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  for (auto& [name, p] : named_parameters()) {
    if (p.device() == device) continue;
    replace_data(p, ember::to(p.detach(), device));
    if (Tensor grad = p.grad(); grad.defined()) p.set_grad(ember::to(grad, device));
  }
  for (auto& [name, b] : named_buffers())
    if (b.device() != device) replace_data(b, ember::to(b.detach(), device));
}

void Module::to(DType dtype) {
  EMBER_CHECK(is_floating(dtype),
              type_name_ + ".to(" + dtype_name(dtype) + "): a module can only be cast to a floating-point dtype");
  NoGradGuard no_grad;
  for (auto& [name, p] : named_parameters()) {
    if (p.dtype() == dtype || !is_floating(p.dtype())) continue;
    replace_data(p, to_dtype(p.detach(), dtype));
    p.set_grad(Tensor());
  }
  for (auto& [name, b] : named_buffers())
    if (b.dtype() != dtype && is_floating(b.dtype())) replace_data(b, to_dtype(b.detach(), dtype));
}

// ---- state_dict ----------------------------------------------------------------------------------

StateDict Module::state_dict() const {
  // PyTorch's order: per module its parameters, then its buffers, then its children.
  StateDict out;
  std::function<void(const Module&, const std::string&)> visit = [&](const Module& m, const std::string& prefix) {
    for (const auto& [name, t] : m.parameters_) out.emplace_back(join_name(prefix, name), t.detach());
    for (const auto& [name, t] : m.buffers_) out.emplace_back(join_name(prefix, name), t.detach());
    for (const auto& [name, child] : m.children_) visit(*child, join_name(prefix, name));
  };
  visit(*this, "");
  return out;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  std::map<std::string, Tensor> given;
  std::vector<std::string> duplicates;
  for (const auto& [name, t] : state)
    if (!given.emplace(name, t).second) duplicates.push_back(name);
  EMBER_CHECK(duplicates.empty(), "load_state_dict: the state_dict names '" + duplicates.front() + "' twice");

  std::vector<std::string> missing, mis_shaped;
  std::set<std::string> known;
  StateDict own = state_dict();
  for (const auto& [name, target] : own) {
    known.insert(name);
    auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
    } else if (!it->second.defined() || it->second.shape() != target.shape()) {
      mis_shaped.push_back("size mismatch for " + name + ": copying a tensor with shape " +
                           (it->second.defined() ? it->second.shape().str() : std::string("(undefined)")) +
                           " from the state_dict, the shape in the current model is " + target.shape().str());
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, t] : given)
    if (!known.count(name)) unexpected.push_back(name);

  if (!mis_shaped.empty() || (strict && (!missing.empty() || !unexpected.empty()))) {
    std::ostringstream message;
    message << "load_state_dict: error(s) in loading the state_dict for " << type_name_ << ":";
    auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      message << "\n  " << what << " (" << names.size() << "):";
      for (const auto& name : names) message << " \"" << name << "\"";
    };
    if (strict) {
      list("missing keys", missing);
      list("unexpected keys", unexpected);
    }
    for (const auto& line : mis_shaped) message << "\n  " << line;
    throw Error(message.str());
  }

  NoGradGuard no_grad;
  for (auto& [name, target] : own) {
    auto it = given.find(name);
    if (it == given.end()) continue;
    Tensor target_handle = target;  // shares the storage of the module's own tensor
    copy_(target_handle, ember::to(it->second, target.device()));
  }
}

// ---- printing ------------------------------------------------------------------------------------

static void print_module(std::ostream& os, const Module& m, int indent) {
  os << m.type_name() << "(" << m.extra_repr();
  if (m.named_children().empty()) {
    os << ")";
    return;
  }
  os << "\n";
  for (const auto& [name, child] : m.named_children()) {
    os << std::string(indent + 2, ' ') << "(" << name << "): ";
    print_module(os, *child, indent + 2);
    os << "\n";
  }
  os << std::string(indent, ' ') << ")";
}

std::string Module::str() const {
  std::ostringstream os;
  print_module(os, *this, 0);
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Module& module) { return os << module.str(); }

// ---- safetensors ---------------------------------------------------------------------------------

void save_safetensors(const Module& module, const std::string& path) {
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, t] : module.state_dict()) tensors[name] = ember::to(t, Device::cpu());
  ember::save_safetensors(path, tensors, {{"format", "pt"}});
}

void load_safetensors(Module& module, const std::string& path, bool strict) {
  SafetensorsFile file = ember::load_safetensors(path);
  StateDict state(file.tensors.begin(), file.tensors.end());
  try {
    module.load_state_dict(state, strict);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + "\n  (the state_dict was read from '" + path + "')");
  }
}

}  // namespace ember::nn
