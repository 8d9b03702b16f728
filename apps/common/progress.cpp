// See progress.h.
#include "apps/common/progress.h"

#include <unistd.h>

#include <cstdio>

namespace ember::app {

ProgressBar::ProgressBar(std::string label, int64_t total)
    : label_(std::move(label)), total_(total > 0 ? total : 1), terminal_(::isatty(STDERR_FILENO) == 1) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::update(int64_t done, int64_t total, const std::string& status) {
  if (!started_) {
    total_ = total > 0 ? total : 1;
    start_ = last_draw_ = std::chrono::steady_clock::now();
  }
  update(done, status);
}

void ProgressBar::update(int64_t done, const std::string& status) {
  started_ = true;
  if (!terminal_) return;
  auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_draw_ < std::chrono::milliseconds(50)) return;
  last_draw_ = now;
  draw(done, status, false);
}

void ProgressBar::finish(const std::string& status) { draw(total_, status, true); }

void ProgressBar::draw(int64_t done, const std::string& status, bool final) {
  constexpr int kWidth = 24;
  const double fraction = static_cast<double>(done) / total_;
  const int filled = static_cast<int>(fraction * kWidth);
  const double elapsed = elapsed_seconds();
  const double eta = done > 0 ? elapsed * (total_ - done) / done : 0;
  std::string bar(filled, '#');
  bar += std::string(kWidth - filled, '-');
  std::fprintf(stderr, "%s%-10s [%s] %lld/%lld  %s  %.2fs%s%s", terminal_ ? "\r\033[K" : "", label_.c_str(),
               bar.c_str(), static_cast<long long>(done), static_cast<long long>(total_), status.c_str(), elapsed,
               final ? "" : (", eta " + std::to_string(static_cast<int>(eta + 0.5)) + "s").c_str(), final ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace ember::app
