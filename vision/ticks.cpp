// See ticks.h. The algorithms follow matplotlib/ticker.py (MaxNLocator._raw_ticks, scale_range,
// _Edge_integer, ScalarFormatter._set_format) closely enough that the same inputs give the same
// ticks and labels.
#include "vision/ticks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ember::vision {
namespace {

// Python's floor division and modulo for doubles (divmod), which the locator relies on.
double floor_div(double a, double b) { return std::floor(a / b); }
double py_mod(double a, double b) { return a - b * floor_div(a, b); }

// Tolerance of _Edge_integer: relative to the offset when there is one, else absolute 1e-10.
bool close_to(double ms, double edge, double step, double offset) {
  double tolerance = 1e-10;
  if (offset > 0) {
    const double digits = std::log10(offset / step);
    tolerance = std::min(0.4999, std::max(1e-10, std::pow(10.0, digits - 12)));
  }
  return std::abs(ms - edge) < tolerance;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int nbins) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  const bool inverted = lo > hi;
  if (inverted) std::swap(lo, hi);
  if (hi - lo <= 0) {  // matplotlib's nonsingular(): widen a degenerate range
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.001;
    lo -= pad, hi += pad;
  }
  nbins = std::max(1, nbins);

  // scale_range(lo, hi, nbins): a power of ten near the raw step, and an offset for ranges far
  // from zero relative to their width.
  const double width = hi - lo, mean = (hi + lo) / 2;
  double offset = 0;
  if (std::abs(mean) / width >= 100)
    offset = std::copysign(std::pow(10.0, std::floor(std::log10(std::abs(mean)))), mean);
  const double scale = std::pow(10.0, std::floor(std::log10(width / nbins)));

  // The steps 1, 2, 2.5, 5, 10 extended a decade down and one step up, times the scale.
  const double base_steps[] = {0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20};
  const double vmin = lo - offset, vmax = hi - offset;
  const double raw_step = (vmax - vmin) / nbins;
  int first_large = 9;
  for (int i = 0; i < 10; ++i) {
    if (base_steps[i] * scale >= raw_step) {
      first_large = i;
      break;
    }
  }

  // From the smallest step that is large enough, go to smaller steps until one gives >= 2 ticks.
  std::vector<double> ticks;
  for (int i = first_large; i >= 0; --i) {
    const double step = base_steps[i] * scale;
    const double best_vmin = floor_div(vmin, step) * step;
    double low = floor_div(vmin - best_vmin, step);  // _Edge_integer.le
    if (close_to(py_mod(vmin - best_vmin, step) / step, 1, step, std::abs(offset))) low += 1;
    double high = floor_div(vmax - best_vmin, step);  // _Edge_integer.ge
    if (!close_to(py_mod(vmax - best_vmin, step) / step, 0, step, std::abs(offset))) high += 1;
    ticks.clear();
    int inside = 0;
    for (double k = low; k <= high; k += 1) {
      const double t = k * step + best_vmin;
      ticks.push_back(t + offset);
      if (t >= vmin && t <= vmax) ++inside;
    }
    if (inside >= 2) break;
  }

  // Keep those within the view (matplotlib's Axis drops the others when drawing).
  const double tolerance = (hi - lo) * 1e-10;
  std::vector<double> visible;
  for (double t : ticks) {
    if (t >= lo - tolerance && t <= hi + tolerance) visible.push_back(std::abs(t) < tolerance ? 0.0 : t);
  }
  if (inverted) std::reverse(visible.begin(), visible.end());
  return visible;
}

int auto_nbins(double axis_length_points, double font_size_points, bool is_x_axis) {
  const double per_tick = font_size_points * (is_x_axis ? 3 : 2);
  const int n = static_cast<int>(std::floor(axis_length_points / per_tick));
  return std::clamp(n, 2, 9);
}

std::vector<std::string> format_ticks(const std::vector<double>& ticks) {
  if (ticks.empty()) return {};
  // ScalarFormatter._set_format: the range's order of magnitude gives the starting precision;
  // drop decimals while every tick still rounds to within a thousandth of the range.
  const auto [min_it, max_it] = std::minmax_element(ticks.begin(), ticks.end());
  double range = *max_it - *min_it;
  if (range == 0) range = std::max(std::abs(*min_it), std::abs(*max_it));
  if (range == 0) range = 1;
  const int range_oom = static_cast<int>(std::floor(std::log10(range)));
  const double threshold = 1e-3 * std::pow(10.0, range_oom);
  int decimals = std::max(0, 3 - range_oom);
  while (decimals >= 0) {
    const double factor = std::pow(10.0, decimals);
    double worst = 0;
    for (double t : ticks) worst = std::max(worst, std::abs(t - std::nearbyint(t * factor) / factor));
    if (worst < threshold) {
      --decimals;
    } else {
      break;
    }
  }
  ++decimals;

  std::vector<std::string> labels;
  for (double t : ticks) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, std::abs(t));
    std::string text = buffer;
    // A label that reads as zero is written without a sign, like matplotlib.
    const bool is_zero = text.find_first_not_of("0.") == std::string::npos;
    labels.push_back((t < 0 && !is_zero ? "\u2212" : "") + text);
  }
  return labels;
}

}  // namespace ember::vision
