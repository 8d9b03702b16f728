// See colormap.h.
#include "vision/colormap.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"

namespace ember::vision {
namespace {

const std::vector<Colormap>& all_colormaps() {
  static const std::vector<Colormap> maps = {
      Colormap("viridis", detail::viridis_table),
      Colormap("magma", detail::magma_table),
      Colormap("Blues", detail::blues_table),
      Colormap("gray", detail::gray_table),
  };
  return maps;
}

}  // namespace

// matplotlib: xa = t * N; xa[xa == N] = N - 1; clip to [-1, N]; then under/over (-1, N) take the
// first/last colour, since none of these maps sets its own under/over colours.
int Colormap::index_of(double t) {
  const double scaled = t * 256.0;
  if (!(scaled > 0)) return 0;  // also catches NaN
  return std::min(255, static_cast<int>(scaled));
}

Rgb Colormap::operator()(double t) const {
  const double* entry = table_[index_of(t)];
  return {entry[0], entry[1], entry[2]};
}

Rgb8 Colormap::bytes(double t) const {
  const double* entry = table_[index_of(t)];
  auto to_byte = [](double v) { return static_cast<uint8_t>(v * 255.0); };  // truncation, like numpy's astype
  return {to_byte(entry[0]), to_byte(entry[1]), to_byte(entry[2])};
}

std::vector<std::string> colormap_names() {
  std::vector<std::string> names;
  for (const Colormap& map : all_colormaps()) names.push_back(map.name());
  return names;
}

const Colormap& colormap(const std::string& name) {
  for (const Colormap& map : all_colormaps()) {
    if (map.name() == name) return map;
  }
  std::string known;
  for (const std::string& n : colormap_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("colormap: unknown colormap '" + name + "'; the known ones are " + known);
}

Rgb colormap(const std::string& name, double t) { return colormap(name)(t); }

}  // namespace ember::vision
