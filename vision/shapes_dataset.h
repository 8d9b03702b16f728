// A generated two-class dataset: one circle or one square of random size, colour and position on a
// textured background (noise or a gradient), with the object's bounding box, so that a CAM
// can later be checked for pointing at the object (`ember data shapes`).
//
//   vision::ShapeImage sample = vision::make_shape_image(128, vision::Shape::circle, /*seed=*/7);
//   sample.image;  sample.box.x0 ... sample.box.y1;  sample.colour
//
// Everything is a function of the seed (a splitmix64 stream, not the standard library's
// distributions, so that every compiler draws the same pictures).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "vision/dataset_export.h"
#include "vision/image.h"

namespace ember::vision {

enum class Shape { circle, square };
const char* shape_name(Shape shape);  // "circle", "square": the label folders

struct ShapeImage {
  Image image;                      // size x size RGB
  ObjectBox box;                    // the tight box of the object's pixels, right/bottom exclusive
  std::array<uint8_t, 3> colour{};  // the object's colour; no background pixel has it
  std::string background;           // "noise" or "gradient"
};

// The object's extent (circle diameter, square side) is drawn from [size/6, size/2.5], its position
// so that it lies inside with a 2-pixel margin, its colour so that every channel of every background
// pixel differs from it by a sum of at least 60 levels. size must be at least 16.
ShapeImage make_shape_image(int64_t size, Shape shape, uint64_t seed);

struct ShapesExport {
  std::string out;                 // folders <out>/{train,test}/{circle,square}/
  int64_t train = 100, test = 25;  // per class
  int64_t size = 128;
  uint64_t seed = 0;
};

// Writes <out>/<split>/<shape>/<uuid>.png with manifest.csv (url "shapes:<seed>/<split>/<shape>/<i>")
// and boxes.csv (file,x0,y0,x1,y1) per folder. Image i of a folder is make_shape_image(size, shape,
// a seed mixed from (seed, split, shape, i)), so the same seed gives the same pictures, and a larger
// count adds pictures without changing the first ones. A rerun keeps what is there.
ExportCounts export_shapes(const ShapesExport& options, const std::function<void(int64_t, int64_t)>& on_progress = {});

}  // namespace ember::vision
