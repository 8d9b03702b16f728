// See markup.h. A recursive-descent parser over the math between '$' signs: parse_group reads
// atoms until '}' or the end, each atom being a character, a command, or a {group}, optionally
// followed by _sub and ^sup; every atom becomes one or more runs with the current font state.
#include "vision/markup.h"

#include <cctype>
#include <map>

namespace ember::vision {
namespace {

constexpr double kScriptScale = 0.7;
constexpr double kSubscriptDrop = 0.2;     // of the current size
constexpr double kSuperscriptRise = 0.45;  // of the current size
constexpr double kThinSpace = 0.2;         // em, after a comma and around binary operators

const std::map<std::string, std::string>& symbols() {
  static const std::map<std::string, std::string> table = {
      {"alpha", "\u03b1"}, {"beta", "\u03b2"},   {"gamma", "\u03b3"}, {"delta", "\u03b4"},      {"epsilon", "\u03b5"},
      {"theta", "\u03b8"}, {"lambda", "\u03bb"}, {"mu", "\u03bc"},    {"pi", "\u03c0"},         {"sigma", "\u03c3"},
      {"tau", "\u03c4"},   {"phi", "\u03c6"},    {"omega", "\u03c9"}, {"Sigma", "\u03a3"},      {"Delta", "\u0394"},
      {"times", "\u00d7"}, {"cdot", "\u00b7"},   {"pm", "\u00b1"},    {"infty", "\u221e"},      {"approx", "\u2248"},
      {"leq", "\u2264"},   {"geq", "\u2265"},    {"neq", "\u2260"},   {"rightarrow", "\u2192"},
  };
  return table;
}

struct FontState {
  double scale = 1, rise = 0;
  bool bold = false, upright = false;
};

class MathParser {
 public:
  MathParser(const std::string& text, std::vector<TextRun>& out) : s_(text), out_(out) {}

  void parse_all(FontState state) {
    parse_group(state);
    while (pos_ < s_.size()) {  // a stray '}' at top level: keep it as a character
      emit(std::string(1, s_[pos_++]), state);
      parse_group(state);
    }
  }

 private:
  // Atoms until '}' or the end; '\bf' changes the state for the rest of this group only.
  void parse_group(FontState state) {
    while (pos_ < s_.size() && s_[pos_] != '}') {
      if (s_[pos_] == ' ') {
        ++pos_;
        continue;
      }
      if (s_.compare(pos_, 3, "\\bf") == 0 && !std::isalpha(static_cast<unsigned char>(peek(3)))) {
        pos_ += 3;
        state.bold = true;
        continue;
      }
      if (s_.compare(pos_, 3, "\\rm") == 0 && !std::isalpha(static_cast<unsigned char>(peek(3)))) {
        pos_ += 3;
        state.upright = true;
        continue;
      }
      parse_atom(state);
      parse_scripts(state);
    }
  }

  // After an atom: any number of _x / ^x, each a smaller, shifted atom.
  void parse_scripts(const FontState& base) {
    while (pos_ < s_.size() && (s_[pos_] == '_' || s_[pos_] == '^')) {
      const bool sub = s_[pos_++] == '_';
      FontState script = base;
      script.scale = base.scale * kScriptScale;
      script.rise = base.rise + (sub ? -kSubscriptDrop : kSuperscriptRise) * base.scale;
      skip_spaces();
      parse_atom(script);
    }
  }

  void parse_atom(const FontState& state) {
    skip_spaces();
    if (pos_ >= s_.size()) return;
    const char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      parse_group(state);
      if (pos_ < s_.size() && s_[pos_] == '}') ++pos_;
      return;
    }
    if (c == '\\') {
      parse_command(state);
      return;
    }
    // One UTF-8 character.
    size_t length = 1;
    while (pos_ + length < s_.size() && (static_cast<unsigned char>(s_[pos_ + length]) & 0xC0) == 0x80) ++length;
    std::string ch = s_.substr(pos_, length);
    pos_ += length;
    if (ch == "-") {
      emit("\u2212", state, kThinSpace, kThinSpace);
    } else if (ch == "+" || ch == "=" || ch == "<" || ch == ">") {
      emit(ch, state, kThinSpace, kThinSpace);
    } else if (ch == "," || ch == ";") {
      emit(ch, state, 0, kThinSpace);
    } else {
      emit(ch, state);
    }
  }

  void parse_command(FontState state) {
    ++pos_;  // the backslash
    if (pos_ < s_.size() && !std::isalpha(static_cast<unsigned char>(s_[pos_]))) {
      const char escaped = s_[pos_++];
      if (escaped == ',') {
        if (!out_.empty()) out_.back().space_after += kThinSpace * state.scale;
      } else {
        emit(std::string(1, escaped), state);
      }
      return;
    }
    size_t end = pos_;
    while (end < s_.size() && std::isalpha(static_cast<unsigned char>(s_[end]))) ++end;
    const std::string name = s_.substr(pos_, end - pos_);
    pos_ = end;
    if (name == "hat") {
      const size_t first = out_.size();
      parse_atom(state);
      for (size_t i = first; i < out_.size(); ++i) out_[i].hat = true;
    } else if (name == "mathbf" || name == "textbf") {
      state.bold = true;
      parse_atom(state);
    } else if (name == "mathrm" || name == "text" || name == "mathregular") {
      state.upright = true;
      parse_atom(state);
    } else if (auto it = symbols().find(name); it != symbols().end()) {
      emit(it->second, state);
    } else {
      emit("\\" + name, state);  // unknown: show it as written rather than lose it
    }
  }

  void emit(const std::string& text, const FontState& state, double space_before = 0, double space_after = 0) {
    if (space_before > 0 && !out_.empty()) out_.back().space_after += space_before * state.scale;
    TextRun run;
    run.text = text;
    run.scale = state.scale;
    run.rise = state.rise;
    run.bold = state.bold;
    const bool is_letter = text.size() == 1 ? std::isalpha(static_cast<unsigned char>(text[0])) != 0
                                            : text.rfind("\xce", 0) == 0 || text.rfind("\xcf", 0) == 0;  // Greek
    run.italic = is_letter && !state.bold && !state.upright;
    run.space_after = space_after * state.scale;
    out_.push_back(run);
  }

  char peek(size_t ahead) const { return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0'; }
  void skip_spaces() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }

  const std::string& s_;
  std::vector<TextRun>& out_;
  size_t pos_ = 0;
};

// Adjacent runs with the same font state merge, so plain words are drawn (and kerned) as one.
void append_merged(std::vector<TextRun>& runs, const TextRun& run) {
  if (!runs.empty()) {
    TextRun& last = runs.back();
    if (last.scale == run.scale && last.rise == run.rise && last.bold == run.bold && last.italic == run.italic &&
        !last.hat && !run.hat && last.space_after == 0) {
      last.text += run.text;
      last.space_after = run.space_after;
      return;
    }
  }
  runs.push_back(run);
}

}  // namespace

std::vector<TextRun> parse_markup(const std::string& markup) {
  // Split at unescaped '$'; with an odd count the whole string is plain text.
  std::vector<std::string> pieces(1);
  for (size_t i = 0; i < markup.size(); ++i) {
    if (markup[i] == '\\' && i + 1 < markup.size() && markup[i + 1] == '$') {
      pieces.back() += "\\$";
      ++i;
    } else if (markup[i] == '$') {
      pieces.emplace_back();
    } else {
      pieces.back() += markup[i];
    }
  }
  const bool balanced = pieces.size() % 2 == 1;

  std::vector<TextRun> raw;
  for (size_t p = 0; p < pieces.size(); ++p) {
    const bool math = balanced && p % 2 == 1;
    if (math) {
      MathParser(pieces[p], raw).parse_all(FontState{});
    } else {
      std::string text;
      if (!balanced && p > 0) text.push_back('$');
      for (size_t i = 0; i < pieces[p].size(); ++i) {  // "\$" -> "$"
        if (pieces[p][i] == '\\' && i + 1 < pieces[p].size() && pieces[p][i + 1] == '$') continue;
        text.push_back(pieces[p][i]);
      }
      if (!text.empty()) raw.push_back(TextRun{.text = text});
    }
  }
  std::vector<TextRun> runs;
  for (const TextRun& run : raw) append_merged(runs, run);
  return runs;
}

std::string plain_text(const std::vector<TextRun>& runs) {
  std::string text;
  for (const TextRun& run : runs) text += run.text;
  return text;
}

}  // namespace ember::vision
