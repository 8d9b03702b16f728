// Class activation maps: where in an image a CNN found the evidence for a class. Exercise 1 step 5.
//
// CAM (Zhou et al. 2016) needs the exercise's CAM model, body -> AdaptiveAvgPool2d(1) -> Flatten ->
// Linear(512, n, bias=False): its logit for class c is sum_k W[c,k] mean_ij A[k,i,j], so
// CAM_c[i,j] = sum_k W[c,k] A[k,i,j] says how much cell (i,j) adds to it. Grad-CAM (Selvaraju et
// al. 2017) works for any head (fastai's has two Linear layers, BatchNorm and ReLU between them):
// it weighs each feature channel by the mean gradient of the class logit over the cells.
//
//   auto cam_head = vision::make_cam_head(512, 2);               // the exercise's head
//   auto model = std::make_shared<nn::Sequential>(nn::Sequential::List{body, cam_head});
//   ... fine_tune model ...
//   vision::ClassMaps why = vision::cam(*body, *cam_head, x);     // x (N,3,H,W), normalised
//   why.maps;     // (N, h, w): the map of each image's predicted class (a 16x16 map at 512 px)
//   why.probs;    // (N, n): softmax of the logits;  why.classes: the predicted class per image
//   vision::save_cam_figure(images, why.maps, titles, "out/cam.png");  // cam_figure.cpp
//
//   vision::ClassMaps why2 = vision::grad_cam(*body, *fastai_head, x);   // the first model
//
// Both run body and head in eval mode (as after fastai's fit: BatchNorm uses its running
// statistics, Dropout is off) and put every module back in the mode it was in; neither leaves a
// gradient on any parameter. The maps come back as CPU tensors in the model's dtype (float32 for
// a real model), ready for the figure and the pointing game (pointing_game.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/sequential.h"
#include "tensor/tensor.h"
#include "vision/figure.h"
#include "vision/image.h"

namespace ember::vision {

// The exercise's CAM head: AdaptiveAvgPool2d(1) -> Flatten -> Linear(nf, n_out, bias=False), with
// PyTorch's default Linear init (kaiming_uniform(a=sqrt(5)): U(-1/sqrt(nf), 1/sqrt(nf))), as a plain
// fastai Learner leaves it. (N, nf, h, w) -> (N, n_out).
std::shared_ptr<nn::Sequential> make_cam_head(int64_t nf, int64_t n_out);

// The seed's einsum('cb,abij->acij', W, features): features (N, C, h, w), weight (n, C) ->
// (N, n, h, w), maps[a,c,i,j] = sum_b W[c,b] features[a,b,i,j]. Differentiable, on the inputs'
// device. Shapes that do not fit are an error naming both shapes.
Tensor cam_maps(const Tensor& features, const Tensor& weight);

// One map per image: maps (N, n, h, w) and a class per image -> (N, h, w), out[a] = maps[a, classes[a]].
Tensor select_class_maps(const Tensor& maps, const std::vector<int64_t>& classes);

// What cam() and grad_cam() return for a batch.
struct ClassMaps {
  Tensor maps;                     // (N, h, w), CPU: the map of classes[a] for image a
  Tensor probs;                    // (N, n), CPU: softmax of the logits
  std::vector<int64_t> classes;    // the class each map is for (the prediction unless asked)
  std::vector<int64_t> predicted;  // argmax of the logits (first maximum on ties)
};

// CAM of the CAM model: features = body(x), logits = cam_head(features), maps = cam_maps(features,
// W) with W the weight of cam_head's last module, which must be a Linear without bias whose
// input size is the channel count of the features. `classes` empty: each image's predicted class.
ClassMaps cam(nn::Module& body, nn::Sequential& cam_head, const Tensor& x, const std::vector<int64_t>& classes = {});

// Grad-CAM for any body + head split: A = body(x) (N, C, h, w) becomes a leaf that requires grad,
// y = head(A) (N, n), and for image a with class c = classes[a] (the prediction when empty):
//   alpha[a,k] = (1 / (h w)) sum_ij d y[a,c] / d A[a,k,i,j]          (a channel's weight)
//   map[a,i,j] = ReLU( sum_k alpha[a,k] A[a,k,i,j] )                  (N, h, w)
// One backward of sum_a y[a, c_a] gives every image's gradient at once, because in eval mode the
// images of a batch do not interact. For the CAM head (GAP + linear), d y[c] / d A[k,i,j] = W[c,k]
// / (h w), so Grad-CAM = ReLU(CAM) / (h w): the same picture.
ClassMaps grad_cam(nn::Module& body, nn::Module& head, const Tensor& x, const std::vector<int64_t>& classes = {});
// The same from features already computed (A = body(x)).
ClassMaps grad_cam_from_features(nn::Module& head, const Tensor& features, const std::vector<int64_t>& classes = {});

// ---- the figure (cam_figure.cpp) ---------------------------------------------------------------

// The seed's title: "bezos(%2f)" % prob, i.e. Python's "%f" (6 decimals; the 2 is a minimum width):
// cam_title("square", 0.98765) == "square(0.987650)". decimals: another precision.
std::string cam_title(const std::string& label, double probability, int decimals = 6);

// The seed's 5 x 5 figure (plt.subplots(5, 5), 16 x 16 inches, 100 dpi: 1600 x 1600 px): each image
// with its map over it, imshow(map, alpha=0.5, extent=(0, W-1, H-1, 0), interpolation='bilinear',
// cmap='magma'), colours scaled to each map's own min and max, no axes, the title above. For n
// images the grid is ncols = ceil(sqrt(n)), nrows = ceil(n / ncols), 3.2-inch cells (5 x 5 for 25).
// maps (N, h, w), one title per image; errors name the sizes that do not match.
Figure cam_figure(const std::vector<Image>& images, const Tensor& maps, const std::vector<std::string>& titles);
void save_cam_figure(const std::vector<Image>& images, const Tensor& maps, const std::vector<std::string>& titles,
                     const std::string& path);

}  // namespace ember::vision
