// The pointing game (Zhang et al. 2016): does a class map's maximum fall on the object? A check of
// CAM quality on the generated shapes dataset (shapes_dataset.h), whose folders have a boxes.csv.
//
//   auto boxes = vision::read_object_boxes(paths);          // each image's box, from its folder
//   vision::PointingGameResult r = vision::pointing_game(why.maps, boxes, 128, 128);
//   r.score;    // hits / images, e.g. 0.86
//   r.chance;   // mean box area / image area: what a uniformly random point scores, e.g. 0.09
//
// Where a map points: map cell (i, j) of an (h, w) map stretched over a W x H image covers the
// pixels [j W/w, (j+1) W/w) x [i H/h, (i+1) H/h); the map points at the centre of its largest
// cell, ((j + 0.5) W/w, (i + 0.5) H/h). That is also where the bilinearly upsampled map of the
// figure peaks: bilinear interpolation mixes the 4 nearest cell values with weights that sum to
// 1, so it never exceeds the largest cell value and reaches it at that cell's centre.
// A hit: x0 <= px < x1 and y0 <= py < y1 (the box's right and bottom edges are exclusive). A map
// whose cells are all equal (e.g. a Grad-CAM map that ReLU made all 0) points nowhere: a miss,
// counted in `flat`. Ties otherwise go to the first cell in row-major order.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"
#include "vision/dataset_export.h"  // ObjectBox

namespace ember::vision {

// boxes.csv (file,x0,y0,x1,y1, as `ember data shapes` writes it) as file name -> box. Errors name
// the file and line: a missing column, a number that is not a non-negative integer, an empty box
// (x1 <= x0 or y1 <= y0), a file listed twice.
std::map<std::string, ObjectBox> read_boxes_csv(const std::string& path);

// The box of each image path, from boxes.csv in the image's folder (each folder read once). An
// image that its folder's boxes.csv does not list is an error naming both.
std::vector<ObjectBox> read_object_boxes(const std::vector<std::string>& image_paths);

struct MapPeak {
  double x = 0, y = 0;  // image pixels (continuous: pixel column x covers [x, x + 1))
  int64_t row = 0, col = 0;
  bool flat = false;  // every cell equal: no peak
};
// The peak of one (h, w) map stretched over a width x height image (see the top of this file).
MapPeak map_peak(const Tensor& map, int64_t width, int64_t height);

struct PointingGameResult {
  int64_t hits = 0, total = 0, flat = 0;
  double score = 0;         // hits / total
  double chance = 0;        // mean over images of box area / image area
  double chance_cells = 0;  // mean over images of the fraction of cell centres inside the box:
                            // what pointing at a random cell scores with maps this coarse
  std::vector<MapPeak> peaks;
  std::vector<bool> hit;
};

// maps (N, h, w), one box per image, all images width x height (the boxes in their pixels; the
// maps stretched over the whole image). Errors: sizes that do not match, a box outside the
// image, a NaN in a map (naming the image).
PointingGameResult pointing_game(const Tensor& maps, const std::vector<ObjectBox>& boxes, int64_t width,
                                 int64_t height);

}  // namespace ember::vision
