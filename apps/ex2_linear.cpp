// Exercise 2: an over-parameterised linear model, step by step as the notebook did it.
//
//   data:  x ~ U(-1, 1) (1000x1),  y = 3.14 + 6.28 x + N(0, 1)
//   (1) y = b0 + b1 x               Linear(1,1), SGD lr 0.1, 100 epochs
//   (2) y = b0                      a raw tensor and the update w -= 0.1 * grad, written by hand
//   (3) y = b1 x                    Linear(1,1,bias=False)
//   (4) y = a0 + b0 + b1 x          X = [1, x], Linear(2,1): only a0 + b0 is identified
//   (5) y = a0 + b0 + (a1 + b1) x   X = [1, x, x], Linear(3,1): only the two sums are identified
//   (6) the discussion question
//
// Beyond the notebook: the closed-form least-squares answer beside every gradient-descent one, and
// for (4) and (5) several initialisations, which end at different a0, b0 but the same a0 + b0.
// Why: the loss depends on a0 and b0 only through a0 + b0, so dL/da0 = dL/db0 at every step and
// gradient descent never changes a0 - b0; the start decides how the sum is split.
//
// Writes into --out: report.html, results.json, data.png, model1.png ... model5.png.
#include <Eigen/Dense>
#include <cstdio>
#include <filesystem>

#include "apps/common/cli.h"
#include "apps/common/progress.h"
#include "apps/common/results.h"
#include "apps/common/text.h"
#include "nn/nn.h"
#include "nn/sgd.h"
#include "vision/figure.h"
#include "vision/report.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

struct Settings {
  int64_t epochs = 100;
  double lr = 0.1;
  int64_t restarts = 3;  // extra initialisations for (4) and (5)
  Device device = Device::cpu();
  std::string out;
};

std::vector<double> values(const Tensor& t) { return to_vector<double>(to_cpu(t)); }

// Least squares w = argmin |A w - y|^2 in float64; for a rank-deficient A the minimum-norm one.
std::vector<double> least_squares(const Tensor& A, const Tensor& y) {
  const int64_t n = A.size(0), k = A.size(1);
  auto a = values(A), b = values(y);
  Eigen::MatrixXd M(n, k);
  Eigen::VectorXd v(n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) M(i, j) = a[i * k + j];
    v(i) = b[i];
  }
  Eigen::VectorXd w = M.completeOrthogonalDecomposition().solve(v);
  return std::vector<double>(w.data(), w.data() + k);
}

// The before/after panel of one model: the data as points and the fit as a dashed line, drawn
// over x in increasing order (plt.plot(x, y, '.'); plt.plot(x, net(x).data, '--')).
void draw_fit(vision::Axes& ax, const std::vector<double>& x, const std::vector<double>& y,
              const std::vector<double>& fit, const std::string& title) {
  std::vector<size_t> order(x.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> xs, fs;
  for (size_t i : order) xs.push_back(x[i]), fs.push_back(fit[i]);
  auto points = vision::LineStyle::format(".");
  points.label = "data";
  ax.plot(x, y, points);
  auto line = vision::LineStyle::format("--");
  line.label = "fit";
  ax.plot(xs, fs, line);
  ax.set_title(title);
  ax.set_xlabel("x");
  ax.set_ylabel("y");
  ax.legend("upper left");
}

struct Panel {
  std::vector<double> before, after;
};

void save_fit_figure(const Settings& s, vision::Report& report, const std::string& name, const std::string& title,
                     const std::vector<double>& x, const std::vector<double>& y, const Panel& panel) {
  vision::Figure fig(10, 4);
  auto axes = fig.subplots(1, 2);
  draw_fit(axes[0], x, y, panel.before, "before learning");
  draw_fit(axes[1], x, y, panel.after, "after " + std::to_string(s.epochs) + " epochs");
  fig.suptitle(title, 13);
  fig.save_png((fs::path(s.out) / (name + ".png")).string());
  report.figure(name + ".png", title);
}

// Trains `net` on (input, y) with SGD and the loss mean((yhat - y)^2), as the notebook's loop:
//   yhat = net(x); loss = torch.mean((yhat-y)**2); loss.backward(); optimizr.step(); optimizr.zero_grad()
// Returns the final loss and the microseconds per iteration.
std::pair<double, double> train_sgd(const Settings& s, nn::Module& net, const Tensor& input, const Tensor& y,
                                    const std::string& label, bool show_progress = true) {
  nn::SGD optimizer(net.parameters(), {.lr = s.lr});
  app::ProgressBar bar(label, s.epochs);
  Tensor loss;
  for (int64_t epoch = 1; epoch <= s.epochs; ++epoch) {
    Tensor yhat = net(input);
    loss = mean(square(yhat - y));
    backward(loss);
    optimizer.step();
    optimizer.zero_grad();
    if (show_progress) bar.update(epoch);
  }
  const double final_loss = loss.item();
  if (show_progress) bar.finish(app::format("loss %.4f", final_loss));
  return {final_loss, bar.elapsed_seconds() * 1e6 / s.epochs};
}

std::vector<double> predict(nn::Module& net, const Tensor& input) {
  NoGradGuard no_grad;
  return values(net(input));
}

}  // namespace

int main(int argc, char** argv) {
  app::Cli cli("ember_ex2", "Exercise 2: fits five linear models by gradient descent and compares them.");
  app::CommonOptions& common = cli.add_common("out/ex2");
  Settings s;
  cli.option("--epochs", &s.epochs, "epochs of gradient descent per model", 1);
  cli.option("--lr", &s.lr, "learning rate");
  cli.option("--restarts", &s.restarts, "extra initialisations of models (4) and (5)", 0);
  if (!cli.parse(argc, argv)) return cli.exit_code();
  try {
    EMBER_CHECK(s.lr > 0, "--lr must be positive, got " + std::to_string(s.lr));
    s.device = common.parsed_device();
    s.out = common.out;
    Tensor probe = to(zeros({1}), s.device);  // fails now, clearly, when the device is missing

    vision::Report report(s.out, "Exercise 2: an over-parameterised linear model");
    auto print = [&](const std::string& text) { report.print(text); };
    app::JsonObject results;
    results.set("exercise", 2).set("seed", common.seed).set("device", s.device.str()).set("epochs", s.epochs);
    results.set("lr", s.lr);

    // ---- data --------------------------------------------------------------------------------
    manual_seed(common.seed);
    Tensor x_cpu = uniform({1000, 1}, -1, 1);               // torch.rand([1000,1])*2-1
    Tensor y_cpu = 3.14 + 6.28 * x_cpu + randn({1000, 1});  // + torch.randn([1000,1])
    Tensor x = to(x_cpu, s.device), y = to(y_cpu, s.device);
    const auto xv = values(x_cpu), yv = values(y_cpu);
    report.heading("Data");
    print("x = U(-1, 1) " + x.shape().str() + ",  y = 3.14 + 6.28 x + N(0, 1),  seed " + std::to_string(common.seed) +
          ", device " + s.device.str());
    {
      vision::Figure fig(6.4, 4.8);
      auto& ax = fig.add_axes();
      auto style = vision::LineStyle::format("o");
      style.alpha = 0.1;
      ax.plot(xv, yv, style);  // plt.plot(x, y, 'o', alpha=0.1)
      ax.set_xlabel("x");
      ax.set_ylabel("y");
      ax.set_title("y = 3.14 + 6.28 x + noise");
      fig.save_png((fs::path(s.out) / "data.png").string());
      report.figure("data.png", "the data: plt.plot(x, y, 'o', alpha=0.1)");
    }
    const Tensor ones_col = ones({1000, 1});
    const auto ls1 = least_squares(cat({ones_col, x_cpu}, 1), y_cpu);  // [b0, b1]
    results.set("least_squares", app::JsonObject().set("b0", ls1[0]).set("b1", ls1[1]));

    // ---- (1) y = b0 + b1 x ---------------------------------------------------------------------
    report.heading("(1) y = b0 + b1 x: Linear(1, 1) and SGD");
    manual_seed(common.seed + 1);
    auto net1 = std::make_shared<nn::Linear>(1, 1);
    net1->to(s.device);
    Panel p1{predict(*net1, x), {}};
    auto [loss1, us1] = train_sgd(s, *net1, x, y, "model (1)");
    p1.after = predict(*net1, x);
    const double b1_1 = net1->weight.item(), b0_1 = net1->bias.item();
    print("net.weight.data, net.bias.data\n(" + net1->weight.detach().str() + ", " + net1->bias.detach().str() + ")");
    print(app::format("gradient descent: b0 = %.4f  b1 = %.4f   (loss %.4f)", b0_1, b1_1, loss1));
    print(app::format("least squares:    b0 = %.4f  b1 = %.4f", ls1[0], ls1[1]));
    save_fit_figure(s, report, "model1", "(1) y = b0 + b1 x", xv, yv, p1);
    results.set("model1", app::JsonObject()
                              .set("b0", b0_1)
                              .set("b1", b1_1)
                              .set("loss", loss1)
                              .set("least_squares", app::JsonObject().set("b0", ls1[0]).set("b1", ls1[1])));

    // ---- (2) y = b0, a raw tensor updated by hand -------------------------------------------------
    report.heading("(2) y = b0: a raw tensor and a hand-written update");
    Tensor W0hat = to(zeros({1}), s.device).requires_grad_();  // torch.tensor([0.0], requires_grad=True)
    Panel p2{values(0 * x + W0hat.detach()), {}};
    {
      app::ProgressBar bar("model (2)", s.epochs);
      for (int64_t epoch = 1; epoch <= s.epochs; ++epoch) {
        Tensor yhat = 0 * x + W0hat;
        Tensor loss = mean(square(y - yhat));
        backward(loss);
        {
          NoGradGuard no_grad;  // W0hat.data = W0hat.data - 0.1 * W0hat.grad
          sub_(W0hat, mul(W0hat.grad(), scalar_like(s.lr, W0hat)));
        }
        W0hat.set_grad(Tensor());  // W0hat.grad = None
        bar.update(epoch);
      }
      bar.finish();
    }
    p2.after = values(0 * x + W0hat.detach());
    const double b0_2 = W0hat.item();
    double ybar = 0;
    for (double v : yv) ybar += v / yv.size();
    print("W0hat\n" + W0hat.str());
    print(app::format("gradient descent: b0 = %.4f     least squares: b0 = mean(y) = %.4f", b0_2, ybar));
    save_fit_figure(s, report, "model2", "(2) y = b0", xv, yv, p2);
    results.set("model2", app::JsonObject().set("b0", b0_2).set("least_squares", app::JsonObject().set("b0", ybar)));

    // ---- (3) y = b1 x -----------------------------------------------------------------------------
    report.heading("(3) y = b1 x: Linear(1, 1, bias=False)");
    manual_seed(common.seed + 3);
    auto net3 = std::make_shared<nn::Linear>(1, 1, false);
    net3->to(s.device);
    Panel p3{predict(*net3, x), {}};
    auto [loss3, us3] = train_sgd(s, *net3, x, y, "model (3)");
    p3.after = predict(*net3, x);
    const double b1_3 = net3->weight.item();
    const auto ls3 = least_squares(x_cpu, y_cpu);  // sum(x y) / sum(x^2)
    print("net.weight.data\n" + net3->weight.detach().str());
    print(app::format("gradient descent: b1 = %.4f     least squares: b1 = sum(xy)/sum(x^2) = %.4f", b1_3, ls3[0]));
    save_fit_figure(s, report, "model3", "(3) y = b1 x", xv, yv, p3);
    results.set(
        "model3",
        app::JsonObject().set("b1", b1_3).set("loss", loss3).set("least_squares", app::JsonObject().set("b1", ls3[0])));

    // ---- (4) and (5): more parameters than the data can identify ---------------------------------
    // (4): X = [1, x], yhat = w0 * 1 + w1 * x + bias: a0 = w0, b1 = w1, b0 = bias.
    // (5): X = [1, x, x], yhat = w0 + w1 x + w2 x + bias: a0 = w0, b1 = w1, a1 = w2, b0 = bias.
    struct Fit {
      double a0, b0, a1, b1, loss, a0_minus_b0_before, a0_minus_b0_after;
    };
    auto fit_over_parameterised = [&](int model, uint64_t seed, Panel* panel) {
      Tensor X = model == 4 ? cat({ones_col, x_cpu}, 1) : cat({ones_col, x_cpu, x_cpu}, 1);
      X = to(X, s.device);
      manual_seed(seed);
      auto net = std::make_shared<nn::Linear>(model == 4 ? 2 : 3, 1);
      net->to(s.device);
      auto w_before = values(net->weight);
      const double diff_before = w_before[0] - net->bias.item();
      if (panel) panel->before = predict(*net, X);
      auto [loss, us] = train_sgd(s, *net, X, y, "model (" + std::to_string(model) + ")", panel != nullptr);
      if (panel) panel->after = predict(*net, X);
      auto w = values(net->weight);
      const double bias = net->bias.item();
      if (panel)
        print("net.weight.data, net.bias.data\n(" + net->weight.detach().str() + ", " + net->bias.detach().str() + ")");
      return Fit{w[0], bias, model == 5 ? w[2] : 0, w[1], loss, diff_before, w[0] - bias};
    };

    std::vector<app::JsonObject> restarts4, restarts5;
    for (int model : {4, 5}) {
      report.heading(model == 4 ? "(4) y = a0 + b0 + b1 x: X = [1, x], Linear(2, 1)"
                                : "(5) y = a0 + b0 + (a1 + b1) x: X = [1, x, x], Linear(3, 1)");
      Panel panel;
      Fit f = fit_over_parameterised(model, common.seed + model, &panel);
      const double sum0 = f.a0 + f.b0, sum1 = f.a1 + f.b1;
      if (model == 4) {
        print(app::format("a0 = %.4f  b0 = %.4f  b1 = %.4f", f.a0, f.b0, f.b1));
        print(app::format("a0 + b0 = %.4f   compare (1): b0 = %.4f,  least squares %.4f", sum0, b0_1, ls1[0]));
      } else {
        print(app::format("a0 = %.4f  b0 = %.4f  a1 = %.4f  b1 = %.4f", f.a0, f.b0, f.a1, f.b1));
        print(app::format("a0 + b0 = %.4f   compare (1): b0 = %.4f,  least squares %.4f", sum0, b0_1, ls1[0]));
        print(app::format("a1 + b1 = %.4f   compare (1): b1 = %.4f,  least squares %.4f", sum1, b1_1, ls1[1]));
      }
      save_fit_figure(s, report, "model" + std::to_string(model),
                      model == 4 ? "(4) y = a0 + b0 + b1 x" : "(5) y = a0 + b0 + (a1 + b1) x", xv, yv, panel);
      app::JsonObject json;
      json.set("a0", f.a0).set("b0", f.b0).set("b1", f.b1).set("a0_plus_b0", sum0).set("loss", f.loss);
      if (model == 5) json.set("a1", f.a1).set("a1_plus_b1", sum1);

      // Beyond the notebook: other starting points, the same data.
      print("Other initialisations (same data, seeds " + std::to_string(common.seed + 101) + "...): only the sums " +
            "are identified");
      print(model == 4 ? "  seed        a0        b0   a0 + b0   a0 - b0 (start -> end)"
                       : "  seed        a0        b0   a0 + b0        a1        b1   a1 + b1   a0 - b0 (start -> end)");
      std::vector<app::JsonObject>& list = model == 4 ? restarts4 : restarts5;
      for (int64_t r = 0; r <= s.restarts; ++r) {
        const uint64_t seed = r == 0 ? common.seed + model : common.seed + 100 + r;
        Fit g = r == 0 ? f : fit_over_parameterised(model, seed, nullptr);
        char line[256];
        if (model == 4)
          std::snprintf(line, sizeof line, "%6llu  %8.4f  %8.4f  %8.4f   %.4f -> %.4f", (unsigned long long)seed, g.a0,
                        g.b0, g.a0 + g.b0, g.a0_minus_b0_before, g.a0_minus_b0_after);
        else
          std::snprintf(line, sizeof line, "%6llu  %8.4f  %8.4f  %8.4f  %8.4f  %8.4f  %8.4f   %.4f -> %.4f",
                        (unsigned long long)seed, g.a0, g.b0, g.a0 + g.b0, g.a1, g.b1, g.a1 + g.b1,
                        g.a0_minus_b0_before, g.a0_minus_b0_after);
        print(line);
        app::JsonObject item;
        item.set("seed", seed).set("a0", g.a0).set("b0", g.b0).set("a0_plus_b0", g.a0 + g.b0);
        item.set("a0_minus_b0_start", g.a0_minus_b0_before).set("a0_minus_b0_end", g.a0_minus_b0_after);
        if (model == 5) item.set("a1", g.a1).set("b1", g.b1).set("a1_plus_b1", g.a1 + g.b1);
        list.push_back(item);
      }
      report.paragraph(
          "The loss depends on a0 and b0 only through their sum, so dL/da0 = dL/db0 at every step: gradient "
          "descent moves both by the same amount and never changes a0 - b0 (last column). Different starts "
          "therefore end at different a0 and b0, but at the same a0 + b0, the least-squares intercept of (1)." +
          std::string(model == 5 ? " The same holds for a1 and b1, which both multiply x." : ""));
      json.set("restarts", list);
      results.set("model" + std::to_string(model), json);
    }

    // ---- (6) ----------------------------------------------------------------------------------------
    report.heading("(6) Which statements are right?");
    print("answer (the notebook's): 민정, 슬기, 세민, 구환");
    print("민정: right. The scatter is a straight line with a clear intercept and slope, so y = b0 + b1 x fits.");
    print(app::format(
        "슬기: right. Dropping the slope (2) or the intercept (3) underfits: loss %.3f and %.3f vs %.3f for (1).",
        values(mean(square(0 * x + W0hat.detach() - y)))[0], loss3, loss1));
    print(
        app::format("성재: left out by the notebook's answer, yet our numbers agree with it: (2) estimates mean(y) "
                    "(%.4f vs %.4f).",
                    b0_2, ybar));
    print("세민: right. Linear(2, 1, bias=True) on X = [1, x] computes a0 * 1 + b1 x + b0: exactly model (4).");
    print(
        "구환: right. (4) and (5) describe the same lines as (1) with more parameters, which the data cannot "
        "tell apart (see the tables above).");
    results.set("answer6", std::vector<std::string>{"민정", "슬기", "세민", "구환"});
    results.set("timing", app::JsonObject().set("model1_us_per_iteration", us1).set("model3_us_per_iteration", us3));
    results.save((fs::path(s.out) / "results.json").string());
    const std::string html = report.save();
    std::printf("\nwrote %s, results.json and 6 figures in %s\n", fs::path(html).filename().c_str(), s.out.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ember_ex2: %s\n", e.what());
    return 1;
  }
}
