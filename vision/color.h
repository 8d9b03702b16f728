// Colours as matplotlib spells them: "#1f77b4", "#1f77b480", "C0".."C9" (the tab10 cycle),
// "tab:blue", the one-letter "r g b c m y k w", the CSS names figures use ("red", "green",
// "white", "gray", "orange", ...), and "0.8" (a grey level). Unknown spellings are an ember::Error.
#pragma once
#include <string>

namespace ember::vision {

struct Color {
  double r = 0, g = 0, b = 0, a = 1;  // each in [0, 1]
};

Color parse_color(const std::string& spec);

// matplotlib's default property cycle (tab10): the colour of the n-th line or scatter of an axes.
Color cycle_color(int n);

}  // namespace ember::vision
