// See results.h.
#include "apps/common/results.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "tensor/io/file.h"
#include "tensor/io/json.h"

namespace ember::app {

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  char text[32];
  for (int precision = 6; precision <= 17; ++precision) {  // the shortest form that reads back exactly
    std::snprintf(text, sizeof text, "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

JsonObject& JsonObject::set_raw(const std::string& key, std::string json) {
  for (auto& [k, v] : members_)
    if (k == key) {
      v = std::move(json);
      return *this;
    }
  members_.emplace_back(key, std::move(json));
  return *this;
}

JsonObject& JsonObject::set(const std::string& key, double value) { return set_raw(key, json_number(value)); }
JsonObject& JsonObject::set(const std::string& key, int64_t value) { return set_raw(key, std::to_string(value)); }
JsonObject& JsonObject::set(const std::string& key, bool value) { return set_raw(key, value ? "true" : "false"); }
JsonObject& JsonObject::set(const std::string& key, const std::string& value) {
  return set_raw(key, json::quote(value));
}

JsonObject& JsonObject::set(const std::string& key, const std::vector<double>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += json_number(values[i]);
  }
  return set_raw(key, out + "]");
}

JsonObject& JsonObject::set(const std::string& key, const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += json::quote(values[i]);
  }
  return set_raw(key, out + "]");
}

JsonObject& JsonObject::set(const std::string& key, const std::vector<std::vector<int64_t>>& matrix) {
  std::string out = "[";
  for (size_t i = 0; i < matrix.size(); ++i) {
    out += i ? ", [" : "[";
    for (size_t j = 0; j < matrix[i].size(); ++j) {
      if (j) out += ", ";
      out += std::to_string(matrix[i][j]);
    }
    out += "]";
  }
  return set_raw(key, out + "]");
}

// A value's text may span lines (a nested object); str() indents its continuation lines. Nothing
// else contains a raw newline: json::quote escapes those inside strings.
static std::string indent_lines(const std::string& text, const std::string& pad) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad;
  }
  return out;
}

JsonObject& JsonObject::set(const std::string& key, const JsonObject& object) { return set_raw(key, object.str()); }

JsonObject& JsonObject::set(const std::string& key, const std::vector<JsonObject>& objects) {
  std::string out = "[";
  for (size_t i = 0; i < objects.size(); ++i) {
    out += i ? ",\n  " : "\n  ";
    out += indent_lines(objects[i].str(), "  ");
  }
  return set_raw(key, out + (objects.empty() ? "]" : "\n]"));
}

std::string JsonObject::str() const {
  std::string out = "{";
  for (size_t i = 0; i < members_.size(); ++i) {
    const auto& [key, value] = members_[i];
    out += i ? ",\n  " : "\n  ";
    out += json::quote(key) + ": " + indent_lines(value, "  ");
  }
  out += members_.empty() ? "}" : "\n}";
  return out;
}

void JsonObject::save(const std::string& path) const { write_file_atomically(path, str() + "\n", "results.json"); }

}  // namespace ember::app
