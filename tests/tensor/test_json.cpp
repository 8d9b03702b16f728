// Tests of the JSON parser and quoter in tensor/io/json.h: values, escapes, key order, and the
// errors (with byte offsets) for broken or hostile input.
#include <doctest/doctest.h>

#include <string>

#include <vector>
#include "../test_util.h"

#include "tensor/error.h"
#include "tensor/io/json.h"

using ember::json::parse;
using ember::json::quote;
using ember::json::Value;

namespace {

// Parsing `text` must throw an ember::Error whose message contains every fragment.
void check_parse_error(const std::string& text, const std::vector<std::string>& fragments) {
  INFO("input: ", text);
  ember::test::check_throws([&] { parse(text); }, fragments);
}

}  // namespace

TEST_CASE("json: literals and surrounding whitespace") {
  CHECK(parse("null").is_null());
  CHECK(parse(" \t\r\n true \n").as_bool() == true);
  CHECK(parse("false").as_bool() == false);
  CHECK(parse("\"\"").as_string().empty());
}

TEST_CASE("json: integers are kept exactly, other numbers as double") {
  Value big = parse("9007199254740993");  // 2^53 + 1: no double holds it
  REQUIRE(big.is_integer());
  CHECK(big.as_int() == 9007199254740993LL);
  CHECK(big.as_double() == 9007199254740992.0);

  CHECK(parse("-12").as_int() == -12);
  CHECK(parse("0").as_int() == 0);
  CHECK(parse("-0").as_int() == 0);
  CHECK(parse("9223372036854775807").as_int() == 9223372036854775807LL);
  CHECK(parse("-9223372036854775808").as_int() == INT64_MIN);

  Value too_big = parse("9223372036854775808");  // 2^63: a number, but not an int64
  CHECK(too_big.is_number());
  CHECK_FALSE(too_big.is_integer());
  CHECK(too_big.as_double() == 9223372036854775808.0);

  CHECK_FALSE(parse("1.0").is_integer());
  CHECK_FALSE(parse("1e2").is_integer());
  CHECK(parse("1.5e3").as_double() == 1500.0);
  CHECK(parse("-2.5E-1").as_double() == -0.25);
  CHECK(parse("1e+2").as_double() == 100.0);
  CHECK_THROWS_AS(parse("2.5").as_int(), ember::Error);
}

TEST_CASE("json: string escapes, \\u escapes and surrogate pairs become UTF-8") {
  CHECK(parse(R"("a\"b\\c\/d\be\ff\ng\rh\ti")").as_string() == "a\"b\\c/d\be\ff\ng\rh\ti");
  CHECK(parse(R"("\u0041")").as_string() == "A");
  CHECK(parse(R"("\u00e9")").as_string() == "\xC3\xA9");                // é, 2 bytes
  CHECK(parse(R"("\u20AC")").as_string() == "\xE2\x82\xAC");            // €, 3 bytes
  CHECK(parse(R"("\uD83D\uDE00")").as_string() == "\xF0\x9F\x98\x80");  // U+1F600, 4 bytes
  CHECK(parse(R"("\u0000")").as_string() == std::string(1, '\0'));
  CHECK(parse("\"caf\xC3\xA9\"").as_string() == "caf\xC3\xA9");  // raw UTF-8 is kept
}

TEST_CASE("json: arrays and objects; objects keep the key order of the text") {
  Value v = parse(R"({"b": 1, "a": [true, null, "x", []], "c": {}})");
  REQUIRE(v.is_object());
  const Value::Object& members = v.as_object();
  REQUIRE(members.size() == 3);
  CHECK(members[0].first == "b");
  CHECK(members[1].first == "a");
  CHECK(members[2].first == "c");
  CHECK(members[0].second.as_int() == 1);
  const Value::Array& items = members[1].second.as_array();
  REQUIRE(items.size() == 4);
  CHECK(items[0].as_bool());
  CHECK(items[1].is_null());
  CHECK(items[2].as_string() == "x");
  CHECK(items[3].as_array().empty());
  CHECK(members[2].second.as_object().empty());

  REQUIRE(v.find("a") != nullptr);
  CHECK(v.find("a")->is_array());
  CHECK(v.find("zzz") == nullptr);
  CHECK_THROWS_AS(v.as_array(), ember::Error);
}

TEST_CASE("json: nesting up to 64 levels is fine, deeper is an error") {
  const std::string ok = std::string(64, '[') + std::string(64, ']');
  Value v = parse(ok);
  int depth = 0;
  for (const Value* p = &v; p->is_array(); p = &p->as_array()[0]) {
    ++depth;
    if (p->as_array().empty()) break;
  }
  CHECK(depth == 64);

  check_parse_error(std::string(65, '[') + std::string(65, ']'), {"nested deeper than 64", "at byte 64"});
  check_parse_error(std::string(100000, '['), {"nested deeper than 64"});  // no stack overflow
  std::string mixed;  // {"a":[{"a":[... : the 65th container is the '{' at byte 6 * 32
  for (int i = 0; i < 40; ++i) mixed += "{\"a\":[";
  check_parse_error(mixed, {"nested deeper than 64", "at byte 192"});
}

TEST_CASE("json: broken input names the byte offset and what was expected") {
  check_parse_error("", {"at byte 0", "expected a value", "the end of the input"});
  check_parse_error("   ", {"at byte 3", "expected a value"});
  check_parse_error("\"abc", {"at byte 4", "unterminated string", "starts at byte 0"});
  check_parse_error("\"abc\\", {"unterminated string"});
  check_parse_error("{} x", {"at byte 3", "expected the end of the input", "found 'x'"});
  check_parse_error("[1 2]", {"at byte 3", "expected ',' or ']'"});
  check_parse_error("[1,]", {"at byte 3", "expected a value", "found ']'"});
  check_parse_error("{\"a\":1,}", {"at byte 7", "expected a string key"});
  check_parse_error("{\"a\" 1}", {"at byte 5", "expected ':'"});
  check_parse_error("{a:1}", {"at byte 1", "expected a string key"});
  check_parse_error("{\"a\":1", {"at byte 6", "expected ',' or '}'", "the end of the input"});
  check_parse_error("tru", {"at byte 0", "expected 'true'"});
  check_parse_error("nul", {"expected 'null'"});
  check_parse_error("[1] [2]", {"at byte 4", "expected the end of the input"});
}

TEST_CASE("json: invalid numbers") {
  check_parse_error("01", {"at byte 1", "leading zeros"});
  check_parse_error("-01", {"at byte 2", "leading zeros"});
  check_parse_error("1.", {"at byte 2", "a digit after the decimal point"});
  check_parse_error(".5", {"at byte 0", "expected a value"});
  check_parse_error("-", {"at byte 1", "expected a digit"});
  check_parse_error("-x", {"at byte 1", "expected a digit", "found 'x'"});
  check_parse_error("1e", {"at byte 2", "a digit in the exponent"});
  check_parse_error("1e+", {"at byte 3", "a digit in the exponent"});
  check_parse_error("+1", {"at byte 0", "expected a value"});
  check_parse_error("0x10", {"at byte 1", "expected the end of the input"});
  check_parse_error("NaN", {"expected a value"});
  check_parse_error("Infinity", {"expected a value"});
  check_parse_error("1e400", {"at byte 0", "out of the range of a double"});
}

TEST_CASE("json: invalid strings: control characters, escapes, surrogates, UTF-8") {
  check_parse_error("\"a\tb\"", {"at byte 2", "control character", "0x09"});
  check_parse_error(std::string("\"a\0b\"", 5), {"at byte 2", "control character", "0x00"});
  check_parse_error("\"\\x\"", {"at byte 2", "expected an escape character", "found 'x'"});
  check_parse_error("\"\\u12G4\"", {"at byte 5", "4 hex digits", "found 'G'"});
  check_parse_error("\"\\u12\"", {"at byte 5", "4 hex digits"});
  check_parse_error("\"\\uDC00\"", {"at byte 1", "low surrogate without a high surrogate"});
  check_parse_error("\"\\uD800\"", {"at byte 7", "low surrogate", "\\uD800"});
  check_parse_error("\"\\uD800\\u0041\"", {"at byte 7", "found \\u0041"});
  check_parse_error("\"\xFF\"", {"at byte 1", "invalid UTF-8", "0xFF"});
  check_parse_error("\"\xC0\x80\"", {"at byte 1", "invalid UTF-8"});          // overlong NUL
  check_parse_error("\"\xED\xA0\x80\"", {"at byte 1", "invalid UTF-8"});      // an encoded surrogate
  check_parse_error("\"\xF4\x90\x80\x80\"", {"at byte 1", "invalid UTF-8"});  // past U+10FFFF
  check_parse_error("\"\xE2\x82\"", {"at byte 1", "invalid UTF-8"});          // cut short
  check_parse_error("\xEF\xBB\xBF{}", {"at byte 0", "expected a value"});     // a byte-order mark
}

TEST_CASE("json: quote escapes what JSON requires") {
  CHECK(quote("plain") == "\"plain\"");
  CHECK(quote("") == "\"\"");
  CHECK(quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(quote("\b\f\n\r\t") == "\"\\b\\f\\n\\r\\t\"");
  CHECK(quote(std::string("\x01\x1F\0", 3)) == "\"\\u0001\\u001F\\u0000\"");
  CHECK(quote("caf\xC3\xA9 \xF0\x9F\x98\x80/") == "\"caf\xC3\xA9 \xF0\x9F\x98\x80/\"");
  CHECK_THROWS_WITH_AS(quote("bad \xFF"), doctest::Contains("not valid UTF-8"), ember::Error);
}

TEST_CASE("json: quote then parse gives back every character") {
  std::string all;
  for (int c = 1; c < 128; ++c) all += static_cast<char>(c);
  all += std::string(1, '\0') + "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
  CHECK(parse(quote(all)).as_string() == all);
}

TEST_CASE("json: is_valid_utf8") {
  CHECK(ember::json::is_valid_utf8(""));
  CHECK(ember::json::is_valid_utf8("ascii \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"));
  CHECK_FALSE(ember::json::is_valid_utf8("\x80"));
  CHECK_FALSE(ember::json::is_valid_utf8("\xC1\xBF"));      // overlong
  CHECK_FALSE(ember::json::is_valid_utf8("\xE0\x9F\xBF"));  // overlong
  CHECK_FALSE(ember::json::is_valid_utf8("\xF0\x9F\x98"));  // cut short
}
