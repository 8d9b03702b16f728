// Where an axis puts its ticks and how it writes their numbers: matplotlib's MaxNLocator (steps
// 1, 2, 2.5, 5 x 10^k, the default AutoLocator) and ScalarFormatter (as many decimals as the
// ticks need to differ, a real minus sign U+2212). No offset or "x 1e6" notation: Ember's figures
// never need it.
#pragma once
#include <string>
#include <vector>

namespace ember::vision {

// Nice tick positions covering [lo, hi] with at most nbins + 1 ticks inside, matplotlib's
// MaxNLocator(nbins, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi), then kept to those within
// [lo, hi] (a tiny tolerance admits ends that rounding put just outside). lo > hi is allowed (an
// inverted axis). Example: nice_ticks(0, 2, 9) = 0, 0.25, 0.5, ..., 2.
std::vector<double> nice_ticks(double lo, double hi, int nbins);

// matplotlib's choice of nbins ('auto'): the axis length in points over three times (x) or twice
// (y) the tick-label font size, clipped to [2, 9].
int auto_nbins(double axis_length_points, double font_size_points, bool is_x_axis);

// The labels matplotlib writes for these ticks: "%1.<d>f" with the fewest decimals d that keep
// every label exact to a thousandth of the range, "−" for negative numbers and "0" for -0.
std::vector<std::string> format_ticks(const std::vector<double>& ticks);

}  // namespace ember::vision
