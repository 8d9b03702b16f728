// A CSV reader (RFC 4180: commas, double-quoted fields with "" for a quote, CRLF or LF) that
// turns a table with a header into named columns, and says exactly where a file is broken:
//   "iris.csv: line 12, column 'Petal Width': 'abc' is not a number"
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace ember {

struct CsvTable {
  std::string source;  // file name or URL, for messages
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // every row has header.size() fields
  std::vector<int64_t> line_of_row;            // 1-based line numbers, for messages

  // The index of the column named `name`; an error listing the columns it has otherwise.
  size_t column(const std::string& name) const;
  // A numeric column as doubles; an error names the line, column and cell that is no number.
  std::vector<double> numbers(const std::string& name) const;
  std::vector<std::string> strings(const std::string& name) const;
};

// Errors: an empty text, a row with more or fewer fields than the header, an unclosed quote, and
// (unless allow_no_rows) a header without rows.
CsvTable parse_csv(std::string_view text, const std::string& source, bool allow_no_rows = false);

// One CSV line ending in "\n": fields joined by commas, a field with a comma, quote or line break
// quoted ("" for a quote), so that parse_csv reads back exactly `fields`.
std::string csv_line(const std::vector<std::string>& fields);

}  // namespace ember
