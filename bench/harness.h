// The benchmark harness: how a case is described, timed and reported.
//
// A case is a name, a `make` function that allocates its inputs and returns one "repeat" (the
// unit of work that is timed), and the amount of work one repeat does (FLOPs, bytes or ops), from
// which the metric is derived. Timing policy, shared with bench/torch_bench.py:
//   1. make() the case (inputs are allocated only for the cases that pass --filter);
//   2. untimed warm-up repeats for at least kWarmupSeconds (at least one): first touch of memory,
//      thread pools, caches, and time for idle threads of the previous case to stop spinning
//      (OpenBLAS's spin for up to ~0.1 s and would steal the cores from the next case);
//   3. R timed repeats, each timed alone with std::chrono::steady_clock. R is --repeat if given,
//      otherwise enough for about kTargetSeconds in total: ceil(kTargetSeconds / time of one
//      warm-up repeat), clamped to [kMinRepeats, kMaxRepeats];
//   4. report median, min and max over the R repeats; the metric uses the median.
// A GPU case's repeat ends by waiting for the GPU (cuda::synchronize()), so its time covers the GPU's
// work and not just the launches. A case may also name counters (the CUDA allocator's cudaMalloc
// calls): they are read before and after the timed repeats and the result reports their increase.
// A JSON line also carries the case's work per repeat ("work": FLOPs, bytes, ops or steps), so
// torch_bench.py can check the counts against its own.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bench {

constexpr double kWarmupSeconds = 0.2;
constexpr double kTargetSeconds = 1.0;
constexpr int kMinRepeats = 3;
constexpr int kMaxRepeats = 5000;

// What one repeat does, and so which metric a case reports.
enum class Unit {
  GflopPerSecond,  // amount = floating-point operations per repeat
  GBPerSecond,     // amount = bytes moved per repeat
  NsPerOp,         // amount = ops per repeat
  NsPerStep,       // amount = steps per repeat
  ItemsPerSecond,  // amount = items (images) per repeat
};

struct Work {
  Unit unit;
  double amount;
};

// A running count kept by the program (e.g. cudaMalloc calls so far), read by Case::counters.
struct Counter {
  std::string name;  // plain ASCII without quotes: it becomes a JSON key
  double value;
};

struct Case {
  std::string name;
  std::function<std::function<void()>()> make;  // allocates inputs, returns one repeat
  Work work;
  std::optional<Work> extra;                       // a second metric of the same timing (ns/op of a training step)
  std::string route;                               // GEMM route for gemm cases, empty otherwise
  bool default_route = false;                      // whether `route` is the one Ember uses by default
  std::function<std::vector<Counter>()> counters;  // optional: read before and after the timed repeats
};

struct Result {
  std::string name;
  std::vector<double> seconds;  // one entry per timed repeat, sorted
  double median_s = 0, min_s = 0, max_s = 0;
  std::vector<Counter> counter_increase;  // each counter's growth during the timed repeats
  double peak_rss_mib = 0;                // the process's peak resident memory after the case (--peak-rss); 0: not read
};

inline const char* unit_name(Unit unit) {
  switch (unit) {
  case Unit::GflopPerSecond: return "GFLOP/s";
  case Unit::GBPerSecond: return "GB/s";
  case Unit::NsPerOp: return "ns/op";
  case Unit::NsPerStep: return "ns/step";
  case Unit::ItemsPerSecond: return "images/s";
  }
  return "?";
}

// The metric for `seconds` per repeat: a rate (higher is better) or a time per item (lower is better).
inline double metric(const Work& work, double seconds) {
  switch (work.unit) {
  case Unit::GflopPerSecond:
  case Unit::GBPerSecond: return work.amount / seconds / 1e9;
  case Unit::ItemsPerSecond: return work.amount / seconds;
  case Unit::NsPerOp:
  case Unit::NsPerStep: return seconds * 1e9 / work.amount;
  }
  return 0;
}

inline double seconds_of(const std::function<void()>& repeat) {
  auto start = std::chrono::steady_clock::now();
  repeat();
  auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(stop - start).count();
}

inline int default_repeats(double repeat_seconds) {
  double wanted = std::ceil(kTargetSeconds / std::max(repeat_seconds, 1e-9));
  return static_cast<int>(std::clamp<double>(wanted, kMinRepeats, kMaxRepeats));
}

inline double median_of_sorted(const std::vector<double>& v) {
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Repeats for at least kWarmupSeconds; returns the average time of one repeat.
inline double warm_up(const std::function<void()>& repeat) {
  double total = 0;
  int count = 0;
  do {
    total += seconds_of(repeat);
    ++count;
  } while (total < kWarmupSeconds);
  return total / count;
}

// Runs one case by the policy above; `repeats` <= 0 means "choose from the warm-up".
inline Result run_case(const Case& c, int repeats) {
  std::function<void()> repeat = c.make();
  double one_repeat = warm_up(repeat);
  int r = repeats > 0 ? repeats : default_repeats(one_repeat);
  Result result;
  result.name = c.name;
  std::vector<Counter> before = c.counters ? c.counters() : std::vector<Counter>{};
  for (int i = 0; i < r; ++i) result.seconds.push_back(seconds_of(repeat));
  std::vector<Counter> after = c.counters ? c.counters() : std::vector<Counter>{};
  for (size_t i = 0; i < after.size() && i < before.size(); ++i)
    result.counter_increase.push_back({after[i].name, after[i].value - before[i].value});
  std::sort(result.seconds.begin(), result.seconds.end());
  result.median_s = median_of_sorted(result.seconds);
  result.min_s = result.seconds.front();
  result.max_s = result.seconds.back();
  return result;
}

// ---- output ----------------------------------------------------------------------------------

// A time with a readable unit: "1.234 s", "12.35 ms", "850.1 us".
inline std::string format_time(double seconds) {
  char text[32];
  if (seconds >= 1)
    std::snprintf(text, sizeof text, "%.3f s", seconds);
  else if (seconds >= 1e-3)
    std::snprintf(text, sizeof text, "%.3f ms", seconds * 1e3);
  else
    std::snprintf(text, sizeof text, "%.1f us", seconds * 1e6);
  return text;
}

inline std::string format_metric(const Work& work, double seconds) {
  char text[48];
  std::snprintf(text, sizeof text, "%.2f %s", metric(work, seconds), unit_name(work.unit));
  return text;
}

inline void print_table_header() {
  std::printf("%-28s %12s %12s %12s  %s\n", "case", "median", "min", "max", "metric (at the median)");
}

inline void print_table_row(const Case& c, const Result& r) {
  std::string metrics = format_metric(c.work, r.median_s);
  if (c.extra) metrics += ", " + format_metric(*c.extra, r.median_s);
  for (const Counter& counter : r.counter_increase) {
    char text[96];
    std::snprintf(text, sizeof text, ", %s +%.0f", counter.name.c_str(), counter.value);
    metrics += text;
  }
  if (r.peak_rss_mib > 0) {
    char text[48];
    std::snprintf(text, sizeof text, ", peak RSS %.0f MiB", r.peak_rss_mib);
    metrics += text;
  }
  std::printf("%-28s %12s %12s %12s  %s\n", c.name.c_str(), format_time(r.median_s).c_str(),
              format_time(r.min_s).c_str(), format_time(r.max_s).c_str(), metrics.c_str());
  std::fflush(stdout);
}

// One JSON object per line. Case names and units are plain ASCII without quotes or backslashes,
// so they need no escaping.
inline void print_json_line(const Case& c, const Result& r, int threads) {
  std::printf(
      "{\"case\": \"%s\", \"median_s\": %.9g, \"min_s\": %.9g, \"max_s\": %.9g, \"metric\": %.6g, "
      "\"unit\": \"%s\", \"work\": %.17g, \"repeats\": %zu, \"threads\": %d",
      c.name.c_str(), r.median_s, r.min_s, r.max_s, metric(c.work, r.median_s), unit_name(c.work.unit), c.work.amount,
      r.seconds.size(), threads);
  if (c.extra)
    std::printf(", \"extra_metric\": %.6g, \"extra_unit\": \"%s\"", metric(*c.extra, r.median_s),
                unit_name(c.extra->unit));
  if (!c.route.empty())
    std::printf(", \"route\": \"%s\", \"default_route\": %s", c.route.c_str(), c.default_route ? "true" : "false");
  if (!r.counter_increase.empty()) {
    std::printf(", \"counters\": {");
    for (size_t i = 0; i < r.counter_increase.size(); ++i)
      std::printf("%s\"%s\": %.0f", i ? ", " : "", r.counter_increase[i].name.c_str(), r.counter_increase[i].value);
    std::printf("}");
  }
  if (r.peak_rss_mib > 0) std::printf(", \"peak_rss_mib\": %.1f", r.peak_rss_mib);
  std::printf("}\n");
  std::fflush(stdout);
}

// A case that failed (threw): one line with the error, so the other cases still run and report.
inline std::string json_escaped(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';  // newlines, tabs: a space is enough here
    out += ch;
  }
  return out;
}

inline void print_json_error(const Case& c, const std::string& message) {
  std::printf("{\"case\": \"%s\", \"error\": \"%s\"}\n", c.name.c_str(), json_escaped(message).c_str());
  std::fflush(stdout);
}

}  // namespace bench
