// See pretrained.h. The order of events for one call:
//   cached file + record agree (and match the pinned digest)  -> return it, no network
//   otherwise: drop a corrupted/unrecorded cache file, then download through an AtomicFile;
//   before the rename: size, server digest, pinned digest, model check, write the record.
#include "vision/pretrained.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>
#include <vector>

#include "nn/models/resnet.h"
#include "nn/models/resnet_weights.h"
#include "tensor/io/file.h"
#include "vision/sha256.h"

namespace ember::vision {

namespace fs = std::filesystem;

namespace {

constexpr const char* kHuggingFace = "https://huggingface.co";

// timm/resnet34.tv_in1k's model.safetensors digest. Not known yet: this project was written
// offline. Once seen, put the 64 hex digits here (or pin them with $EMBER_RESNET34_SHA256).
constexpr const char* kResnet34Sha256 = "";

std::string lowercase(std::string text) {
  for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool is_sha256_hex(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// The pinned digest and where it came from (for the messages), or "" when none is pinned.
std::string pinned_sha256(const PretrainedModel& model, const PretrainedOptions& options, std::string& source) {
  std::string digest = model.sha256;
  source = "the digest built into Ember";
  const char* env = model.sha256_env.empty() ? nullptr : std::getenv(model.sha256_env.c_str());
  if (!options.sha256.empty()) {
    digest = options.sha256;
    source = "the pinned digest";
  } else if (env && *env) {
    digest = env;
    source = "$" + model.sha256_env;
  }
  if (!digest.empty() && !is_sha256_hex(digest))
    throw Error("pretrained weights: " + source + " '" + digest + "' is not a SHA-256 (64 hex digits)");
  return lowercase(digest);
}

// The file's SHA-256 as the server states it, or "" when it does not: X-Linked-Etag (Hugging
// Face's LFS digest), else ETag; quotes and a weak "W/" prefix removed.
std::string server_sha256(const DownloadedFile& download, std::string& header_name) {
  for (const char* name : {"x-linked-etag", "etag"}) {
    std::string tag = download.header(name);
    if (tag.empty()) continue;
    if (tag.rfind("W/", 0) == 0) tag = tag.substr(2);
    if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') tag = tag.substr(1, tag.size() - 2);
    header_name = name == std::string("etag") ? "ETag" : "X-Linked-Etag";
    return is_sha256_hex(tag) ? lowercase(tag) : "";  // a tag that is not a SHA-256 says nothing here
  }
  return "";
}

// The digest recorded in "<file>.sha256" (sha256sum's "<hex>  <name>" line), or "" when unreadable.
std::string recorded_sha256(const fs::path& record) {
  std::string text;
  try {
    text = read_file(record.string(), "pretrained weights");
  } catch (const Error&) {
    return "";
  }
  const std::string digest = lowercase(text.substr(0, 64));
  return is_sha256_hex(digest) ? digest : "";
}

std::string file_sha256(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("pretrained weights: cannot read the cached file " + file.string());
  Sha256 hash;
  std::vector<char> chunk(1 << 20);  // 1 MB at a time: the file (87 MB) is never all in memory
  while (in.read(chunk.data(), std::streamsize(chunk.size())) || in.gcount() > 0)
    hash.update(std::string_view(chunk.data(), size_t(in.gcount())));
  if (in.bad()) throw Error("pretrained weights: cannot read the cached file " + file.string());
  return hash.hex_digest();
}

// "" when the cached file is the verified download, else why it cannot be used.
std::string cache_problem(const fs::path& file, const fs::path& record, const std::string& pinned,
                          const std::string& pinned_source) {
  const std::string recorded = recorded_sha256(record);
  if (recorded.empty())
    return "the cached file " + file.string() + " has no readable digest record " + record.filename().string() +
           " (an interrupted download?)";
  const std::string actual = file_sha256(file);
  if (actual != recorded)
    return "the cached file " + file.string() + " is corrupted: its SHA-256 is " + actual + ", but " +
           record.filename().string() + " says " + recorded;
  if (!pinned.empty() && actual != pinned)
    return "the cached file " + file.string() + " has SHA-256 " + actual + ", not " + pinned + " (" + pinned_source +
           ")";
  return "";
}

// Checks 1-4 of pretrained.h on a finished download (still at its temporary path); throws on the
// first failure, naming it and both values.
void check_download(const PretrainedModel& model, const DownloadedFile& download, const std::string& temporary_path,
                    const std::string& pinned, const std::string& pinned_source, const std::string& url) {
  const std::string where = "pretrained weights: the download of " + url + " ";
  const std::string linked_size = download.header("x-linked-size");
  if (!linked_size.empty() && linked_size != std::to_string(download.bytes))
    throw PretrainedWeightsError(
        where + "has " + std::to_string(download.bytes) + " bytes, but the server's X-Linked-Size says " + linked_size,
        WeightsProblem::failed_check);
  std::string header_name;
  const std::string stated = server_sha256(download, header_name);
  if (!stated.empty() && stated != download.sha256)
    throw PretrainedWeightsError(
        where + "has SHA-256 " + download.sha256 + ", but the server's " + header_name + " says " + stated,
        WeightsProblem::failed_check);
  if (!pinned.empty() && pinned != download.sha256)
    throw PretrainedWeightsError(
        where + "has SHA-256 " + download.sha256 + ", not " + pinned + " (" + pinned_source + ")",
        WeightsProblem::failed_check);
  if (model.check) {
    try {
      model.check(temporary_path);
    } catch (const Error& e) {
      throw PretrainedWeightsError(where + "is not " + model.id + "'s weights: " + e.what(),
                                   WeightsProblem::failed_check);
    }
  }
}

}  // namespace

void check_resnet34_weights(const std::string& file) {
  auto model = nn::resnet34();  // the 1000-class fc: ImageNet weights load whole
  nn::load_torchvision_weights(*model, file);
}

HttpOptions weights_http_options() {
  HttpOptions options;
  options.timeout_seconds = 0;
  options.connect_timeout_seconds = 15;
  options.stall_seconds = 30;
  options.max_bytes = size_t(4) << 30;
  return options;
}

PretrainedModel resnet34_tv_in1k() {
  return {"resnet34.tv_in1k", "timm/resnet34.tv_in1k/resolve/main/model.safetensors", kResnet34Sha256,
          "EMBER_RESNET34_SHA256", check_resnet34_weights};
}

std::string pretrained_weights_path(const PretrainedModel& model, const PretrainedOptions& options) {
  const auto log = [&](const std::string& line) {
    if (options.log)
      options.log(line);
    else
      std::cerr << line << "\n";
  };
  std::string base = options.base_url;
  if (const char* env = std::getenv("EMBER_WEIGHTS_URL"); base.empty() && env && *env) base = env;
  if (base.empty()) base = kHuggingFace;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string url = base + "/" + model.path;
  const fs::path dir =
      options.cache_dir.empty() ? fs::path(default_cache_dir()) / "weights" : fs::path(options.cache_dir);
  const fs::path file = dir / (model.id + ".safetensors");
  const fs::path record = dir / (model.id + ".safetensors.sha256");
  std::string pinned_source;
  const std::string pinned = pinned_sha256(model, options, pinned_source);

  std::error_code ec;
  if (fs::exists(file, ec)) {
    const std::string problem = cache_problem(file, record, pinned, pinned_source);
    if (problem.empty()) return file.string();
    log("pretrained weights: " + problem + "; deleting it and downloading again");
    fs::remove(file, ec);
  }
  fs::remove(record, ec);  // a record without its file (a failed rename) is stale
  fs::create_directories(dir, ec);
  if (ec) throw Error("pretrained weights: cannot create the cache folder " + dir.string() + ": " + ec.message());

  log("pretrained weights: downloading " + url + " to " + file.string());
  try {
    http_download_to_file(url, file.string(), options.http, options.progress,
                          [&](const DownloadedFile& download, const std::string& temporary_path) {
                            check_download(model, download, temporary_path, pinned, pinned_source, url);
                            // The record first: a record without its file is dropped above.
                            write_file_atomically(record.string(),
                                                  download.sha256 + "  " + file.filename().string() + "\n",
                                                  "pretrained weights");
                          });
  } catch (const HttpError& e) {
    fs::remove(record, ec);
    const bool offline = e.failure == HttpFailure::could_not_resolve || e.failure == HttpFailure::could_not_connect;
    throw PretrainedWeightsError(
        "pretrained weights: cannot download " + url + ": " + e.reason + ". " + options.offline_hint,
        offline ? WeightsProblem::offline : WeightsProblem::not_fetched);
  } catch (...) {
    fs::remove(record, ec);
    throw;
  }
  return file.string();
}

std::string pretrained_resnet34_path(const PretrainedOptions& options) {
  return pretrained_weights_path(resnet34_tv_in1k(), options);
}

}  // namespace ember::vision
