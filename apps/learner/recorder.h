// What fastai's Recorder and progress callback show while a Learner trains: the smoothed training
// loss, and the table printed after each epoch.
//
//   app::AvgSmoothLoss smooth;          // reset once per fit, not per epoch
//   smooth.accumulate(2.0);             // after each training batch
//   smooth.value();                     // the debiased moving average
//
//   app::EpochTable table(std::cout);   // the header once, then one line per epoch:
//   table.write({.epoch = 0, .train_loss = 0.5, .valid_loss = 0.4, .accuracy = 0.9, .seconds = 72});
//   // epoch     train_loss  valid_loss  accuracy  time
//   // 0         0.500000    0.400000    0.900000  01:12
//
// AvgSmoothLoss (fastai/learner.py) is an exponential moving average with beta = 0.98 that starts
// at 0, so its first values are pulled towards 0; dividing by 1 - beta^count removes that bias:
//   val_n   = beta * val_{n-1} + (1 - beta) * loss_n,    val_0 = 0
//   value_n = val_n / (1 - beta^n)   = sum_i beta^(n-i) (1 - beta) loss_i / sum_i beta^(n-i) (1 - beta)
// i.e. a weighted mean of the losses so far whose weights fall by 2% per batch back in time.
// (fastai keeps val as a float32 tensor and updates it with torch.lerp; here it is a double, so the
// printed numbers agree to float32's precision, not bit for bit.)
//
// The table is fastprogress's console table (fastprogress.py ConsoleMasterBar.write): each column
// name is padded to at least 8 characters and the names are joined by two spaces; each value is
// padded to its column's width plus two. Floats are printed with 6 decimals (fastai's
// `f'{x:.6f}'`), the epoch as an integer counted from 0, the time as mm:ss (h:mm:ss past an hour).
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace ember::app {

// One line of the table (also what Learner::fit_one_cycle returns, one per epoch).
struct EpochRow {
  int64_t epoch = 0;      // counted from 0 within its fit, as fastai prints it
  double train_loss = 0;  // AvgSmoothLoss after the epoch's last batch
  double valid_loss = 0;  // batch-size-weighted mean of the batches' mean losses
  double accuracy = 0;    // batch-size-weighted mean of the batches' accuracies
  double seconds = 0;     // wall time of the epoch: training and validation
};

class AvgSmoothLoss {
 public:
  explicit AvgSmoothLoss(double beta = 0.98) : beta_(beta) {}
  void reset() { count_ = 0, val_ = 0; }
  void accumulate(double loss);
  double value() const;  // NaN before the first loss (fastai: 0/0)
  // The raw state, for checkpoints: val (not debiased) and count.
  double raw_value() const { return val_; }
  int64_t count() const { return count_; }
  void restore(double raw_value, int64_t count) { val_ = raw_value, count_ = count; }

 private:
  double beta_;
  double val_ = 0;
  int64_t count_ = 0;
};

// fastai's format_time: "mm:ss", or "h:mm:ss" from one hour on (seconds truncated).
std::string format_time(double seconds);

// The columns fastai's vision learner prints with metrics=accuracy.
inline const std::vector<std::string>& epoch_table_columns() {
  static const std::vector<std::string> columns{"epoch", "train_loss", "valid_loss", "accuracy", "time"};
  return columns;
}
// The row's cells as fastai formats them: {"0", "0.500000", "0.400000", "0.900000", "01:12"}.
std::vector<std::string> format_row(const EpochRow& row);

// Writes the console table: the header before the first row, then one line per row.
class EpochTable {
 public:
  explicit EpochTable(std::ostream& out) : out_(out) {}
  void write(const EpochRow& row);
  void write_header();  // done by the first write(); call it to print the header alone

 private:
  std::ostream& out_;
  std::vector<std::string> names_;  // the padded column names, once the header is out
};

}  // namespace ember::app
