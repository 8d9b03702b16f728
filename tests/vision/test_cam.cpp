// vision/cam.h: the CAM einsum against plain loops and PyTorch's einsum, Grad-CAM against PyTorch's
// autograd on a tiny conv body + fastai's head (tests/golden/make_cam_fixtures.py, float64), the
// identity Grad-CAM = ReLU(CAM) / (h w) for the exercise's GAP + linear head, the model left as it
// was found (modes, requires_grad, no gradients), bad shapes, and the 5 x 5 figure's size and pixels.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "nn/batch_norm.h"
#include "nn/conv.h"
#include "nn/layers.h"
#include "nn/models/fastai_head.h"
#include "nn/pooling.h"
#include "tests/test_util.h"
#include "vision/cam.h"

#ifdef EMBER_HAVE_CAIRO
constexpr bool kHaveCairo = true;
#else
constexpr bool kHaveCairo = false;
#endif

using namespace ember;
using namespace ember::test;

namespace {

const SafetensorsFile& fixtures() {
  static SafetensorsFile file = load_safetensors(std::string(EMBER_TEST_DATA) + "/golden_cam.safetensors");
  return file;
}
Tensor fixture(const std::string& name) {
  const auto& tensors = fixtures().tensors;
  auto it = tensors.find(name);
  REQUIRE_MESSAGE(it != tensors.end(), "golden_cam.safetensors has no tensor " << name);
  return it->second;
}

// maps[a,c,i,j] = sum_b W[c,b] F[a,b,i,j], written as the loops the einsum stands for.
Tensor cam_by_loops(const Tensor& features, const Tensor& weight) {
  const int64_t N = features.size(0), C = features.size(1), H = features.size(2), W = features.size(3);
  const int64_t n = weight.size(0);
  const std::vector<double> f = to_vector<double>(features), w = to_vector<double>(weight);
  std::vector<double> out(static_cast<size_t>(N * n * H * W), 0.0);
  for (int64_t a = 0; a < N; ++a)
    for (int64_t c = 0; c < n; ++c)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          double s = 0;
          for (int64_t b = 0; b < C; ++b) s += w[c * C + b] * f[((a * C + b) * H + i) * W + j];
          out[((a * n + c) * H + i) * W + j] = s;
        }
  return from_vector(out, Shape{N, n, H, W});
}

// The tiny model of make_cam_fixtures.py, float64, with its weights.
struct TinyModel {
  std::shared_ptr<nn::Sequential> body, head, model;
};
TinyModel tiny_model_from_fixture() {
  TinyModel m;
  m.body = std::make_shared<nn::Sequential>(
      nn::Sequential::List{std::make_shared<nn::Conv2d>(3, 4, 3, 2, 1, false), std::make_shared<nn::BatchNorm2d>(4),
                           std::make_shared<nn::ReLU>(), std::make_shared<nn::Conv2d>(4, 4, 3, 1, 1, false)});
  m.head = nn::create_head(4, 2);
  m.model = std::make_shared<nn::Sequential>(nn::Sequential::List{m.body, m.head});
  m.model->to(DType::Float64);
  nn::StateDict state;
  const std::string prefix = "gradcam/model.";
  for (const auto& [name, t] : fixtures().tensors)
    if (name.rfind(prefix, 0) == 0) state.push_back({name.substr(prefix.size()), t});
  m.model->load_state_dict(state);  // strict: every key must match
  return m;
}

std::vector<int64_t> ints(const Tensor& t) { return to_vector<int64_t>(t); }

}  // namespace

TEST_CASE("cam_maps is the einsum 'cb,abij->acij': explicit loops, and PyTorch's einsum") {
  manual_seed(3);
  Tensor features = randn({2, 5, 3, 4}, DType::Float64), weight = randn({3, 5}, DType::Float64);
  CHECK_CLOSE(vision::cam_maps(features, weight), cam_by_loops(features, weight), 1e-12, 1e-12);
  // A non-contiguous features tensor (channels last in memory) gives the same.
  Tensor channels_last = permute(contiguous(permute(features, {0, 2, 3, 1})), {0, 3, 1, 2});
  REQUIRE(!channels_last.is_contiguous());
  CHECK_CLOSE(vision::cam_maps(channels_last, weight), cam_by_loops(features, weight), 1e-12, 1e-12);

  CHECK_CLOSE(vision::cam_maps(fixture("einsum/features"), fixture("einsum/W")), fixture("einsum/out"), 1e-12, 1e-12);
}

TEST_CASE("cam_maps and select_class_maps: shapes that do not fit are errors naming the shapes") {
  Tensor features = zeros({2, 5, 3, 4}), weight = zeros({3, 5});
  check_throws([&] { vision::cam_maps(features, zeros({3, 4})); }, {"cam_maps", "[3, 4]", "[2, 5, 3, 4]", "C = 5"});
  check_throws([&] { vision::cam_maps(zeros({2, 5, 3}), weight); }, {"cam_maps", "(N, C, h, w)", "[2, 5, 3]"});
  check_throws([&] { vision::cam_maps(features, zeros({15})); }, {"cam_maps", "[15]"});
  check_throws([&] { vision::cam_maps(zeros({2, 5, 3, 4}, DType::Int64), weight); }, {"cam_maps", "float"});
  Tensor maps = vision::cam_maps(features, weight);  // (2, 3, 3, 4)
  check_throws([&] { vision::select_class_maps(maps, {0}); }, {"1 classes", "[2, 3, 3, 4]"});
  check_throws([&] { vision::select_class_maps(maps, {0, 3}); }, {"class 3 of image 1", "[0, 3)"});
  check_throws([&] { vision::select_class_maps(zeros({2, 3}), {0, 1}); }, {"(N, n, h, w)", "[2, 3]"});
}

TEST_CASE("make_cam_head: AdaptiveAvgPool2d(1), Flatten, Linear(512, n, bias=False) with PyTorch's init") {
  manual_seed(11);
  auto head = vision::make_cam_head(512, 2);
  REQUIRE(head->size() == 3);
  CHECK((*head)[0].type_name() == "AdaptiveAvgPool2d");
  CHECK((*head)[1].type_name() == "Flatten");
  const nn::Linear& linear = head->at<nn::Linear>(2);
  CHECK(linear.in_features == 512);
  CHECK(linear.out_features == 2);
  CHECK(!linear.bias.defined());
  CHECK(head->named_parameters().size() == 1);
  CHECK(head->named_parameters()[0].first == "2.weight");  // the seed's net2[2].weight
  // kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(512), 1/sqrt(512)): all inside, sd = bound / sqrt(3).
  const double bound = 1 / std::sqrt(512.0);
  const std::vector<double> w = to_vector<double>(linear.weight);
  double sum_sq = 0, largest = 0;
  for (double v : w) {
    sum_sq += v * v;
    largest = std::max(largest, std::fabs(v));
  }
  CHECK(largest <= bound);
  CHECK(largest > 0.95 * bound);
  CHECK(std::sqrt(sum_sq / static_cast<double>(w.size())) == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.08));

  // The logits are W times the channel means; the CAM maps average to them.
  Tensor features = randn({2, 512, 3, 5});
  Tensor logits = (*head)(features);
  CHECK_CLOSE(logits, matmul(mean(features, {2, 3}), mT(linear.weight)), 1e-5, 1e-4);
  CHECK_CLOSE(mean(vision::cam_maps(features, linear.weight), {2, 3}), logits, 1e-5, 1e-4);
}

TEST_CASE("cam: the predicted class's einsum map, softmax probabilities, the model left as it was") {
  manual_seed(5);
  auto body = std::make_shared<nn::Sequential>(nn::Sequential::List{std::make_shared<nn::Conv2d>(3, 6, 3, 2, 1, false),
                                                                    std::make_shared<nn::BatchNorm2d>(6),
                                                                    std::make_shared<nn::ReLU>()});
  auto head = vision::make_cam_head(6, 3);
  body->train();
  (*body)[1].eval();  // a mixed state, which cam must restore
  Tensor x = randn({4, 3, 12, 10});

  vision::ClassMaps why = vision::cam(*body, *head, x);
  CHECK(body->is_training());
  CHECK(!(*body)[1].is_training());
  CHECK(head->is_training());
  for (const Tensor& p : body->parameters()) CHECK(!p.grad().defined());

  // The reference, by hand: eval-mode features, the loops, the argmax, the softmax.
  body->eval();
  Tensor features = (*body)(x);  // (4, 6, 6, 5)
  Tensor logits = (*head)(features);
  Tensor all_maps =
      cam_by_loops(to_dtype(features, DType::Float64), to_dtype(head->at<nn::Linear>(2).weight, DType::Float64));
  const std::vector<double> l = to_vector<double>(logits);
  REQUIRE(why.maps.shape() == Shape{4, 6, 5});
  REQUIRE(why.probs.shape() == Shape{4, 3});
  for (int64_t a = 0; a < 4; ++a) {
    const int64_t c = std::max_element(l.begin() + a * 3, l.begin() + a * 3 + 3) - (l.begin() + a * 3);
    CHECK(why.predicted[static_cast<size_t>(a)] == c);
    CHECK(why.classes[static_cast<size_t>(a)] == c);
    CHECK_CLOSE(select(why.maps, 0, a), select(select(all_maps, 0, a), 0, c), 1e-5, 1e-4);
    double z = 0;
    for (int k = 0; k < 3; ++k) z += std::exp(l[a * 3 + k]);
    for (int k = 0; k < 3; ++k)
      CHECK(why.probs.data<float>()[a * 3 + k] == doctest::Approx(std::exp(l[a * 3 + k]) / z).epsilon(1e-5));
  }
  // Asking for other classes gives their maps.
  vision::ClassMaps other = vision::cam(*body, *head, x, {2, 1, 0, 2});
  CHECK(other.classes == std::vector<int64_t>{2, 1, 0, 2});
  CHECK_CLOSE(select(other.maps, 0, 1), select(select(all_maps, 0, 1), 0, 1), 1e-5, 1e-4);

  // A head that is not the CAM head is refused with the reason.
  auto fastai = nn::create_head(6, 3);
  auto with_bias = std::make_shared<nn::Sequential>(nn::Sequential::List{
      std::make_shared<nn::AdaptiveAvgPool2d>(1), std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(6, 3)});
  check_throws([&] { vision::cam(*body, *with_bias, x); }, {"Linear without bias", "bias=True"});
  auto wrong_width = vision::make_cam_head(8, 3);
  check_throws([&] { vision::cam(*body, *wrong_width, x); }, {"takes 8 features", "[4, 6, 6, 5]"});
  check_throws([&] { vision::cam(*body, *head, x, {0, 1}); }, {"2 classes given for 4 images"});
}

TEST_CASE("grad_cam matches PyTorch's autograd on a conv body + fastai's head (float64)") {
  TinyModel m = tiny_model_from_fixture();
  m.model->train();  // Dropout and batch statistics would change the answer: grad_cam must use eval
  Tensor x = fixture("gradcam/x");

  vision::ClassMaps pred = vision::grad_cam(*m.body, *m.head, x);
  CHECK(pred.predicted == ints(fixture("gradcam/classes_pred")));
  CHECK(pred.classes == pred.predicted);
  CHECK_CLOSE(pred.maps, fixture("gradcam/maps_pred"), 1e-12, 1e-9);
  CHECK_CLOSE(pred.probs, softmax(fixture("gradcam/logits"), 1), 1e-12, 1e-9);
  // The maps are not trivially zero: the check above has something to compare.
  CHECK(max(fixture("gradcam/maps_pred")).item() > 1e-3);

  vision::ClassMaps other = vision::grad_cam(*m.body, *m.head, x, ints(fixture("gradcam/classes_other")));
  CHECK_CLOSE(other.maps, fixture("gradcam/maps_other"), 1e-12, 1e-9);
  CHECK(other.predicted == pred.predicted);

  // From features computed elsewhere (the same body output), and inside a caller's NoGradGuard.
  {
    NoGradGuard no_grad;
    vision::ClassMaps again = vision::grad_cam_from_features(*m.head, fixture("gradcam/features"));
    CHECK_CLOSE(again.maps, fixture("gradcam/maps_pred"), 1e-12, 1e-9);
    CHECK(!GradMode::is_enabled());
  }
  // The model is as it was: training mode, trainable, and without gradients.
  CHECK(m.model->is_training());
  for (const auto& [name, mod] : m.model->named_modules()) CHECK_MESSAGE(mod->is_training(), name);
  for (const Tensor& p : m.model->parameters()) {
    CHECK(p.requires_grad());
    CHECK(!p.grad().defined());
  }
}

TEST_CASE("grad_cam of the CAM head (GAP + linear) is ReLU(CAM) / (h w); frozen parameters stay frozen") {
  manual_seed(17);
  auto head = vision::make_cam_head(7, 3);
  head->to(DType::Float64);
  head->at<nn::Linear>(2).weight.requires_grad_(false);  // a frozen layer must stay frozen
  Tensor features = randn({3, 7, 4, 6}, DType::Float64);
  vision::ClassMaps g = vision::grad_cam_from_features(*head, features, {0, 2, 1});
  Tensor cam = vision::select_class_maps(cam_by_loops(features, head->at<nn::Linear>(2).weight), {0, 2, 1});
  CHECK_CLOSE(g.maps, relu(cam) / 24.0, 1e-13, 1e-10);
  // Both signs occur, so the ReLU was tested too.
  CHECK(min(cam).item() < 0);
  CHECK(max(cam).item() > 0);
  CHECK(!head->at<nn::Linear>(2).weight.requires_grad());

  check_throws(
      [&] {
        vision::grad_cam_from_features(*head, randn({3, 7, 4}, DType::Float64));
      },
      {"grad_cam", "(N, C, h, w)", "[3, 7, 4]"});
  check_throws([&] { vision::grad_cam_from_features(*head, features, {0, 3, 1}); }, {"class 3 of image 1", "[0, 3)"});
  auto wrong = vision::make_cam_head(5, 3);
  wrong->to(DType::Float64);
  CHECK(error_of([&] { vision::grad_cam_from_features(*wrong, features); }) != "(no error)");
}

TEST_CASE("cam_title follows the seed's \"%2f\": six decimals") {
  CHECK(vision::cam_title("square", 0.98765) == "square(0.987650)");  // Python: "square(%2f)" % 0.98765
  CHECK(vision::cam_title("bezos", 1.0) == "bezos(1.000000)");
  CHECK(vision::cam_title("circle", 0.98765, 2) == "circle(0.99)");
}

TEST_CASE("cam_figure: the seed's 16 x 16 inch 5 x 5 grid, each map blended over its image in magma" *
          doctest::skip(!kHaveCairo)) {
  // 25 grey images; image k's 4x4 map is hot (1) in cell (k % 4, k / 4 % 4) and 0 elsewhere.
  std::vector<vision::Image> images(25, vision::Image(32, 32));
  for (auto& image : images) std::fill(image.pixels.begin(), image.pixels.end(), uint8_t(128));
  std::vector<float> values(25 * 16, 0.0f);
  std::vector<std::string> titles;
  for (int k = 0; k < 25; ++k) {
    values[static_cast<size_t>(k * 16 + (k % 4) * 4 + (k / 4) % 4)] = 1.0f;
    titles.push_back(vision::cam_title(k % 2 ? "square" : "circle", 0.5 + k / 100.0));
  }
  Tensor maps = from_vector(values, Shape{25, 4, 4});
  vision::Figure figure = vision::cam_figure(images, maps, titles);
  CHECK(figure.width_px() == 1600);
  CHECK(figure.height_px() == 1600);
  REQUIRE(figure.axes_count() == 25);
  const vision::RenderedImage rendered = figure.render();
  for (int k : {0, 7, 24}) {
    const vision::Axes& ax = figure.axes(static_cast<size_t>(k));
    const int row = k % 4, col = (k / 4) % 4;
    // The map's cell (row, col) covers image pixels [col*8, col*8+8) x [row*8, row*8+8).
    auto [hx, hy] = ax.data_to_pixel(col * 8 + 4, row * 8 + 4);
    auto [cx, cy] = ax.data_to_pixel(((col + 2) % 4) * 8 + 4, ((row + 2) % 4) * 8 + 4);
    const uint8_t* hot = rendered.pixel(static_cast<int>(hx), static_cast<int>(hy));
    const uint8_t* cold = rendered.pixel(static_cast<int>(cx), static_cast<int>(cy));
    INFO("image ", k, " hot ", int(hot[0]), ",", int(hot[1]), ",", int(hot[2]), " cold ", int(cold[0]), ",",
         int(cold[1]), ",", int(cold[2]));
    // alpha 0.5 over grey 128: cold = (128 + magma(0) = (0, 0, 4)) / 2; the hot cell's centre is
    // bilinearly below 1 (the extent puts 4 cells over 31 pixels), so it is between the two, but
    // far toward magma(1) = (251, 252, 191): bright and yellowish (red > blue).
    CHECK(std::abs(cold[0] - 64) <= 4);
    CHECK(std::abs(cold[2] - 66) <= 4);
    CHECK(hot[0] > 150);
    CHECK(hot[0] > hot[2] + 15);
  }
}

TEST_CASE("cam_figure: bad input is an error naming the sizes") {
  std::vector<vision::Image> images(3, vision::Image(8, 8));
  check_throws([&] { vision::cam_figure(images, zeros({2, 4, 4}), {"a", "b", "c"}); }, {"3 images", "[2, 4, 4]"});
  check_throws([&] { vision::cam_figure(images, zeros({3, 4, 4}), {"a", "b"}); }, {"2 titles"});
  check_throws([&] { vision::cam_figure(images, zeros({3, 4}), {"a", "b", "c"}); }, {"(N, h, w)", "[3, 4]"});
  check_throws([&] { vision::cam_figure({}, zeros({0, 4, 4}), {}); }, {"no images"});
  images[1].pixels.resize(5);
  check_throws([&] { vision::cam_figure(images, zeros({3, 4, 4}), {"a", "b", "c"}); }, {"image 1"});
}
