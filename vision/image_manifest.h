// manifest.csv: the record a label folder keeps of where its images came from. One per folder
// (images/train/iu/manifest.csv), one row per URL tried, so that a second crawl skips what it
// already has, `ember verify --delete` can say why a file went, and a reader can trace any image:
//
//   url,file,status,bytes,sha256,query,reason
//   https://a.example/iu.jpg,3f2b8c1e-....jpg,ok,48213,9c1e...,iu kpop,
//   https://b.example/x.jpg,,failed,0,,iu kpop,HTTP 404
//   https://c.example/y.jpg,,duplicate,48213,9c1e...,iu,same bytes as 3f2b8c1e-....jpg
//
// status is one of: ok (the file is in the folder), failed (nothing kept; reason says why),
// duplicate (the bytes or the URL were already kept), deleted (removed later by ember verify).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ember::vision {

struct ManifestEntry {
  std::string url;     // where the image came from (an export uses e.g. "fashion-mnist:train:123")
  std::string file;    // the file's name inside the folder; empty when nothing was kept
  std::string status;  // ok | failed | duplicate | deleted
  int64_t bytes = 0;   // size of the body that was received
  std::string sha256;  // hex digest of those bytes; empty when there were none
  std::string query;   // the search (or export) that produced the URL
  std::string reason;  // for anything but ok: why, in words
};

class ImageManifest {
 public:
  static constexpr const char* kFileName = "manifest.csv";

  // Reads `folder`/manifest.csv when it exists (a broken file is an error naming it and the line);
  // otherwise starts empty. Nothing is written until save().
  explicit ImageManifest(std::string folder);

  const std::string& folder() const { return folder_; }
  std::string path() const;
  const std::vector<ManifestEntry>& entries() const { return entries_; }
  // The entry for `url`, or null.
  const ManifestEntry* find_url(const std::string& url) const;
  // The entry whose kept file (status ok) has these bytes, or null.
  const ManifestEntry* find_sha256(const std::string& sha256) const;
  // The entry that kept `file`, or null.
  ManifestEntry* find_file(const std::string& file);
  // Adds an entry, replacing an earlier one for the same URL (a retried failure, say).
  void add(ManifestEntry entry);
  // Writes manifest.csv atomically (temp + rename).
  void save() const;

 private:
  std::string folder_;
  std::vector<ManifestEntry> entries_;
};

}  // namespace ember::vision
