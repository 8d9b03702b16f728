// See pointing_game.h.
#include "vision/pointing_game.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "autograd/ops.h"
#include "tensor/io/csv.h"
#include "tensor/io/file.h"

namespace fs = std::filesystem;

namespace ember::vision {

namespace {

std::string box_str(const ObjectBox& b) {
  return "(" + std::to_string(b.x0) + ", " + std::to_string(b.y0) + ", " + std::to_string(b.x1) + ", " +
         std::to_string(b.y1) + ")";
}

// A column of pixel coordinates: non-negative integers (parse_csv's numbers() names a cell that is
// no number at all).
std::vector<int64_t> coordinates(const CsvTable& table, const std::string& column) {
  const std::vector<double> values = table.numbers(column);
  std::vector<int64_t> out;
  for (size_t row = 0; row < values.size(); ++row) {
    EMBER_CHECK(values[row] >= 0 && values[row] == std::floor(values[row]) && values[row] < 1e9,
                table.source + ": line " + std::to_string(table.line_of_row[row]) + ", column '" + column + "': '" +
                    table.rows[row][table.column(column)] + "' is not a pixel coordinate (a non-negative integer)");
    out.push_back(static_cast<int64_t>(values[row]));
  }
  return out;
}

}  // namespace

std::map<std::string, ObjectBox> read_boxes_csv(const std::string& path) {
  const CsvTable table = parse_csv(read_file(path, "read_boxes_csv"), path, /*allow_no_rows=*/true);
  const std::vector<std::string> files = table.strings("file");
  const auto x0 = coordinates(table, "x0"), y0 = coordinates(table, "y0");
  const auto x1 = coordinates(table, "x1"), y1 = coordinates(table, "y1");
  std::map<std::string, ObjectBox> boxes;
  for (size_t row = 0; row < files.size(); ++row) {
    const std::string where = path + ": line " + std::to_string(table.line_of_row[row]);
    EMBER_CHECK(!files[row].empty(), where + ": the file name is empty");
    const ObjectBox box{x0[row], y0[row], x1[row], y1[row]};
    EMBER_CHECK(box.x1 > box.x0 && box.y1 > box.y0,
                where + ": the box " + box_str(box) + " of '" + files[row] + "' is empty (need x0 < x1 and y0 < y1)");
    EMBER_CHECK(boxes.emplace(files[row], box).second, where + ": '" + files[row] + "' is listed twice");
  }
  return boxes;
}

std::vector<ObjectBox> read_object_boxes(const std::vector<std::string>& image_paths) {
  std::map<std::string, std::map<std::string, ObjectBox>> folders;  // folder -> its boxes.csv
  std::vector<ObjectBox> boxes;
  for (const std::string& image_path : image_paths) {
    const fs::path p(image_path);
    const std::string csv = (p.parent_path() / LabelFolderExport::kBoxesFileName).string();
    auto folder = folders.find(csv);
    if (folder == folders.end()) {
      EMBER_CHECK(fs::exists(csv), "read_object_boxes: '" + image_path + "' has no " +
                                       LabelFolderExport::kBoxesFileName + " next to it ('" + csv +
                                       "' is missing); only datasets with boxes (ember data shapes) have one");
      folder = folders.emplace(csv, read_boxes_csv(csv)).first;
    }
    auto box = folder->second.find(p.filename().string());
    EMBER_CHECK(box != folder->second.end(),
                "read_object_boxes: '" + csv + "' has no box for '" + p.filename().string() + "'");
    boxes.push_back(box->second);
  }
  return boxes;
}

MapPeak map_peak(const Tensor& map, int64_t width, int64_t height) {
  EMBER_CHECK(map.defined() && map.dim() == 2 && map.numel() > 0,
              "map_peak: the map must be a non-empty (h, w) tensor, got " +
                  (map.defined() ? map.shape().str() : std::string("an undefined tensor")));
  EMBER_CHECK(width > 0 && height > 0,
              "map_peak: the image size must be positive, got " + std::to_string(width) + "x" + std::to_string(height));
  const int64_t rows = map.size(0), cols = map.size(1);
  const std::vector<double> v = to_vector<double>(map);
  size_t best = 0;
  bool flat = true;
  for (size_t k = 0; k < v.size(); ++k) {
    EMBER_CHECK(!std::isnan(v[k]), "map_peak: the map has a NaN at cell (" + std::to_string(int64_t(k) / cols) + ", " +
                                       std::to_string(int64_t(k) % cols) + ")");
    if (v[k] != v[0]) flat = false;
    if (v[k] > v[best]) best = k;  // strict: the first maximum in row-major order wins ties
  }
  MapPeak peak;
  peak.row = static_cast<int64_t>(best) / cols;
  peak.col = static_cast<int64_t>(best) % cols;
  // Cell (i, j) covers [j W/w, (j+1) W/w) x [i H/h, (i+1) H/h); its centre:
  peak.x = (static_cast<double>(peak.col) + 0.5) * static_cast<double>(width) / static_cast<double>(cols);
  peak.y = (static_cast<double>(peak.row) + 0.5) * static_cast<double>(height) / static_cast<double>(rows);
  peak.flat = flat;
  return peak;
}

PointingGameResult pointing_game(const Tensor& maps, const std::vector<ObjectBox>& boxes, int64_t width,
                                 int64_t height) {
  EMBER_CHECK(maps.defined() && maps.dim() == 3,
              "pointing_game: maps must be (N, h, w), got " +
                  (maps.defined() ? maps.shape().str() : std::string("an undefined tensor")));
  EMBER_CHECK(maps.size(0) == static_cast<int64_t>(boxes.size()), "pointing_game: maps " + maps.shape().str() +
                                                                      " but " + std::to_string(boxes.size()) +
                                                                      " boxes: need one box per map");
  EMBER_CHECK(!boxes.empty(), "pointing_game: no images");
  EMBER_CHECK(width > 0 && height > 0, "pointing_game: the image size must be positive, got " + std::to_string(width) +
                                           "x" + std::to_string(height));
  const int64_t rows = maps.size(1), cols = maps.size(2);
  const Tensor cpu_maps = to_cpu(maps.detach());
  PointingGameResult result;
  result.total = static_cast<int64_t>(boxes.size());
  double area_sum = 0, cell_sum = 0;
  for (size_t a = 0; a < boxes.size(); ++a) {
    const ObjectBox& b = boxes[a];
    EMBER_CHECK(b.x0 >= 0 && b.y0 >= 0 && b.x1 > b.x0 && b.y1 > b.y0 && b.x1 <= width && b.y1 <= height,
                "pointing_game: the box " + box_str(b) + " of image " + std::to_string(a) +
                    " is empty or not inside the " + std::to_string(width) + "x" + std::to_string(height) + " image");
    MapPeak peak;
    try {
      peak = map_peak(select(cpu_maps, 0, static_cast<int64_t>(a)), width, height);
    } catch (const Error& e) {
      throw Error("pointing_game: image " + std::to_string(a) + ": " + e.what());
    }
    const bool inside = peak.x >= static_cast<double>(b.x0) && peak.x < static_cast<double>(b.x1) &&
                        peak.y >= static_cast<double>(b.y0) && peak.y < static_cast<double>(b.y1);
    const bool hit = !peak.flat && inside;
    result.hits += hit ? 1 : 0;
    result.flat += peak.flat ? 1 : 0;
    result.hit.push_back(hit);
    result.peaks.push_back(peak);

    // A uniformly random point lands in the box with probability area(box) / area(image).
    area_sum += static_cast<double>((b.x1 - b.x0) * (b.y1 - b.y0)) / static_cast<double>(width * height);
    // A random cell's centre: the fraction of the rows x cols centres inside the box.
    int64_t inside_cells = 0;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        const double x = (static_cast<double>(j) + 0.5) * static_cast<double>(width) / static_cast<double>(cols);
        const double y = (static_cast<double>(i) + 0.5) * static_cast<double>(height) / static_cast<double>(rows);
        inside_cells += (x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1) ? 1 : 0;
      }
    cell_sum += static_cast<double>(inside_cells) / static_cast<double>(rows * cols);
  }
  result.score = static_cast<double>(result.hits) / static_cast<double>(result.total);
  result.chance = area_sum / static_cast<double>(result.total);
  result.chance_cells = cell_sum / static_cast<double>(result.total);
  return result;
}

}  // namespace ember::vision
