// See cam.h: the CAM head, the CAM einsum and Grad-CAM.
#include "vision/cam.h"

#include <utility>

#include "autograd/ops.h"
#include "nn/layers.h"
#include "nn/pooling.h"

namespace ember::vision {

namespace {

// Puts `module` and all its descendants in eval mode and, at the end, every one back in the mode
// it was in (fastai's freeze leaves BatchNorm layers training inside a frozen body, for example).
class EvalModeScope {
 public:
  explicit EvalModeScope(nn::Module& module) {
    for (auto& [name, m] : module.named_modules()) modes_.push_back({m, m->is_training()});
    module.eval();
  }
  ~EvalModeScope() {
    // named_modules lists parents before children, and train(on) sets a whole subtree, so
    // restoring in that order leaves each module with its own old mode.
    for (auto& [m, training] : modes_) m->train(training);
  }
  EvalModeScope(const EvalModeScope&) = delete;
  EvalModeScope& operator=(const EvalModeScope&) = delete;

 private:
  std::vector<std::pair<nn::Module*, bool>> modes_;
};

// Turns requires_grad off on every parameter of `module` (so a backward through it leaves no .grad
// on the model) and back to what each was at the end.
class NoParameterGradsScope {
 public:
  explicit NoParameterGradsScope(nn::Module& module) : parameters_(module.parameters()) {
    for (Tensor& p : parameters_) {
      flags_.push_back(p.requires_grad());
      p.requires_grad_(false);
    }
  }
  ~NoParameterGradsScope() {
    for (size_t i = 0; i < parameters_.size(); ++i) parameters_[i].requires_grad_(flags_[i]);
  }
  NoParameterGradsScope(const NoParameterGradsScope&) = delete;
  NoParameterGradsScope& operator=(const NoParameterGradsScope&) = delete;

 private:
  std::vector<Tensor> parameters_;
  std::vector<bool> flags_;
};

// Records the graph even inside a caller's NoGradGuard (Grad-CAM needs one backward).
class GradEnabledScope {
 public:
  GradEnabledScope() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(true); }
  ~GradEnabledScope() { GradMode::set_enabled(previous_); }
  GradEnabledScope(const GradEnabledScope&) = delete;
  GradEnabledScope& operator=(const GradEnabledScope&) = delete;

 private:
  bool previous_;
};

void check_features(const Tensor& features, const char* who) {
  EMBER_CHECK(features.defined() && features.dim() == 4,
              std::string(who) + ": features must be (N, C, h, w), got " +
                  (features.defined() ? features.shape().str() : std::string("an undefined tensor")));
  EMBER_CHECK(is_floating(features.dtype()),
              std::string(who) + ": features must be a float tensor, got " + dtype_name(features.dtype()));
}

// The logits (N, n) of a head, checked, with the prediction and the classes to explain.
struct Scored {
  Tensor logits;
  std::vector<int64_t> predicted, classes;
};

Scored score(const Tensor& logits, int64_t batch, const std::vector<int64_t>& classes, const char* who) {
  EMBER_CHECK(logits.dim() == 2 && logits.size(0) == batch,
              std::string(who) + ": the head must give logits (N, n) = (" + std::to_string(batch) +
                  ", n) for features of batch size " + std::to_string(batch) + ", got " + logits.shape().str());
  Scored s{logits, {}, {}};
  s.predicted = to_vector<int64_t>(to_cpu(argmax(logits.detach(), 1)));
  s.classes = classes.empty() ? s.predicted : classes;
  EMBER_CHECK(static_cast<int64_t>(s.classes.size()) == batch,
              std::string(who) + ": " + std::to_string(s.classes.size()) + " classes given for " +
                  std::to_string(batch) + " images");
  for (size_t a = 0; a < s.classes.size(); ++a)
    EMBER_CHECK(s.classes[a] >= 0 && s.classes[a] < logits.size(1),
                std::string(who) + ": class " + std::to_string(s.classes[a]) + " of image " + std::to_string(a) +
                    " is not in [0, " + std::to_string(logits.size(1)) + ")");
  return s;
}

Tensor cpu_detached(const Tensor& t) { return contiguous(to_cpu(t.detach())); }

}  // namespace

std::shared_ptr<nn::Sequential> make_cam_head(int64_t nf, int64_t n_out) {
  return std::make_shared<nn::Sequential>(nn::Sequential::List{std::make_shared<nn::AdaptiveAvgPool2d>(1),
                                                               std::make_shared<nn::Flatten>(),
                                                               std::make_shared<nn::Linear>(nf, n_out, false)});
}

Tensor cam_maps(const Tensor& features, const Tensor& weight) {
  check_features(features, "cam_maps");
  EMBER_CHECK(weight.defined() && weight.dim() == 2 && weight.size(1) == features.size(1),
              "cam_maps: weight must be (n, C) with C = " + std::to_string(features.size(1)) +
                  " for features (N, C, h, w) = " + features.shape().str() + ", got weight " +
                  (weight.defined() ? weight.shape().str() : std::string("undefined")));
  // maps[a,c,i,j] = sum_b W[c,b] features[a,b,i,j]   (N,C,h,w), (n,C) -> (N,n,h,w)
  return einsum("cb,abij->acij", {weight, features});
}

Tensor select_class_maps(const Tensor& maps, const std::vector<int64_t>& classes) {
  EMBER_CHECK(maps.defined() && maps.dim() == 4,
              "select_class_maps: maps must be (N, n, h, w), got " +
                  (maps.defined() ? maps.shape().str() : std::string("an undefined tensor")));
  EMBER_CHECK(static_cast<int64_t>(classes.size()) == maps.size(0),
              "select_class_maps: " + std::to_string(classes.size()) + " classes for maps " + maps.shape().str());
  std::vector<Tensor> chosen;
  for (size_t a = 0; a < classes.size(); ++a) {
    EMBER_CHECK(classes[a] >= 0 && classes[a] < maps.size(1),
                "select_class_maps: class " + std::to_string(classes[a]) + " of image " + std::to_string(a) +
                    " is not in [0, " + std::to_string(maps.size(1)) + ") for maps " + maps.shape().str());
    chosen.push_back(select(select(maps, 0, static_cast<int64_t>(a)), 0, classes[a]));  // (h, w)
  }
  return stack(chosen, 0);  // (N, h, w)
}

ClassMaps cam(nn::Module& body, nn::Sequential& cam_head, const Tensor& x, const std::vector<int64_t>& classes) {
  EMBER_CHECK(cam_head.size() > 0, "cam: the CAM head is empty");
  auto* linear = dynamic_cast<nn::Linear*>(&cam_head[-1]);
  EMBER_CHECK(linear != nullptr && !linear->bias.defined(),
              "cam: the CAM head must end in a Linear without bias (AdaptiveAvgPool2d(1), Flatten, "
              "Linear(nf, n, bias=False)), but its last module is " +
                  cam_head[-1].str());
  EvalModeScope body_eval(body), head_eval(cam_head);
  NoGradGuard no_grad;
  Tensor features = body(x);  // (N, C, h, w)
  check_features(features, "cam");
  EMBER_CHECK(linear->in_features == features.size(1), "cam: the head's Linear takes " +
                                                           std::to_string(linear->in_features) +
                                                           " features but the body gives " + features.shape().str());
  Scored s = score(cam_head(features), features.size(0), classes, "cam");
  ClassMaps out;
  out.maps = cpu_detached(select_class_maps(cam_maps(features, linear->weight), s.classes));
  out.probs = cpu_detached(softmax(s.logits, 1));
  out.classes = s.classes;
  out.predicted = s.predicted;
  return out;
}

ClassMaps grad_cam_from_features(nn::Module& head, const Tensor& features, const std::vector<int64_t>& classes) {
  check_features(features, "grad_cam");
  EvalModeScope head_eval(head);
  NoParameterGradsScope no_parameter_grads(head);
  GradEnabledScope grad_enabled;

  Tensor a = features.detach();  // (N, C, h, w): a leaf of its own, whatever made the features
  a.requires_grad_(true);
  Scored s = score(head(a), features.size(0), classes, "grad_cam");
  // One backward of sum_a y[a, c_a]: d/dA[a] of the sum is d y[a, c_a] / d A[a] (images independent).
  Tensor index = to(from_vector(s.classes, Shape{features.size(0), 1}), s.logits.device());
  backward(sum(gather(s.logits, 1, index)));
  Tensor gradient = a.grad();  // (N, C, h, w)
  EMBER_CHECK(gradient.defined(), "grad_cam: the head's logits do not depend on the features");

  NoGradGuard no_grad;
  Tensor alpha = mean(gradient, {2, 3}, /*keepdim=*/true);                  // (N, C, 1, 1)
  Tensor maps = relu(sum(mul(alpha, a.detach()), {1}, /*keepdim=*/false));  // (N, h, w)
  ClassMaps out;
  out.maps = cpu_detached(maps);
  out.probs = cpu_detached(softmax(s.logits.detach(), 1));
  out.classes = s.classes;
  out.predicted = s.predicted;
  return out;
}

ClassMaps grad_cam(nn::Module& body, nn::Module& head, const Tensor& x, const std::vector<int64_t>& classes) {
  Tensor features;
  {
    EvalModeScope body_eval(body);
    NoGradGuard no_grad;
    features = body(x);
  }
  return grad_cam_from_features(head, features, classes);
}

}  // namespace ember::vision
