// See color.h. The hex values are matplotlib's (_color_data.py): BASE_COLORS, TABLEAU_COLORS and
// the CSS4 names that figures are likely to ask for.
#include "vision/color.h"

#include <cstdlib>
#include <string_view>
#include <utility>

#include "tensor/error.h"

namespace ember::vision {
namespace {

// tab10, in cycle order (C0..C9).
constexpr std::pair<std::string_view, std::string_view> kTableau[] = {
    {"blue", "#1f77b4"},  {"orange", "#ff7f0e"}, {"green", "#2ca02c"}, {"red", "#d62728"},   {"purple", "#9467bd"},
    {"brown", "#8c564b"}, {"pink", "#e377c2"},   {"gray", "#7f7f7f"},  {"olive", "#bcbd22"}, {"cyan", "#17becf"},
};

constexpr std::pair<std::string_view, std::string_view> kNamed[] = {
    // BASE_COLORS (one letter)
    {"b", "#0000ff"},
    {"g", "#008000"},
    {"r", "#ff0000"},
    {"c", "#00bfbf"},
    {"m", "#bf00bf"},
    {"y", "#bfbf00"},
    {"k", "#000000"},
    {"w", "#ffffff"},
    // CSS4
    {"black", "#000000"},
    {"white", "#ffffff"},
    {"red", "#ff0000"},
    {"green", "#008000"},
    {"blue", "#0000ff"},
    {"yellow", "#ffff00"},
    {"cyan", "#00ffff"},
    {"magenta", "#ff00ff"},
    {"orange", "#ffa500"},
    {"purple", "#800080"},
    {"brown", "#a52a2a"},
    {"pink", "#ffc0cb"},
    {"gray", "#808080"},
    {"grey", "#808080"},
    {"lightgray", "#d3d3d3"},
    {"lightgrey", "#d3d3d3"},
    {"darkgray", "#a9a9a9"},
    {"darkgrey", "#a9a9a9"},
    {"silver", "#c0c0c0"},
    {"navy", "#000080"},
    {"darkblue", "#00008b"},
    {"darkgreen", "#006400"},
    {"darkred", "#8b0000"},
    {"gold", "#ffd700"},
    {"lime", "#00ff00"},
    {"olive", "#808000"},
    {"teal", "#008080"},
    {"crimson", "#dc143c"},
    {"steelblue", "#4682b4"},
    {"skyblue", "#87ceeb"},
    {"tomato", "#ff6347"},
    {"salmon", "#fa8072"},
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_hex(std::string_view hex, Color& out) {
  if (hex.size() != 7 && hex.size() != 9) return false;
  double channels[4] = {0, 0, 0, 1};
  for (size_t i = 1, c = 0; i < hex.size(); i += 2, ++c) {
    const int high = hex_digit(hex[i]), low = hex_digit(hex[i + 1]);
    if (high < 0 || low < 0) return false;
    channels[c] = (high * 16 + low) / 255.0;
  }
  out = {channels[0], channels[1], channels[2], channels[3]};
  return true;
}

}  // namespace

Color cycle_color(int n) {
  Color color;
  const int count = static_cast<int>(std::size(kTableau));
  parse_hex(kTableau[((n % count) + count) % count].second, color);
  return color;
}

Color parse_color(const std::string& spec) {
  Color color;
  if (!spec.empty() && spec[0] == '#') {
    if (parse_hex(spec, color)) return color;
  } else if (spec.size() == 2 && spec[0] == 'C' && spec[1] >= '0' && spec[1] <= '9') {
    return cycle_color(spec[1] - '0');
  } else if (spec.rfind("tab:", 0) == 0) {
    for (const auto& [name, hex] : kTableau) {
      if (spec.substr(4) == name) return parse_hex(hex, color), color;
    }
  } else if (!spec.empty() && (spec[0] == '0' || spec[0] == '1' || spec[0] == '.')) {
    char* end = nullptr;  // "0.8": a grey level in [0, 1]
    const double level = std::strtod(spec.c_str(), &end);
    if (end == spec.c_str() + spec.size() && level >= 0 && level <= 1) return {level, level, level, 1};
  } else {
    for (const auto& [name, hex] : kNamed) {
      if (spec == name) return parse_hex(hex, color), color;
    }
  }
  throw Error("parse_color: unknown colour '" + spec +
              "'; use '#rrggbb', 'C0'..'C9', 'tab:blue', one of 'rgbcmykw', a grey level like '0.8', "
              "or a CSS name such as 'red', 'green', 'black', 'white', 'gray', 'orange'");
}

}  // namespace ember::vision
