// fastai's verify_images: which image files in a folder do not decode, and removing them, so that
// training never meets them. `ember verify` (apps/verify.cpp) is this file on the command line.
//
//   vision::VerifyResult result = vision::verify_images("images", /*workers=*/2);
//   for (const vision::BadImage& bad : result.bad) std::printf("%s: %s\n", bad.path.c_str(), bad.reason.c_str());
//   vision::RemovalResult removed = vision::remove_bad_images(result.bad, "images", /*quarantine=*/"");
//
// A file is bad when load_image throws an ImageDecodeError for it: it is empty, an HTML page, a
// format Ember does not decode (WebP, SVG, ...), truncated, corrupt, or over the pixel limit (as
// fastai's verify_image, which returns False when PIL cannot open or fully load the file). A file the
// operating system will not let us read (permissions, I/O errors) is *unreadable*, not bad: it is
// listed with the OS reason but never deleted, since its bytes may well be a good image.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ember::vision {

// The empty string when the file at `path` decodes completely; otherwise why not.
std::string verify_image(const std::string& path);

struct BadImage {
  std::string path;    // as found under the folder ("images/train/iu/3f2b.jpg")
  std::string reason;  // "truncated: the JPEG data ends before ...", "Permission denied", ...
};

// The image files under `root`, recursively, sorted: every file for which has_image_extension()
// holds (image_files.h), skipping hidden files and folders (names starting with '.') as fastai's
// get_image_files does. Symbolic links to files are followed; links to folders are not (a link loop
// cannot hang the walk). Folders that cannot be listed go to `unreadable` with the OS reason.
struct ImageFileList {
  std::vector<std::string> files;
  std::vector<BadImage> unreadable;
};
ImageFileList find_images_to_verify(const std::string& root);

struct VerifyResult {
  int64_t checked = 0;               // image files decoded
  std::vector<BadImage> bad;         // do not decode: safe to delete
  std::vector<BadImage> unreadable;  // folders or files the OS would not let us read: kept
};

// Decodes every image file under `root` in `workers` threads (0: one per core). on_progress, when
// given, is called after each file with the number done so far (from the worker threads, one at a
// time). An error only when `root` itself is not a readable folder.
VerifyResult verify_images(const std::string& root, int workers = 0,
                           const std::function<void(int64_t done, int64_t total)>& on_progress = {});

struct RemovalResult {
  int64_t removed = 0;                // deleted, or moved into the quarantine folder
  std::vector<BadImage> failed;       // could not be removed (the reason says why); they stay where they were
  std::vector<std::string> moved_to;  // with a quarantine: where each removed file went, in order
};

// Deletes each bad file (quarantine empty) or moves it to quarantine/<its path relative to root>,
// never overwriting a file there (a taken name gets "-1", "-2", ... before its suffix). Then, where
// the file's folder has a manifest.csv (image_manifest.h), its entry gets status "deleted" and reason
// "verify: <reason>". A quarantine folder inside `root` must be hidden (e.g. root/.quarantine), or
// the next walk would find the files again: anything else is an error before anything is touched.
RemovalResult remove_bad_images(const std::vector<BadImage>& bad, const std::string& root,
                                const std::string& quarantine);

// The check remove_bad_images makes first: an error when `quarantine` lies inside `root` below no
// hidden folder.
void check_quarantine_folder(const std::string& root, const std::string& quarantine);

}  // namespace ember::vision
