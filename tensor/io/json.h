// A small JSON parser and string quoter (RFC 8259), written to read safetensors headers.
//
// JSON in one paragraph: a value is `null`, `true`, `false`, a number (`-12`, `3.5e-2`), a string in
// double quotes, an array `[v, v, ...]` or an object `{"key": v, ...}`. Whitespace (space, tab, CR,
// LF) may surround any token. Strings are UTF-8; inside them a backslash starts an escape:
// \" \\ \/ \b \f \n \r \t, or \uXXXX, a UTF-16 code unit in hex. A character beyond U+FFFF is written
// as two of those, a "surrogate pair" (\uD83D\uDE00 is U+1F600). Raw control characters (bytes below
// 0x20) are not allowed inside strings; numbers have no leading zeros, no '+', no NaN or Infinity.
//
// The parser is meant for files from anywhere: every problem is an ember::Error that says at which
// byte offset it is and what was expected there ("json: at byte 12: expected ',' or '}' after an
// object member, found 'x'"). Nesting is limited to kMaxDepth, so the recursive descent can never
// run out of stack, whatever the input.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ember::json {

constexpr int kMaxDepth = 64;  // arrays and objects nested deeper than this are an error

class Value {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  using Array = std::vector<Value>;
  using Member = std::pair<std::string, Value>;
  using Object = std::vector<Member>;  // in the order of the text; duplicate keys are kept as written

  Value() = default;  // null
  static Value from_bool(bool value);
  // A number; `integer` is its exact value when the text was an integer (no '.', no exponent)
  // that fits in int64, so that 9007199254740993 survives although a double cannot hold it.
  static Value from_number(double value, std::optional<int64_t> integer = std::nullopt);
  static Value from_string(std::string value);
  static Value from_array(Array value);
  static Value from_object(Object value);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_integer() const { return type_ == Type::Number && integer_.has_value(); }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  // Each accessor throws an ember::Error naming both types when the value holds another type.
  bool as_bool() const;
  double as_double() const;
  int64_t as_int() const;  // only for is_integer() numbers
  const std::string& as_string() const;
  const Array& as_array() const;
  const Object& as_object() const;

  // The first member of an object with this key, or nullptr (also when this is not an object).
  const Value* find(std::string_view key) const;

 private:
  Type type_ = Type::Null;
  bool bool_ = false;
  double number_ = 0;
  std::optional<int64_t> integer_;
  std::string string_;
  Array array_;
  Object object_;
};

// "null", "bool", "number", "string", "array", "object": for error messages.
const char* type_name(Value::Type type);

// Parses one JSON value that spans all of `text` (surrounding whitespace allowed).
Value parse(std::string_view text);

// `text` as a JSON string literal, quotes included: quote("a\"b\n") == "\"a\\\"b\\n\"".
// Control characters are escaped; other bytes are kept, so `text` must be valid UTF-8 (an
// ember::Error otherwise, since the result would not be valid JSON).
std::string quote(std::string_view text);

// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace ember::json
