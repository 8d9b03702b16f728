// vision/verify.h: finding the image files that do not decode in a folder tree (hidden files and
// non-image suffixes skipped), in parallel, and deleting or quarantining them without touching a
// good file, with the folder's manifest.csv updated.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tensor/io/file.h"
#include "tests/test_util.h"
#include "vision/image.h"
#include "vision/image_manifest.h"
#include "vision/verify.h"

using namespace ember;
using namespace ember::test;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) { return std::string(EMBER_TEST_DATA) + "/decode/" + name; }

void write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// A dataset with 4 good and 4 bad images, plus files the walk must skip.
struct Tree {
  TempDir dir{"verify"};
  std::string root = dir.file("images");
  std::map<std::string, std::string> good;  // relative path -> bytes
  std::map<std::string, std::string> bad;   // relative path -> a fragment of the expected reason

  Tree() {
    const std::string png = read_file(fixture("png_rgb8.png"), "t"), jpeg = read_file(fixture("jpeg_rgb444.jpg"), "t");
    good = {{"train/cat/a.png", png},
            {"train/cat/b.JPG", jpeg},
            {"train/dog/c.gif", read_file(fixture("gif_transparent.gif"), "t")},
            {"test/dog/d.bmp", read_file(fixture("bmp_rgb24.bmp"), "t")}};
    for (const auto& [path, bytes] : good) write(fs::path(root) / path, bytes);
    write(fs::path(root) / "train/cat/empty.jpg", "");
    write(fs::path(root) / "train/dog/page.png", "<html><body>404</body></html>");
    write(fs::path(root) / "train/dog/cut.jpg", jpeg.substr(0, jpeg.size() - 100));
    write(fs::path(root) / "test/dog/x.webp", read_file(fixture("unsupported_webp.webp"), "t"));
    bad = {{"test/dog/x.webp", "WebP images are not supported"},
           {"train/cat/empty.jpg", "empty"},
           {"train/dog/cut.jpg", "truncated"},
           {"train/dog/page.png", "HTML page"}};
    // skipped: hidden files and folders, other suffixes, a folder whose name looks like an image
    write(fs::path(root) / "train/cat/.broken.jpg", "x");
    write(fs::path(root) / ".cache/bad.jpg", "x");
    write(fs::path(root) / "train/notes.txt", "x");
    fs::create_directories(fs::path(root) / "train/folder.jpg");
  }
  std::string path(const std::string& relative) const { return (fs::path(root) / relative).string(); }
};

}  // namespace

TEST_CASE("verify_images lists exactly the files that do not decode, with their reasons, in any thread count") {
  Tree tree;
  for (int workers : {1, 2, 5}) {
    INFO("workers ", workers);
    const vision::VerifyResult result = vision::verify_images(tree.root, workers);
    CHECK(result.checked == 8);
    CHECK(result.unreadable.empty());
    REQUIRE(result.bad.size() == tree.bad.size());
    size_t k = 0;
    for (const auto& [relative, fragment] : tree.bad) {  // sorted by path, as the result is
      CHECK(result.bad[k].path == tree.path(relative));
      INFO(result.bad[k].reason);
      CHECK(result.bad[k].reason.find(fragment) != std::string::npos);
      ++k;
    }
  }
  CHECK(vision::verify_image(tree.path("train/cat/a.png")).empty());
  CHECK(vision::verify_image(tree.path("train/dog/cut.jpg")).find("truncated") != std::string::npos);
  check_throws([&] { vision::verify_images(tree.path("missing")); }, {"missing", "is not a folder"});
}

TEST_CASE("remove_bad_images deletes the bad files only and marks them deleted in manifest.csv") {
  Tree tree;
  {
    vision::ImageManifest manifest(tree.path("train/dog"));
    manifest.add({"https://a.example/c.gif", "c.gif", "ok", 10, "", "dog", ""});
    manifest.add({"https://a.example/page", "page.png", "ok", 20, "", "dog", ""});
    manifest.add({"https://a.example/cut", "cut.jpg", "ok", 30, "", "dog", ""});
    manifest.save();
  }
  const vision::VerifyResult result = vision::verify_images(tree.root, 2);
  const vision::RemovalResult removal = vision::remove_bad_images(result.bad, tree.root, "");
  CHECK(removal.removed == 4);
  CHECK(removal.failed.empty());
  for (const auto& [relative, fragment] : tree.bad) CHECK_FALSE(fs::exists(tree.path(relative)));
  for (const auto& [relative, bytes] : tree.good) CHECK(read_file(tree.path(relative), "t") == bytes);
  CHECK(fs::exists(tree.path("train/cat/.broken.jpg")));  // hidden: not checked, not deleted

  vision::ImageManifest manifest(tree.path("train/dog"));
  CHECK(manifest.find_url("https://a.example/c.gif")->status == "ok");
  const vision::ManifestEntry* page = manifest.find_url("https://a.example/page");
  CHECK(page->status == "deleted");
  CHECK(page->reason.rfind("verify: an HTML page", 0) == 0);
  CHECK(manifest.find_url("https://a.example/cut")->reason.find("truncated") != std::string::npos);
  // Nothing bad is left: a second pass finds nothing.
  CHECK(vision::verify_images(tree.root, 2).bad.empty());
}

TEST_CASE("remove_bad_images with a quarantine keeps relative paths and never overwrites") {
  Tree tree;
  const std::string quarantine = tree.dir.file("quarantine");
  write(fs::path(quarantine) / "train/dog/cut.jpg", "an earlier quarantined file");
  const vision::VerifyResult result = vision::verify_images(tree.root, 2);
  const vision::RemovalResult removal = vision::remove_bad_images(result.bad, tree.root, quarantine);
  CHECK(removal.removed == 4);
  CHECK(read_file(quarantine + "/train/dog/cut.jpg", "t") == "an earlier quarantined file");
  CHECK(fs::file_size(quarantine + "/train/dog/cut-1.jpg") > 0);  // the new one, next to it
  CHECK(fs::exists(quarantine + "/test/dog/x.webp"));
  CHECK(fs::exists(quarantine + "/train/cat/empty.jpg"));
  for (const auto& [relative, bytes] : tree.good) CHECK(read_file(tree.path(relative), "t") == bytes);
  for (const auto& [relative, fragment] : tree.bad) CHECK_FALSE(fs::exists(tree.path(relative)));
}

TEST_CASE("a quarantine inside the folder must be hidden; refused before anything moves") {
  Tree tree;
  const vision::VerifyResult result = vision::verify_images(tree.root, 1);
  check_throws([&] { vision::remove_bad_images(result.bad, tree.root, tree.path("bad")); },
               {"quarantine", "inside", "hidden"});
  for (const auto& [relative, fragment] : tree.bad) CHECK(fs::exists(tree.path(relative)));
  const vision::RemovalResult removal = vision::remove_bad_images(result.bad, tree.root, tree.path(".quarantine"));
  CHECK(removal.removed == 4);
  CHECK(vision::verify_images(tree.root, 1).checked == 4);  // the hidden quarantine is not walked
}

TEST_CASE("unreadable files and folders are listed with the OS reason and never deleted") {
  if (::geteuid() == 0) {
    MESSAGE("skipped: running as root, permissions do not stop reads");
    return;
  }
  Tree tree;
  const std::string locked_file = tree.path("train/cat/a.png"), locked_folder = tree.path("test/dog");
  fs::permissions(locked_file, fs::perms::none);
  fs::permissions(locked_folder, fs::perms::none);
  const vision::VerifyResult result = vision::verify_images(tree.root, 2);
  std::set<std::string> unreadable;
  for (const auto& entry : result.unreadable) unreadable.insert(entry.path);
  CHECK(unreadable.count(locked_file) == 1);
  CHECK(unreadable.count(locked_folder) == 1);
  for (const auto& entry : result.unreadable) CHECK(entry.reason.find("denied") != std::string::npos);
  vision::remove_bad_images(result.bad, tree.root, "");
  fs::permissions(locked_file, fs::perms::owner_all);
  fs::permissions(locked_folder, fs::perms::owner_all);
  CHECK(fs::exists(locked_file));
}
