// The exercise apps, run end to end as a student runs them. Their printed numbers (read back from
// results.json) are checked against independent answers: least squares and the mean for exercise
// 2, the SVD bound and the confusion matrix's own arithmetic for exercise 3. Broken input must end
// with one clear line on stderr and a non-zero exit status, never a crash.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "autograd/ops.h"
#include "tensor/io/file.h"
#include "tensor/io/json.h"
#include "tests/apps/run_command.h"
#include "tests/test_util.h"

using namespace ember;
using ember::test::TempDir;
namespace fs = std::filesystem;

namespace {

using RunResult = ember::test::CommandOutput;
RunResult run(const std::string& command) { return ember::test::run_command(command); }

json::Value results_of(const fs::path& dir) { return json::parse(read_file((dir / "results.json").string(), "test")); }

double number(const json::Value& v, std::initializer_list<const char*> path) {
  const json::Value* at = &v;
  for (const char* key : path) {
    at = at->find(key);
    REQUIRE_MESSAGE(at != nullptr, "results.json has no " << key);
  }
  return at->as_double();
}

bool is_png(const fs::path& path) {
  if (!fs::exists(path)) return false;
  return read_file(path.string(), "test").rfind("\x89PNG\r\n\x1a\n", 0) == 0;
}

int count_lines(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

// A failed run: one line on stderr that contains `fragment`, the given exit status, no crash.
void check_fails(const std::string& command, int status, const std::string& fragment) {
  RunResult r = run(command);
  INFO("command: ", command, "\nstderr: ", r.err);
  CHECK(r.status == status);
  CHECK(count_lines(r.err) == 1);
  CHECK(r.err.find(fragment) != std::string::npos);
}

}  // namespace

TEST_CASE("ex2: every estimate agrees with least squares, and only the sums of (4) and (5) are identified") {
  TempDir tmp("apps_ex2");
  const fs::path dir = tmp.path;
  RunResult r = run(std::string(EMBER_EX2_PATH) + " --seed 43052 --restarts 2 --out " + dir.string());
  INFO("stderr: ", r.err);
  REQUIRE(r.status == 0);
  const json::Value res = results_of(dir);

  // The same data, drawn here again, and its least-squares line from the normal equations.
  manual_seed(43052);
  auto x = to_vector<double>(uniform({1000, 1}, -1, 1));
  Tensor noise = randn({1000, 1});
  std::vector<double> y(1000);
  auto e = to_vector<double>(noise);
  for (int i = 0; i < 1000; ++i) y[i] = static_cast<float>(static_cast<float>(3.14 + 6.28 * x[i]) + e[i]);
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (int i = 0; i < 1000; ++i) sx += x[i], sy += y[i], sxx += x[i] * x[i], sxy += x[i] * y[i];
  const double n = 1000, b1 = (n * sxy - sx * sy) / (n * sxx - sx * sx), b0 = (sy - b1 * sx) / n;
  CHECK(b0 == doctest::Approx(number(res, {"least_squares", "b0"})).epsilon(1e-4));
  CHECK(b1 == doctest::Approx(number(res, {"least_squares", "b1"})).epsilon(1e-4));

  // 100 epochs at lr 0.1 converge to within 0.02 of the least-squares answer.
  CHECK(std::fabs(number(res, {"model1", "b0"}) - b0) < 0.02);
  CHECK(std::fabs(number(res, {"model1", "b1"}) - b1) < 0.02);
  CHECK(number(res, {"model2", "b0"}) == doctest::Approx(sy / n).epsilon(1e-3));  // (2) estimates mean(y)
  CHECK(std::fabs(number(res, {"model3", "b1"}) - sxy / sxx) < 0.02);             // (3) sum(xy) / sum(x^2)
  CHECK(std::fabs(number(res, {"model4", "a0_plus_b0"}) - b0) < 0.02);
  CHECK(std::fabs(number(res, {"model4", "b1"}) - b1) < 0.02);
  CHECK(std::fabs(number(res, {"model5", "a0_plus_b0"}) - b0) < 0.02);
  CHECK(std::fabs(number(res, {"model5", "a1_plus_b1"}) - b1) < 0.02);

  // Other starts: a0 and b0 differ, a0 + b0 does not, and a0 - b0 never moves.
  for (const char* model : {"model4", "model5"}) {
    const auto& restarts = res.find(model)->find("restarts")->as_array();
    REQUIRE(restarts.size() == 3);
    double lowest_a0 = 1e9, highest_a0 = -1e9;
    for (const auto& item : restarts) {
      const double a0 = number(item, {"a0"});
      lowest_a0 = std::min(lowest_a0, a0), highest_a0 = std::max(highest_a0, a0);
      CHECK(number(item, {"a0_plus_b0"}) == doctest::Approx(number(restarts[0], {"a0_plus_b0"})).epsilon(1e-3));
      CHECK(number(item, {"a0_minus_b0_end"}) ==
            doctest::Approx(number(item, {"a0_minus_b0_start"})).epsilon(1e-4).scale(1));
    }
    CHECK(highest_a0 - lowest_a0 > 0.05);
  }

  for (const char* png : {"data.png", "model1.png", "model2.png", "model3.png", "model4.png", "model5.png"})
    CHECK_MESSAGE(is_png(dir / png), png);
  const std::string html = read_file((dir / "report.html").string(), "test");
  CHECK(html.find("model5.png") != std::string::npos);
  CHECK(html.find("민정, 슬기, 세민, 구환") != std::string::npos);
}

TEST_CASE("ex3: the autoencoder cannot beat the SVD bound; the classifier's numbers add up") {
  TempDir tmp("apps_ex3");
  const fs::path dir = tmp.path;
  RunResult r = run(std::string(EMBER_EX3_PATH) + " --epochs 2000 --classifier-epochs 500 --out " + dir.string());
  INFO("stderr: ", r.err);
  REQUIRE(r.status == 0);
  const json::Value res = results_of(dir);

  // The bound from the shipped table, computed here with a Jacobi SVD (the app uses an
  // eigen-decomposition of X^T X).
  std::ifstream csv(std::string(EMBER_APPS_DATA_DIR) + "/iris.csv");
  std::string line;
  std::getline(csv, line);
  std::vector<double> values;
  int rows = 0;
  while (std::getline(csv, line)) {
    if (line.empty()) continue;
    double a, b, c, d;
    REQUIRE(std::sscanf(line.c_str(), "%lf,%lf,%lf,%lf", &a, &b, &c, &d) == 4);
    values.insert(values.end(), {a, b, c, d});
    ++rows;
  }
  REQUIRE(rows == 150);
  Eigen::MatrixXd X = Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, 4, Eigen::RowMajor>>(values.data(), rows, 4);
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(X);
  const auto s = svd.singularValues();
  const double bound = (s(2) * s(2) + s(3) * s(3)) / (rows * 4.0);
  CHECK(number(res, {"autoencoder", "best_rank2_mse"}) == doctest::Approx(bound).epsilon(1e-6));
  const double final_mse = number(res, {"autoencoder", "final_mse"});
  CHECK(final_mse >= bound * (1 - 1e-4));                               // nothing beats Eckart-Young
  CHECK(final_mse < number(res, {"autoencoder", "initial_mse"}) / 10);  // and training did learn

  // The confusion matrix adds up to the rows and its trace to the reported accuracy.
  const auto& cm = res.find("classifier")->find("confusion_matrix")->as_array();
  REQUIRE(cm.size() == 3);
  double total = 0, trace = 0;
  for (size_t i = 0; i < 3; ++i)
    for (size_t j = 0; j < 3; ++j) {
      total += cm[i].as_array()[j].as_double();
      if (i == j) trace += cm[i].as_array()[j].as_double();
    }
  CHECK(total == 150);
  CHECK(number(res, {"classifier", "train_accuracy"}) == doctest::Approx(trace / 150));
  CHECK(number(res, {"classifier", "train_accuracy"}) > 0.8);  // Z keeps most of what tells species apart
  for (const char* png : {"before.png", "after.png", "loss.png", "confusion.png"})
    CHECK_MESSAGE(is_png(dir / png), png);
}

TEST_CASE("apps: broken input ends with one clear line and a non-zero status") {
  TempDir tmp("apps_bad");
  const fs::path dir = tmp.path;
  const std::string ex3 =
      std::string(EMBER_EX3_PATH) + " --epochs 1 --classifier-epochs 1 --out " + (dir / "o").string();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  };
  const std::string header = "Sepal Length,Sepal Width,Petal Length,Petal Width,Species\n";
  check_fails(ex3 + " --data " + write("empty.csv", ""), 1, "is empty");
  check_fails(ex3 + " --data " + write("nocol.csv", "Sepal Length,Sepal Width,Petal Length,Petal Width\n1,2,3,4\n"), 1,
              "no column named 'Species'");
  check_fails(ex3 + " --data " + write("nan.csv", header + "5.1,3.5,1.4,0.2,setosa\n4.9,abc,1.4,0.2,virginica\n"), 1,
              "line 3, column 'Sepal Width': 'abc' is not a number");
  check_fails(ex3 + " --data " + write("ragged.csv", header + "5.1,3.5,1.4,setosa\n"), 1,
              "line 2 has 4 fields, but the header has 5");
  check_fails(ex3 + " --data " + (dir / "missing.csv").string(), 1, "missing.csv");
  // Port 1 on the loopback: refused at once, with no network needed.
  check_fails("EMBER_CACHE_DIR=" + (dir / "cache").string() + " " + ex3 + " --data http://127.0.0.1:1/iris.csv", 1,
              "could not connect");
  check_fails(std::string(EMBER_EX2_PATH) + " --bogus", 2, "unknown flag '--bogus'");
  check_fails(std::string(EMBER_EX2_PATH) + " --epochs 0", 2, "--epochs must be at least 1");
  check_fails(std::string(EMBER_EX2_PATH) + " --epochs 12x", 2, "--epochs expects an integer, got '12x'");
  check_fails(std::string(EMBER_EX2_PATH) + " --device tpu", 2, "tpu");
  check_fails(std::string(EMBER_EX1_PATH) + " --lr 0", 2, "--lr must be a positive number, got 0");
  check_fails(std::string(EMBER_EX1_PATH) + " --lr-mult -2", 2, "--lr-mult must be a positive number, got -2");
  check_fails(std::string(EMBER_EX1_PATH) + " --lr 1e-3x", 2, "--lr expects a positive number, got '1e-3x'");
  if (!cuda_is_available()) check_fails(std::string(EMBER_EX2_PATH) + " --device cuda", 1, "cuda:0 is not available");
  CHECK_FALSE(fs::exists(dir / "o" / "results.json"));  // nothing half-written was left as if it were good
}
