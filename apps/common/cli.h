// Command-line flags for the apps: each app declares its flags, parse() reads argv, and every
// mistake (unknown flag, missing or malformed value) becomes one clear line and exit status 2.
//
//   app::Cli cli("ember_ex2", "Exercise 2: an over-parameterised linear model.");
//   app::CommonOptions common = cli.add_common("out/ex2");     // --seed --out --device
//   int64_t epochs = 100;
//   cli.option("--epochs", &epochs, "training epochs per model");
//   if (!cli.parse(argc, argv)) return cli.exit_code();      // --help printed, or a usage error
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tensor/device.h"

namespace ember::app {

struct CommonOptions {
  uint64_t seed = 43052;
  std::string out;
  std::string device = "cpu";
  Device parsed_device() const { return parse_device(device); }
};

class Cli {
 public:
  Cli(std::string program, std::string description);

  void option(const std::string& name, std::string* target, const std::string& help);
  void option(const std::string& name, int64_t* target, const std::string& help, int64_t min = INT64_MIN);
  void option(const std::string& name, uint64_t* target, const std::string& help);
  void option(const std::string& name, double* target, const std::string& help);
  void positive(const std::string& name, double* target, const std::string& help);  // a finite number > 0
  void flag(const std::string& name, bool* target, const std::string& help);        // a switch without a value
  // A flag that may be given many times (--query a --query b): each value is appended to *target.
  void repeated(const std::string& name, std::vector<std::string>* target, const std::string& help);
  // Arguments that are not flags (file names), in order; `name` is how --help shows them. At least
  // `min_count` must be given. Without this call, a non-flag argument is a usage error.
  void positional(const std::string& name, std::vector<std::string>* target, const std::string& help,
                  size_t min_count = 1);
  // --seed, --out DIR, --device cpu|cuda[:N], which every app takes.
  CommonOptions& add_common(const std::string& default_out);

  // False when the program should stop now: after --help (exit 0) or a usage error, already
  // printed to stderr as "ember_ex2: unknown flag '--epoch' (see --help)" (exit 2).
  bool parse(int argc, char** argv);
  int exit_code() const { return exit_code_; }
  void print_help() const;
  const std::string& program() const { return program_; }

 private:
  struct Option {
    std::string name, help, default_text;
    bool takes_value = true;
    std::function<void(const std::string&)> set;
  };
  void add(Option option);
  std::string program_, description_;
  std::vector<Option> options_;
  std::string positional_name_, positional_help_;
  std::vector<std::string>* positional_ = nullptr;
  size_t positional_min_ = 0;
  CommonOptions common_;
  int exit_code_ = 0;
};

}  // namespace ember::app
