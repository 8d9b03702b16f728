// Which files are images, and finding them in a folder tree: fastai's image_extensions (fixed) and
// get_image_files (fastai's get_files rules).
//
//   vision::has_image_extension("images/train/iu/3f2b.JPG")   // true: the last suffix, lowercased
//   auto files = vision::get_image_files("images");          // images/train/**, images/test/**
//
// fastai builds the extension set from Python's mimetypes table, which depends on the machine
// (/etc/mime.types adds .webp, .jfif, .jp2 on Debian); Ember uses one fixed set: Python 3.11's
// built-in image/ types plus .webp, so a folder means the same thing everywhere.
#pragma once
#include <string>
#include <vector>

namespace ember::vision {

// .avif .bmp .gif .heic .heif .ico .ief .jpe .jpeg .jpg .pbm .pgm .png .pnm .ppm .ras .rgb .svg .tif
// .tiff .webp .xbm .xpm .xwd (lowercase, sorted).
const std::vector<std::string>& image_extensions();

// True when the file name's last suffix (".JPG" in "a.b.JPG"), lowercased, is in image_extensions().
bool has_image_extension(const std::string& path);

// fastai's get_image_files(root, folders=folders), i.e. get_files(os.walk(root, followlinks=True)):
//   - at the top level, descend only into the sub-folders named in `folders` and skip the files
//     there (an empty `folders` list: every folder and file, as below);
//   - deeper down, skip folders and files whose names start with '.';
//   - keep a file when has_image_extension() says so (fastai's f'.{f.split(".")[-1]}' would also
//     keep a file named just "jpg"; Ember wants a real suffix);
//   - follow symbolic links to folders (a link back to a folder on the current path, a loop, is
//     not followed again) and to files; broken links and special files (FIFOs, sockets, devices)
//     are not images and are skipped.
// The paths are root / relative path, sorted byte-wise (fastai keeps os.walk's order, which depends
// on the file system; sorting makes runs reproducible). A root that is missing or not a folder, and
// a folder that cannot be listed (no permission), throw an Error naming it: a dataset read with
// holes in it would be silently smaller.
std::vector<std::string> get_image_files(const std::string& root,
                                         const std::vector<std::string>& folders = {"train", "test"});

}  // namespace ember::vision
