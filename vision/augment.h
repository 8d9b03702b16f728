// The item transforms of fastai's from_folder pipeline: Resize(size) with ResizeMethod.Crop (a
// random square crop on train, the centre one on valid, then Pillow's bilinear resize) and the
// optional horizontal flip.
//
//   Image valid = vision::resize_crop(image, 512, 512);                     // centre crop
//   Image train = vision::resize_crop(image, 512, 512, {0.31, 0.87});       // pcts drawn per item
//
// fastai (augment.py, Resize.encodes and _do_crop_pad) for a target (tw, th) and an image (w, h):
//   m  = w / tw  if  w / tw < h / th  else  h / th        (the side that limits the crop)
//   cp = (int(m * tw), int(m * th))                       (= min(w, h) squared for a square target)
//   tl = (int(pcts.x * (w - cp.x)), int(pcts.y * (h - cp.y)))
//   crop the box [tl, tl + cp), then resize it to (tw, th) with BILINEAR (antialiased downscaling;
//   images smaller than the target are upscaled). No padding: the crop always fits.
// pcts = (0.5, 0.5) on the valid split (the floor of half the slack); on train two uniform numbers
// in [0, 1) drawn once per item (Python's random.random() in fastai; the data loader derives them
// from its seed, the epoch and the item).
#pragma once
#include <cstdint>

#include "vision/image.h"

namespace ember::vision {

struct CropPosition {
  double x = 0.5, y = 0.5;  // fastai's pcts: where the crop lies along the slack, 0 = left / top
};

Image resize_crop(const Image& image, int64_t width, int64_t height, CropPosition position = {});

// The crop box resize_crop takes: (left, top, width, height) in the source image.
struct CropBox {
  int64_t left = 0, top = 0, width = 0, height = 0;
};
CropBox resize_crop_box(int64_t image_width, int64_t image_height, int64_t width, int64_t height,
                        CropPosition position = {});

// Mirror left to right (fastai's flip_lr / FlipItem, PIL's FLIP_LEFT_RIGHT).
Image flip_horizontal(const Image& image);

}  // namespace ember::vision
