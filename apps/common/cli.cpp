// See cli.h.
#include "apps/common/cli.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "tensor/error.h"

namespace ember::app {

namespace {

// A value that does not parse completely ("12x", "", "1e999") is an error naming the flag.
template <typename T>
T parse_number(const std::string& flag, const std::string& text, const char* expected) {
  std::istringstream in(text);
  T value{};
  in >> value;
  if (text.empty() || in.fail() || !in.eof()) throw Error(flag + " expects " + expected + ", got '" + text + "'");
  return value;
}

template <typename T>
std::string to_text(T value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

Cli::Cli(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {}

void Cli::add(Option option) { options_.push_back(std::move(option)); }

void Cli::option(const std::string& name, std::string* target, const std::string& help) {
  add({name, help, *target, true, [target](const std::string& v) { *target = v; }});
}

void Cli::option(const std::string& name, int64_t* target, const std::string& help, int64_t min) {
  add({name, help, to_text(*target), true, [=](const std::string& v) {
         const auto value = parse_number<int64_t>(name, v, "an integer");
         if (value < min) throw Error(name + " must be at least " + std::to_string(min) + ", got " + v);
         *target = value;
       }});
}

void Cli::option(const std::string& name, uint64_t* target, const std::string& help) {
  add({name, help, to_text(*target), true, [=](const std::string& v) {
         if (!v.empty() && v[0] == '-') throw Error(name + " expects a non-negative integer, got '" + v + "'");
         *target = parse_number<uint64_t>(name, v, "a non-negative integer");
       }});
}

void Cli::option(const std::string& name, double* target, const std::string& help) {
  add({name, help, to_text(*target), true,
       [=](const std::string& v) { *target = parse_number<double>(name, v, "a number"); }});
}

void Cli::positive(const std::string& name, double* target, const std::string& help) {
  add({name, help, to_text(*target), true, [=](const std::string& v) {
         const auto value = parse_number<double>(name, v, "a positive number");
         if (!(value > 0) || !std::isfinite(value)) throw Error(name + " must be a positive number, got " + v);
         *target = value;
       }});
}

void Cli::flag(const std::string& name, bool* target, const std::string& help) {
  add({name, help, "", false, [target](const std::string&) { *target = true; }});
}

void Cli::repeated(const std::string& name, std::vector<std::string>* target, const std::string& help) {
  add({name, help + " (may be given more than once)", "", true,
       [target](const std::string& v) { target->push_back(v); }});
}

CommonOptions& Cli::add_common(const std::string& default_out) {
  common_.out = default_out;
  option("--seed", &common_.seed, "random seed (data and initial weights)");
  option("--out", &common_.out, "output folder: report.html, results.json and the figures");
  add({"--device", "cpu or cuda[:N]", common_.device, true, [this](const std::string& v) {
         parse_device(v);  // throws "unknown device ..." for anything else
         common_.device = v;
       }});
  return common_;
}

void Cli::positional(const std::string& name, std::vector<std::string>* target, const std::string& help,
                     size_t min_count) {
  positional_name_ = name;
  positional_help_ = help;
  positional_ = target;
  positional_min_ = min_count;
}

void Cli::print_help() const {
  std::printf("usage: %s [options]%s\n%s\n\n", program_.c_str(),
              positional_ ? (" " + positional_name_ + "...").c_str() : "", description_.c_str());
  if (positional_) std::printf("  %-22s %s\n\n", positional_name_.c_str(), positional_help_.c_str());
  std::printf("options:\n");
  for (const auto& o : options_) {
    std::string left = o.name + (o.takes_value ? " VALUE" : "");
    std::string right = o.help + (o.default_text.empty() ? "" : " (default: " + o.default_text + ")");
    std::printf("  %-22s %s\n", left.c_str(), right.c_str());
  }
  std::printf("  %-22s %s\n", "--help", "show this help and exit");
}

bool Cli::parse(int argc, char** argv) {
  try {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i], value;
      bool has_inline_value = false;
      if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {  // --epochs=5
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_inline_value = true;
      }
      if (arg == "--help" || arg == "-h") {
        print_help();
        exit_code_ = 0;
        return false;
      }
      if (positional_ && (arg.empty() || arg[0] != '-' || arg == "-")) {
        positional_->push_back(arg);
        continue;
      }
      const Option* found = nullptr;
      for (const auto& o : options_)
        if (o.name == arg) found = &o;
      if (!found) throw Error("unknown flag '" + arg + "'");
      if (found->takes_value && !has_inline_value) {
        if (i + 1 >= argc) throw Error(arg + " needs a value");
        value = argv[++i];
      }
      if (!found->takes_value && has_inline_value) throw Error(arg + " takes no value");
      found->set(value);
    }
    if (positional_ && positional_->size() < positional_min_)
      throw Error("expected at least " + std::to_string(positional_min_) + " " + positional_name_ + " argument" +
                  (positional_min_ == 1 ? "" : "s"));
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", program_.c_str(), e.what());
    exit_code_ = 2;
    return false;
  }
  return true;
}

}  // namespace ember::app
