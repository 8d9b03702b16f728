// Tests of the pieces of vision/ that need no drawing: colormaps against matplotlib's published
// values, colour names, the tick locator and formatter against matplotlib's output, and the
// mathtext subset's parser.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../test_util.h"
#include "vision/color.h"
#include "vision/colormap.h"
#include "vision/markup.h"
#include "vision/ticks.h"

using namespace ember::vision;

namespace {

void check_bytes(const std::string& name, double t, int r, int g, int b) {
  CAPTURE(name);
  CAPTURE(t);
  const Rgb8 c = colormap(name).bytes(t);
  CHECK(int(c.r) == r);
  CHECK(int(c.g) == g);
  CHECK(int(c.b) == b);
}

void check_ticks(double lo, double hi, int nbins, const std::vector<double>& expected) {
  CAPTURE(lo);
  CAPTURE(hi);
  const std::vector<double> ticks = nice_ticks(lo, hi, nbins);
  REQUIRE(ticks.size() == expected.size());
  for (size_t i = 0; i < ticks.size(); ++i) CHECK(ticks[i] == doctest::Approx(expected[i]).epsilon(1e-12));
}

}  // namespace

// The byte values are matplotlib 3.6's cmap(t, bytes=True).
TEST_CASE("colormaps give matplotlib's colours at the ends and in the middle") {
  check_bytes("viridis", 0, 68, 1, 84);
  check_bytes("viridis", 1, 253, 231, 36);
  check_bytes("viridis", 0.5, 32, 144, 140);
  check_bytes("viridis", 0.25, 58, 82, 139);
  check_bytes("magma", 0, 0, 0, 3);
  check_bytes("magma", 1, 251, 252, 191);
  check_bytes("magma", 0.5, 182, 54, 121);
  check_bytes("Blues", 0, 247, 251, 255);
  check_bytes("Blues", 1, 8, 48, 107);
  check_bytes("Blues", 0.5, 106, 173, 213);
  check_bytes("gray", 0, 0, 0, 0);
  check_bytes("gray", 0.5, 128, 128, 128);
  check_bytes("gray", 1, 255, 255, 255);
  // Out of range is clipped to the ends; the float value is the table's.
  check_bytes("viridis", -3, 68, 1, 84);
  check_bytes("viridis", 7, 253, 231, 36);
  CHECK(colormap("viridis", 0).r == doctest::Approx(0.267004));
  CHECK(colormap("viridis", 0).b == doctest::Approx(0.329415));
}

TEST_CASE("an unknown colormap is an error that lists the known ones") {
  const std::string message = ember::test::error_of([] { colormap("jet"); });
  CHECK(message.find("'jet'") != std::string::npos);
  for (const char* name : {"viridis", "magma", "Blues", "gray"}) CHECK(message.find(name) != std::string::npos);
}

TEST_CASE("colours are read as matplotlib spells them") {
  const Color c0 = parse_color("C0");
  CHECK(c0.r == doctest::Approx(0x1f / 255.0));
  CHECK(c0.g == doctest::Approx(0x77 / 255.0));
  CHECK(c0.b == doctest::Approx(0xb4 / 255.0));
  const Color c1 = cycle_color(1);  // #ff7f0e
  CHECK(c1.r == doctest::Approx(1.0));
  CHECK(c1.g == doctest::Approx(0x7f / 255.0));
  CHECK(parse_color("green").g == doctest::Approx(128 / 255.0));  // CSS green, as in fastai's titles
  CHECK(parse_color("red").r == 1.0);
  CHECK(parse_color("tab:red").r == doctest::Approx(0xd6 / 255.0));
  CHECK(parse_color("0.8").g == doctest::Approx(0.8));
  CHECK(parse_color("#00000080").a == doctest::Approx(128 / 255.0));
  CHECK(ember::test::error_of([] { parse_color("redish"); }).find("'redish'") != std::string::npos);
}

// Expected values: matplotlib's MaxNLocator(nbins, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi),
// kept to [lo, hi].
TEST_CASE("the tick locator picks matplotlib's nice steps") {
  check_ticks(0, 2, 9, {0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2});
  check_ticks(0, 1, 9, {0, 0.2, 0.4, 0.6, 0.8, 1});
  check_ticks(-1.1, 1.1, 9, {-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1});
  check_ticks(-5.3, 12.4, 9, {-4, -2, 0, 2, 4, 6, 8, 10, 12});
  check_ticks(0.001, 0.0042, 9, {0.001, 0.0015, 0.002, 0.0025, 0.003, 0.0035, 0.004});
  check_ticks(1000, 1010, 9, {1000, 1002, 1004, 1006, 1008, 1010});
  check_ticks(-0.5, 9.5, 9, {0, 2, 4, 6, 8});  // a 10-pixel-wide image
  check_ticks(0, 1200, 4, {0, 500, 1000});
  check_ticks(9.5, -0.5, 9, {8, 6, 4, 2, 0});  // an inverted axis: in drawing order
  CHECK(auto_nbins(357, 10, true) == 9);
  CHECK(auto_nbins(50, 10, true) == 2);
  CHECK(auto_nbins(100, 10, false) == 5);
}

TEST_CASE("tick labels have as many decimals as the ticks need, and a real minus sign") {
  CHECK(format_ticks({0, 0.25, 0.5, 0.75}) == std::vector<std::string>{"0.00", "0.25", "0.50", "0.75"});
  CHECK(format_ticks({0, 200, 400}) == std::vector<std::string>{"0", "200", "400"});
  CHECK(format_ticks({-1, -0.5, 0, 0.5}) == std::vector<std::string>{"\u22121.0", "\u22120.5", "0.0", "0.5"});
  CHECK(format_ticks({0.001, 0.0015, 0.002}) == std::vector<std::string>{"0.0010", "0.0015", "0.0020"});
  CHECK(format_ticks({0, 2, 4}) == std::vector<std::string>{"0", "2", "4"});
}

TEST_CASE("markup: subscripts, hats and bold inside $...$, plain text outside") {
  const std::vector<TextRun> x1 = parse_markup("$X_1$");
  REQUIRE(x1.size() == 2);
  CHECK(x1[0].text == "X");
  CHECK(x1[0].italic);
  CHECK(x1[0].scale == 1);
  CHECK(x1[1].text == "1");
  CHECK(x1[1].scale == doctest::Approx(0.7));
  CHECK(x1[1].rise < 0);
  CHECK_FALSE(x1[1].italic);

  const std::vector<TextRun> hat = parse_markup("$\\hat{X}_{12}$");
  REQUIRE(hat.size() == 2);
  CHECK(hat[0].text == "X");
  CHECK(hat[0].hat);
  CHECK(hat[1].text == "12");
  CHECK_FALSE(hat[1].hat);
  CHECK(hat[1].rise < 0);

  const std::vector<TextRun> title = parse_markup("First 10 obs of $\\bf [X, Z, \\hat{X}]$ // before");
  CHECK(plain_text(title) == "First 10 obs of [X,Z,X] // before");
  CHECK_FALSE(title.front().bold);
  for (const TextRun& run : title) {
    if (run.text == "Z") CHECK(run.bold);
    if (run.text == "Z") CHECK_FALSE(run.italic);  // bold math is upright
  }

  CHECK(plain_text(parse_markup("iu_kpop_2")) == "iu_kpop_2");  // no math: underscores stay
  CHECK(parse_markup("iu_kpop_2").size() == 1);
  CHECK(plain_text(parse_markup("costs $5")) == "costs $5");  // an unmatched $ is plain text
  CHECK(plain_text(parse_markup("\\$5 and \\$6")) == "$5 and $6");
  CHECK(plain_text(parse_markup("$x^2 - \\alpha$")) == "x2\u2212\u03b1");
  CHECK(parse_markup("$x^2$")[1].rise > 0);
}
