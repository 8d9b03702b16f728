// results.json: the numbers an app printed, for scripts and tests. A small ordered JSON builder:
//
//   app::JsonObject results;
//   results.set("seed", 43052).set("model1", app::JsonObject().set("b0", 3.2).set("b1", 6.29));
//   results.save("out/ex2/results.json");      // atomic: temp file + rename
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace ember::app {

class JsonObject {
 public:
  JsonObject& set(const std::string& key, double value);
  JsonObject& set(const std::string& key, int value) { return set(key, static_cast<int64_t>(value)); }
  JsonObject& set(const std::string& key, int64_t value);
  JsonObject& set(const std::string& key, uint64_t value) { return set(key, static_cast<int64_t>(value)); }
  JsonObject& set(const std::string& key, bool value);
  JsonObject& set(const std::string& key, const std::string& value);
  JsonObject& set(const std::string& key, const char* value) { return set(key, std::string(value)); }
  JsonObject& set(const std::string& key, const std::vector<double>& values);
  JsonObject& set(const std::string& key, const std::vector<std::string>& values);
  JsonObject& set(const std::string& key, const std::vector<std::vector<int64_t>>& matrix);
  JsonObject& set(const std::string& key, const JsonObject& object);
  JsonObject& set(const std::string& key, const std::vector<JsonObject>& objects);

  std::string str() const;  // pretty-printed (2 spaces per level), keys in insertion order
  void save(const std::string& path) const;

 private:
  JsonObject& set_raw(const std::string& key, std::string json);
  std::vector<std::pair<std::string, std::string>> members_;  // key -> already-encoded JSON
};

std::string json_number(double value);  // shortest exact form; NaN and infinities become null

}  // namespace ember::app
