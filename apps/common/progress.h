// A progress bar with an ETA, as fastai's progress bars: on a terminal it redraws one line
//   training  [##########----------]  1000/2000  loss 0.0213  0.4s, eta 0.4s
// and when stderr is a file or pipe it prints only the final line (no control characters in logs).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace ember::app {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total);
  // Call after each step; the line is redrawn at most ~20 times a second.
  void update(int64_t done, const std::string& status = "");
  // For work that reports (done, total) through a callback, so that the total is known only then:
  // the first call sets the total and starts the clock.
  void update(int64_t done, int64_t total, const std::string& status = "");
  bool started() const { return started_; }  // update() was called
  void finish(const std::string& status = "");
  double elapsed_seconds() const;

 private:
  void draw(int64_t done, const std::string& status, bool final);
  std::string label_;
  int64_t total_;
  bool terminal_;
  bool started_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// Runs work(on_progress) under a bar named `label` that learns its total from the first
// on_progress(done, total) call, finishes the bar if anything was drawn, and returns what work
// returned:
//   auto counts = with_progress("export", [&](const ProgressCallback& p) { return export_shapes(o, p); });
using ProgressCallback = std::function<void(int64_t done, int64_t total)>;
template <typename Work>
auto with_progress(const std::string& label, Work&& work) {
  ProgressBar bar(label, 0);
  const ProgressCallback on_progress = [&bar](int64_t done, int64_t total) { bar.update(done, total); };
  auto result = work(on_progress);
  if (bar.started()) bar.finish();
  return result;
}

}  // namespace ember::app
