// See recorder.h.
#include "apps/learner/recorder.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace ember::app {

void AvgSmoothLoss::accumulate(double loss) {
  ++count_;
  val_ = beta_ * val_ + (1 - beta_) * loss;
}

double AvgSmoothLoss::value() const {
  if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
  return val_ / (1 - std::pow(beta_, static_cast<double>(count_)));
}

std::string format_time(double seconds) {
  const int64_t t = seconds > 0 ? static_cast<int64_t>(seconds) : 0;
  const int64_t h = t / 3600, m = (t / 60) % 60, s = t % 60;
  char text[48];
  if (h != 0)
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", static_cast<long long>(h), static_cast<long long>(m),
                  static_cast<long long>(s));
  else
    std::snprintf(text, sizeof text, "%02lld:%02lld", static_cast<long long>(m), static_cast<long long>(s));
  return text;
}

std::vector<std::string> format_row(const EpochRow& row) {
  auto fixed6 = [](double value) {
    char text[64];
    std::snprintf(text, sizeof text, "%.6f", value);  // Python prints nan/inf as "nan"/"inf" too
    return std::string(text);
  };
  return {std::to_string(row.epoch), fixed6(row.train_loss), fixed6(row.valid_loss), fixed6(row.accuracy),
          format_time(row.seconds)};
}

void EpochTable::write_header() {
  if (!names_.empty()) return;
  std::string line;
  for (const std::string& name : epoch_table_columns()) {
    std::string padded = name.size() < 8 ? name + std::string(8 - name.size(), ' ') : name;
    line += (line.empty() ? "" : "  ") + padded;
    names_.push_back(padded);
  }
  out_ << line << "\n" << std::flush;
}

void EpochTable::write(const EpochRow& row) {
  write_header();
  std::string line;
  const std::vector<std::string> cells = format_row(row);
  for (size_t i = 0; i < cells.size(); ++i) {
    // t + ' ' * (2 + len(name) - len(t)); Python repeats a string 0 times for a negative count.
    const int64_t pad = 2 + int64_t(names_[i].size()) - int64_t(cells[i].size());
    line += cells[i] + std::string(pad > 0 ? size_t(pad) : 0, ' ');
  }
  out_ << line << "\n" << std::flush;
}

}  // namespace ember::app
