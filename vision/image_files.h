// Which files are images: fastai's image_extensions, fixed. fastai builds the set from Python's
// mimetypes table, which depends on the machine (/etc/mime.types adds .webp, .jfif, .jp2 on Debian);
// Ember uses one fixed set: Python 3.11's built-in image/ types plus .webp, so a folder means the
// same thing everywhere.
//
//   vision::has_image_extension("images/train/iu/3f2b.JPG")   // true: the last suffix, lowercased
#pragma once
#include <string>
#include <vector>

namespace ember::vision {

// .avif .bmp .gif .heic .heif .ico .ief .jpe .jpeg .jpg .pbm .pgm .png .pnm .ppm .ras .rgb .svg .tif
// .tiff .webp .xbm .xpm .xwd (lowercase, sorted).
const std::vector<std::string>& image_extensions();

// True when the file name's last suffix (".JPG" in "a.b.JPG"), lowercased, is in image_extensions().
bool has_image_extension(const std::string& path);

}  // namespace ember::vision
