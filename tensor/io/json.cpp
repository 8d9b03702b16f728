// The JSON parser: a recursive-descent parser over a string_view, one function per grammar rule
// (value, object, array, string, number, literal). See json.h for the format in short.
#include "tensor/io/json.h"

#include <charconv>
#include <cstdio>

#include "tensor/error.h"

namespace ember::json {

// ---- Value ---------------------------------------------------------------------------------------

Value Value::from_bool(bool value) {
  Value v;
  v.type_ = Type::Bool;
  v.bool_ = value;
  return v;
}

Value Value::from_number(double value, std::optional<int64_t> integer) {
  Value v;
  v.type_ = Type::Number;
  v.number_ = value;
  v.integer_ = integer;
  return v;
}

Value Value::from_string(std::string value) {
  Value v;
  v.type_ = Type::String;
  v.string_ = std::move(value);
  return v;
}

Value Value::from_array(Array value) {
  Value v;
  v.type_ = Type::Array;
  v.array_ = std::move(value);
  return v;
}

Value Value::from_object(Object value) {
  Value v;
  v.type_ = Type::Object;
  v.object_ = std::move(value);
  return v;
}

const char* type_name(Value::Type type) {
  switch (type) {
  case Value::Type::Null: return "null";
  case Value::Type::Bool: return "bool";
  case Value::Type::Number: return "number";
  case Value::Type::String: return "string";
  case Value::Type::Array: return "array";
  case Value::Type::Object: return "object";
  }
  return "?";
}

static void check_type(Value::Type actual, Value::Type expected) {
  EMBER_CHECK(actual == expected,
              std::string("json: expected a value of type ") + type_name(expected) + ", got " + type_name(actual));
}

bool Value::as_bool() const {
  check_type(type_, Type::Bool);
  return bool_;
}

double Value::as_double() const {
  check_type(type_, Type::Number);
  return number_;
}

int64_t Value::as_int() const {
  check_type(type_, Type::Number);
  EMBER_CHECK(integer_.has_value(), "json: expected an integer (no '.' or exponent, within int64), got the number " +
                                        std::to_string(number_));
  return *integer_;
}

const std::string& Value::as_string() const {
  check_type(type_, Type::String);
  return string_;
}

const Value::Array& Value::as_array() const {
  check_type(type_, Type::Array);
  return array_;
}

const Value::Object& Value::as_object() const {
  check_type(type_, Type::Object);
  return object_;
}

const Value* Value::find(std::string_view key) const {
  if (type_ != Type::Object) return nullptr;
  for (const Member& member : object_)
    if (member.first == key) return &member.second;
  return nullptr;
}

// ---- UTF-8 ---------------------------------------------------------------------------------------

// The length of the well-formed UTF-8 sequence that starts at text[pos], or 0 when it is malformed:
// a stray continuation byte, an overlong form, a UTF-16 surrogate, a code point past U+10FFFF, or a
// sequence cut off by the end of the text. (The table is RFC 3629's, section 4.)
static size_t utf8_sequence_length(std::string_view text, size_t pos) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range allowed for the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead == 0xE0) {
    length = 3, low = 0xA0;  // lower would be an overlong form
  } else if (lead == 0xED) {
    length = 3, high = 0x9F;  // higher would be a surrogate, U+D800..U+DFFF
  } else if (lead >= 0xE1 && lead <= 0xEF) {
    length = 3;
  } else if (lead == 0xF0) {
    length = 4, low = 0x90;  // lower would be an overlong form
  } else if (lead == 0xF4) {
    length = 4, high = 0x8F;  // higher would be past U+10FFFF
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    length = 4;
  } else {
    return 0;  // 0x80..0xC1 and 0xF5..0xFF never start a sequence
  }
  if (pos + length > text.size()) return 0;
  if (byte(pos + 1) < low || byte(pos + 1) > high) return 0;
  for (size_t i = 2; i < length; ++i)
    if (byte(pos + i) < 0x80 || byte(pos + i) > 0xBF) return 0;
  return length;
}

bool is_valid_utf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    size_t length = utf8_sequence_length(text, pos);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

// Appends code point `cp` (at most U+10FFFF, not a surrogate) to `out` in UTF-8.
static void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

static std::string hex4(unsigned value) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%04X", value & 0xFFFF);
  return buffer;
}

// ---- the parser ----------------------------------------------------------------------------------

namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Value parse_document() {
    Value value = parse_value(0);
    skip_whitespace();
    if (!at_end()) expected("the end of the input after the JSON value");
    return value;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;  // the next byte to read

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  bool consume(char c) {
    if (at_end() || peek() != c) return false;
    ++pos_;
    return true;
  }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  void skip_whitespace() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }

  // ---- errors ----

  // What is at `offset`, for messages: 'x', byte 0x01, or the end of the input.
  std::string describe(size_t offset) const {
    if (offset >= text_.size()) return "the end of the input";
    auto c = static_cast<unsigned char>(text_[offset]);
    if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "byte 0x%02X", c);
    return buffer;
  }

  [[noreturn]] void fail(size_t offset, const std::string& message) const {
    throw Error("json: at byte " + std::to_string(offset) + ": " + message);
  }

  // "expected <what>, found <what is at the current position>"
  [[noreturn]] void expected(const std::string& what) const {
    fail(pos_, "expected " + what + ", found " + describe(pos_));
  }

  // ---- grammar rules ----

  // `depth` counts the arrays and objects around this value.
  Value parse_value(int depth) {
    skip_whitespace();
    if (at_end()) expected("a value");
    switch (peek()) {
    case '{': return parse_object(depth + 1);
    case '[': return parse_array(depth + 1);
    case '"': return Value::from_string(parse_string());
    case 't': return parse_literal("true", Value::from_bool(true));
    case 'f': return parse_literal("false", Value::from_bool(false));
    case 'n': return parse_literal("null", Value());
    default:
      if (peek() == '-' || is_digit(peek())) return parse_number();
      expected("a value (an object, array, string, number, true, false or null)");
    }
  }

  void check_depth(int depth) const {
    if (depth > kMaxDepth)
      fail(pos_, "arrays and objects are nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }

  Value parse_array(int depth) {
    check_depth(depth);
    ++pos_;  // '['
    Value::Array items;
    skip_whitespace();
    if (consume(']')) return Value::from_array(std::move(items));
    while (true) {
      items.push_back(parse_value(depth));
      skip_whitespace();
      if (consume(',')) continue;
      if (consume(']')) return Value::from_array(std::move(items));
      expected("',' or ']' after an array element");
    }
  }

  Value parse_object(int depth) {
    check_depth(depth);
    ++pos_;  // '{'
    Value::Object members;
    skip_whitespace();
    if (consume('}')) return Value::from_object(std::move(members));
    while (true) {
      skip_whitespace();
      if (at_end() || peek() != '"') expected("a string key in double quotes");
      std::string key = parse_string();
      skip_whitespace();
      if (!consume(':')) expected("':' after the object key");
      Value value = parse_value(depth);
      members.emplace_back(std::move(key), std::move(value));
      skip_whitespace();
      if (consume(',')) continue;
      if (consume('}')) return Value::from_object(std::move(members));
      expected("',' or '}' after an object member");
    }
  }

  Value parse_literal(std::string_view word, Value value) {
    if (text_.substr(pos_, word.size()) != word) {
      std::string what = "'";
      what += word;
      expected(what + "'");
    }
    pos_ += word.size();
    return value;
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  Value parse_number() {
    const size_t start = pos_;
    consume('-');
    if (consume('0')) {
      if (!at_end() && is_digit(peek())) fail(pos_, "numbers may not have leading zeros");
    } else {
      if (at_end() || !is_digit(peek())) expected("a digit");
      skip_digits();
    }
    bool is_integer = true;
    if (consume('.')) {
      is_integer = false;
      if (at_end() || !is_digit(peek())) expected("a digit after the decimal point");
      skip_digits();
    }
    if (consume('e') || consume('E')) {
      is_integer = false;
      if (!consume('+')) consume('-');
      if (at_end() || !is_digit(peek())) expected("a digit in the exponent");
      skip_digits();
    }
    const std::string_view token = text_.substr(start, pos_ - start);
    const char* first = token.data();
    const char* last = token.data() + token.size();

    double value = 0;
    if (std::from_chars(first, last, value).ec != std::errc())
      fail(start, "the number " + std::string(token) + " is out of the range of a double");
    std::optional<int64_t> integer;
    int64_t exact = 0;
    if (is_integer && std::from_chars(first, last, exact).ec == std::errc()) integer = exact;
    return Value::from_number(value, integer);
  }

  void skip_digits() {
    while (!at_end() && is_digit(peek())) ++pos_;
  }

  std::string parse_string() {
    const size_t start = pos_;
    ++pos_;  // the opening '"'
    std::string out;
    while (true) {
      if (at_end()) fail(pos_, "unterminated string (it starts at byte " + std::to_string(start) + ")");
      const auto c = static_cast<unsigned char>(peek());
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        parse_escape(out, start);
      } else if (c < 0x20) {
        fail(pos_,
             "control character " + describe(pos_) + " inside a string; write it as an escape (\\n, \\u0001, ...)");
      } else {
        size_t length = utf8_sequence_length(text_, pos_);
        if (length == 0) fail(pos_, "invalid UTF-8 in a string at " + describe(pos_));
        out.append(text_.substr(pos_, length));
        pos_ += length;
      }
    }
  }

  // At a backslash inside the string that starts at `string_start`.
  void parse_escape(std::string& out, size_t string_start) {
    ++pos_;  // '\'
    if (at_end()) fail(pos_, "unterminated string (it starts at byte " + std::to_string(string_start) + ")");
    const char c = peek();
    ++pos_;
    switch (c) {
    case '"': out += '"'; return;
    case '\\': out += '\\'; return;
    case '/': out += '/'; return;
    case 'b': out += '\b'; return;
    case 'f': out += '\f'; return;
    case 'n': out += '\n'; return;
    case 'r': out += '\r'; return;
    case 't': out += '\t'; return;
    case 'u': append_utf8(out, parse_unicode_escape()); return;
    }
    --pos_;  // back to the unknown escape character, for the message
    expected("an escape character (one of \" \\ / b f n r t u) after '\\'");
  }

  // After "\u": one code unit, or a surrogate pair \uD800-\uDBFF \uDC00-\uDFFF; returns the code point.
  uint32_t parse_unicode_escape() {
    const size_t escape_start = pos_ - 2;
    const uint32_t unit = parse_hex4();
    if (unit >= 0xDC00 && unit <= 0xDFFF)
      fail(escape_start,
           "\\u" + hex4(unit) + " is a low surrogate without a high surrogate (\\uD800-\\uDBFF) before it");
    if (unit < 0xD800 || unit > 0xDBFF) return unit;

    if (text_.substr(pos_, 2) != "\\u")
      expected("a low surrogate \\uDC00-\\uDFFF after the high surrogate \\u" + hex4(unit));
    pos_ += 2;
    const uint32_t low = parse_hex4();
    if (low < 0xDC00 || low > 0xDFFF)
      fail(pos_ - 6, "expected a low surrogate \\uDC00-\\uDFFF after the high surrogate \\u" + hex4(unit) +
                         ", found \\u" + hex4(low));
    return 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
  }

  uint32_t parse_hex4() {
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = at_end() ? -1 : hex_digit_value(peek());
      if (digit < 0) expected("4 hex digits after \\u");
      value = value * 16 + static_cast<uint32_t>(digit);
      ++pos_;
    }
    return value;
  }

  static int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
};

}  // namespace

Value parse(std::string_view text) { return Parser(text).parse_document(); }

// ---- quoting -------------------------------------------------------------------------------------

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (size_t pos = 0; pos < text.size();) {
    const auto c = static_cast<unsigned char>(text[pos]);
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (c < 0x20) {
        out += "\\u" + hex4(c);
      } else {
        size_t length = utf8_sequence_length(text, pos);
        EMBER_CHECK(length != 0, "json::quote: the text is not valid UTF-8 (at byte " + std::to_string(pos) + ")");
        out.append(text.substr(pos, length));
        pos += length;
        continue;
      }
    }
    ++pos;
  }
  return out + "\"";
}

}  // namespace ember::json
