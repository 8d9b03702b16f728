// A progress bar with an ETA, as fastai's progress bars: on a terminal it redraws one line
//   training  [##########----------]  1000/2000  loss 0.0213  0.4s, eta 0.4s
// and when stderr is a file or pipe it prints only the final line (no control characters in logs).
#pragma once
#include <chrono>
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

}  // namespace ember::app
