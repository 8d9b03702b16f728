// See csv.h. One pass over the text with a tiny state machine: in a quoted field or not.
#include "tensor/io/csv.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "tensor/error.h"

namespace ember {

CsvTable parse_csv(std::string_view text, const std::string& source, bool allow_no_rows) {
  CsvTable table;
  table.source = source;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte-order mark
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, field_was_quoted = false;
  int64_t line = 1, record_line = 1;

  auto end_record = [&] {
    record.push_back(field);
    field.clear();
    field_was_quoted = false;
    const bool blank = record.size() == 1 && record[0].empty();
    if (!blank) {
      if (table.header.empty()) {
        table.header = record;
      } else {
        if (record.size() != table.header.size())
          throw Error(source + ": line " + std::to_string(record_line) + " has " + std::to_string(record.size()) +
                      " fields, but the header has " + std::to_string(table.header.size()));
        table.rows.push_back(record);
        table.line_of_row.push_back(record_line);
      }
    }
    record.clear();
    record_line = line;
  };

  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"' && field.empty() && !field_was_quoted) {
      quoted = field_was_quoted = true;
    } else if (c == ',') {
      record.push_back(field);
      field.clear();
      field_was_quoted = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++line;
      end_record();
    } else {
      field += c;
    }
  }
  if (quoted)
    throw Error(source + ": a quoted field that starts on line " + std::to_string(record_line) + " never ends");
  if (!field.empty() || !record.empty()) end_record();
  if (table.header.empty()) throw Error(source + ": the file is empty (expected a header line and rows)");
  if (table.rows.empty() && !allow_no_rows) throw Error(source + ": the file has a header but no rows");
  return table;
}

size_t CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  std::string known;
  for (const auto& h : header) known += (known.empty() ? "'" : ", '") + h + "'";
  throw Error(source + ": no column named '" + name + "' (the header has " + known + ")");
}

std::vector<double> CsvTable::numbers(const std::string& name) const {
  const size_t col = column(name);
  std::vector<double> out;
  out.reserve(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    const std::string& cell = rows[r][col];
    const char* begin = cell.c_str();
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(begin, &end);
    while (end && (*end == ' ' || *end == '\t')) ++end;
    if (cell.empty() || end == begin || *end != '\0' || errno == ERANGE || !std::isfinite(value))
      throw Error(source + ": line " + std::to_string(line_of_row[r]) + ", column '" + name + "': '" + cell +
                  "' is not a number");
    out.push_back(value);
  }
  return out;
}

std::vector<std::string> CsvTable::strings(const std::string& name) const {
  const size_t col = column(name);
  std::vector<std::string> out;
  for (const auto& row : rows) out.push_back(row[col]);
  return out;
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) line += ',';
    const std::string& field = fields[i];
    if (field.find_first_of(",\"\r\n") == std::string::npos) {
      line += field;
      continue;
    }
    line += '"';
    for (char c : field) line += c == '"' ? std::string("\"\"") : std::string(1, c);
    line += '"';
  }
  return line + "\n";
}

}  // namespace ember
