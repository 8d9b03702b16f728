// Colormaps: a number in [0, 1] -> a colour, with matplotlib's own tables (viridis, magma, Blues,
// gray; generated into colormap_tables.cpp by tools/make_colormaps.py), so an Ember figure has the
// colours the notebook had.
//
// The lookup is matplotlib's Colormap.__call__ for floats: index = floor(t * 256), clipped to
// [0, 255] (so t = 1 takes the last entry). Bytes are made as matplotlib makes them for images,
// by truncation: uint8(value * 255).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ember::vision {

struct Rgb {
  double r = 0, g = 0, b = 0;  // each in [0, 1]
};

struct Rgb8 {
  uint8_t r = 0, g = 0, b = 0;
};

class Colormap {
 public:
  Colormap(std::string name, const double (*table)[3]) : name_(std::move(name)), table_(table) {}
  const std::string& name() const { return name_; }
  // The table entry for t (see above). t outside [0, 1] is clipped; NaN must be handled by the
  // caller (matplotlib draws it transparent).
  Rgb operator()(double t) const;
  Rgb8 bytes(double t) const;

 private:
  static int index_of(double t);
  std::string name_;
  const double (*table_)[3];
};

// The colormap called `name` ("viridis", "magma", "Blues", "gray"); an unknown name throws an
// ember::Error that lists the known ones.
const Colormap& colormap(const std::string& name);
// colormap(name)(t) in one call.
Rgb colormap(const std::string& name, double t);
std::vector<std::string> colormap_names();

namespace detail {
extern const double viridis_table[256][3];
extern const double magma_table[256][3];
extern const double blues_table[256][3];
extern const double gray_table[256][3];
}  // namespace detail

}  // namespace ember::vision
