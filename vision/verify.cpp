// See verify.h.
#include "vision/verify.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "tensor/error.h"
#include "vision/image.h"
#include "vision/image_files.h"
#include "vision/image_manifest.h"

namespace ember::vision {

namespace fs = std::filesystem;

namespace {

bool is_hidden(const fs::path& path) { return path.filename().string().rfind('.', 0) == 0; }

// Decodes one file: "" when good; the decoder's reason when bad; unreadable=true when the OS refused.
std::string check_file(const std::string& path, bool* unreadable) {
  *unreadable = false;
  try {
    load_image(path);
    return "";
  } catch (const ImageDecodeError& e) {
    return e.reason;
  } catch (const std::exception& e) {  // read_file's "cannot read 'x': Permission denied", out of memory
    *unreadable = true;
    return e.what();
  }
}

void walk(const fs::path& folder, ImageFileList& list) {
  std::error_code error;
  fs::directory_iterator it(folder, error), end;
  if (error) {
    list.unreadable.push_back({folder.string(), "cannot list the folder: " + error.message()});
    return;
  }
  for (; it != end; it.increment(error)) {
    if (error) break;
    const fs::path& path = it->path();
    if (is_hidden(path)) continue;
    std::error_code type_error;
    if (it->is_symlink(type_error) && it->is_directory(type_error)) continue;  // no link loops
    if (it->is_directory(type_error))
      walk(path, list);
    else if (has_image_extension(path.string()) && it->is_regular_file(type_error))
      list.files.push_back(path.string());
  }
  if (error) list.unreadable.push_back({folder.string(), "cannot list the folder: " + error.message()});
}

// A path under `quarantine` for `relative` that does not exist yet: "a.jpg", then "a-1.jpg", ...
fs::path free_name(const fs::path& quarantine, const fs::path& relative) {
  fs::path target = quarantine / relative;
  for (int n = 1; fs::exists(fs::symlink_status(target)); ++n)
    target = quarantine / relative.parent_path() /
             (relative.stem().string() + "-" + std::to_string(n) + relative.extension().string());
  return target;
}

// Moves `from` to `to` without ever replacing a file at `to`: a hard link (which fails when `to`
// exists) then unlinking `from`; across file systems, a copy that refuses to overwrite, then removal.
std::string move_without_overwriting(const fs::path& from, const fs::path& to) {
  std::error_code error;
  fs::create_directories(to.parent_path(), error);
  if (error) return "cannot create '" + to.parent_path().string() + "': " + error.message();
  if (::link(from.c_str(), to.c_str()) == 0) {
    if (::unlink(from.c_str()) == 0) return "";
    const std::string reason = std::strerror(errno);
    ::unlink(to.c_str());
    return "cannot remove it: " + reason;
  }
  if (errno == EEXIST) return "'" + to.string() + "' appeared meanwhile";
  if (!fs::copy_file(from, to, fs::copy_options::none, error))
    return "cannot copy it to '" + to.string() + "': " + error.message();
  if (!fs::remove(from, error)) {
    fs::remove(to);
    return "cannot remove it: " + error.message();
  }
  return "";
}

}  // namespace

std::string verify_image(const std::string& path) {
  bool unreadable = false;
  return check_file(path, &unreadable);
}

ImageFileList find_images_to_verify(const std::string& root) {
  ImageFileList list;
  walk(root, list);
  std::sort(list.files.begin(), list.files.end());
  return list;
}

VerifyResult verify_images(const std::string& root, int workers,
                           const std::function<void(int64_t, int64_t)>& on_progress) {
  std::error_code error;
  EMBER_CHECK(fs::is_directory(root, error),
              "verify: '" + root + "' is not a folder" + (error ? ": " + error.message() : std::string()));
  ImageFileList list = find_images_to_verify(root);
  VerifyResult result;
  result.unreadable = std::move(list.unreadable);
  const int64_t total = int64_t(list.files.size());
  if (workers <= 0) workers = int(std::max(1u, std::thread::hardware_concurrency()));
  workers = int(std::min<int64_t>(workers, std::max<int64_t>(total, 1)));

  // Each worker takes the next file index; results land in their file's slot, so the order is kept.
  std::vector<std::string> reasons(list.files.size());
  std::vector<char> unreadable(list.files.size(), 0);
  std::atomic<int64_t> next{0};
  int64_t done = 0;
  std::mutex progress_mutex;
  auto work = [&] {
    for (int64_t i = next++; i < total; i = next++) {
      bool refused = false;
      reasons[size_t(i)] = check_file(list.files[size_t(i)], &refused);
      unreadable[size_t(i)] = refused;
      std::lock_guard<std::mutex> lock(progress_mutex);
      ++done;
      if (on_progress) on_progress(done, total);
    }
  };
  std::vector<std::thread> threads;
  for (int w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (std::thread& thread : threads) thread.join();

  result.checked = total;
  for (size_t i = 0; i < list.files.size(); ++i) {
    if (reasons[i].empty()) continue;
    (unreadable[i] ? result.unreadable : result.bad).push_back({list.files[i], reasons[i]});
  }
  return result;
}

void check_quarantine_folder(const std::string& root, const std::string& quarantine) {
  const fs::path root_path = fs::weakly_canonical(root), quarantine_path = fs::weakly_canonical(quarantine);
  const fs::path relative = quarantine_path.lexically_relative(root_path);
  if (relative.empty() || *relative.begin() == "..") return;  // outside root
  for (const fs::path& part : relative)
    if (is_hidden(part)) return;
  throw Error("verify: the quarantine folder '" + quarantine + "' is inside '" + root +
              "' and not hidden: the next verify or training run would find the files again "
              "(use a folder outside it, or a hidden one such as '" +
              (fs::path(root) / ".quarantine").string() + "')");
}

RemovalResult remove_bad_images(const std::vector<BadImage>& bad, const std::string& root,
                                const std::string& quarantine) {
  if (!quarantine.empty()) check_quarantine_folder(root, quarantine);
  RemovalResult result;
  std::map<std::string, std::vector<const BadImage*>> removed_by_folder;
  for (const BadImage& file : bad) {
    const fs::path path(file.path);
    std::string failure;
    if (quarantine.empty()) {
      std::error_code error;
      if (!fs::remove(path, error)) failure = error ? error.message() : "it no longer exists";
    } else {
      const fs::path target = free_name(quarantine, path.lexically_relative(root));
      failure = move_without_overwriting(path, target);
      if (failure.empty()) result.moved_to.push_back(target.string());
    }
    if (!failure.empty()) {
      result.failed.push_back({file.path, failure});
      continue;
    }
    ++result.removed;
    removed_by_folder[path.parent_path().string()].push_back(&file);
  }
  // Record the removals in each folder's manifest.csv, where there is one.
  for (const auto& [folder, files] : removed_by_folder) {
    if (!fs::exists(fs::path(folder) / ImageManifest::kFileName)) continue;
    try {
      ImageManifest manifest(folder);
      for (const BadImage* file : files)
        if (ManifestEntry* entry = manifest.find_file(fs::path(file->path).filename().string())) {
          entry->status = "deleted";
          entry->reason = "verify: " + file->reason;
        }
      manifest.save();
    } catch (const std::exception& e) {  // the files are gone either way; say the manifest is stale
      result.failed.push_back(
          {(fs::path(folder) / ImageManifest::kFileName).string(), std::string("not updated: ") + e.what()});
    }
  }
  return result;
}

}  // namespace ember::vision
