// Pretrained ImageNet weights for exercise 1's `--pretrained`: torchvision's ResNet34
// (IMAGENET1K_V1, what fastai's `vision_learner(dls, resnet34)` loads) as the safetensors copy that
// Hugging Face hosts as timm/resnet34.tv_in1k, with torchvision's key names. Downloaded once into
// the cache (default_cache_dir()/weights), checked, and then reused without touching the network.
//
//   vision::PretrainedOptions options;
//   options.progress = [&](int64_t done, int64_t total) { bar.update(done, total); };
//   try {
//     std::string path = vision::pretrained_resnet34_path(options);  // the cached file
//     nn::load_torchvision_weights(*model, path);
//   } catch (const vision::PretrainedWeightsError& e) {
//     if (e.problem == vision::WeightsProblem::failed_check || !allow_random_init) throw;
//     std::cerr << e.what() << "\n";  // one line: "... cannot download <url>: could not resolve ..."
//   }
//
// A download is checked before it goes into the cache; any failure leaves nothing behind:
//  1. its size equals the answer's Content-Length (and Hugging Face's X-Linked-Size when given);
//  2. its SHA-256 equals the server's: Hugging Face answers a file kept in Git LFS with
//     `X-Linked-Etag: "<sha256 hex>"` (huggingface_hub reads X-Linked-Etag, else ETag); an ETag
//     that is not 64 hex digits is some other tag (a git blob id, a CDN's) and is not compared;
//  3. its SHA-256 equals the pinned digest when one is set (PretrainedModel::sha256,
//     $EMBER_RESNET34_SHA256, or PretrainedOptions::sha256);
//  4. it is the model's weights: for ResNet34, it parses as safetensors and loads into
//     nn::resnet34() with every key and shape (nn::load_torchvision_weights).
// Its digest is then written beside it as "<file>.sha256" (sha256sum's format, so
// `sha256sum -c resnet34.tv_in1k.safetensors.sha256` works in the cache folder). On reuse the
// cached file is hashed again and compared with that record: a file that differs (or has no
// record) is deleted, with a message, and downloaded again.
//
// The server: https://huggingface.co, or $EMBER_WEIGHTS_URL / PretrainedOptions::base_url, under
// which the file is looked for at Hugging Face's path. A local copy served with
//   mkdir -p www/timm/resnet34.tv_in1k/resolve/main
//   cp model.safetensors www/timm/resnet34.tv_in1k/resolve/main/
//   python3 -m http.server -d www 8000
// is used with EMBER_WEIGHTS_URL=http://127.0.0.1:8000.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "tensor/error.h"
#include "vision/http.h"

namespace ember::vision {

// Which weights, where on the server, and how to tell they are the right ones.
struct PretrainedModel {
  std::string id;          // "resnet34.tv_in1k": the cached file's name and the messages'
  std::string path;        // after the base URL: "timm/resnet34.tv_in1k/resolve/main/model.safetensors"
  std::string sha256;      // the published digest (64 hex digits), "" while not known
  std::string sha256_env;  // an environment variable that pins the digest instead: "EMBER_RESNET34_SHA256"
  std::function<void(const std::string& file)> check;  // throws when the file is not this model's weights
};

// torchvision's ResNet34 ImageNet weights (timm/resnet34.tv_in1k, 87.3 MB).
PretrainedModel resnet34_tv_in1k();

// Throws when `file` does not load into nn::resnet34() (a missing, extra or mis-shaped key, or not
// safetensors at all); the error names the file and the keys.
void check_resnet34_weights(const std::string& file);

// Downloads of weights can take minutes: no limit on the whole transfer, but a stall of 30 s ends
// it; at most 4 GB.
HttpOptions weights_http_options();

struct PretrainedOptions {
  std::string base_url;   // "": $EMBER_WEIGHTS_URL, else https://huggingface.co
  std::string cache_dir;  // "": default_cache_dir() + "/weights"
  std::string sha256;     // "": $<model.sha256_env>, else model.sha256; otherwise pins the digest
  HttpOptions http = weights_http_options();
  DownloadProgress progress;                    // the app draws its progress bar with this
  std::function<void(const std::string&)> log;  // one line per event; null: standard error
  // Ends the message when the file could not be fetched (offline, not_fetched below).
  std::string offline_hint = "Use --weights FILE for a local copy, or --allow-random-init to train from scratch";
};

enum class WeightsProblem {
  offline,       // no connection at all: the host name did not resolve, or nothing answered
  not_fetched,   // the server answered, but not with the file: HTTP 404, a stall, a short body
  failed_check,  // the bytes came but failed a check (digest, size, not the model's weights)
};

// Why the weights could not be had, in one line that names what failed (and both values for a
// mismatch). For offline and not_fetched it ends with options.offline_hint; the app may then go
// on without pretrained weights when the user allowed it.
struct PretrainedWeightsError : Error {
  PretrainedWeightsError(const std::string& message, WeightsProblem problem) : Error(message), problem(problem) {}
  bool offline() const { return problem == WeightsProblem::offline; }
  WeightsProblem problem;
};

// The path of the verified cached file, downloading and checking it first when needed.
std::string pretrained_weights_path(const PretrainedModel& model, const PretrainedOptions& options = {});
std::string pretrained_resnet34_path(const PretrainedOptions& options = {});

}  // namespace ember::vision
