// trace.cpp: the three views of a counterexample: a round-by-round table for
// the terminal, a JSON document for tools, and an SVG space-time diagram
// (one lane per process, one column per round) for people.
#include "engine.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace psync::check {

using detail::format_set;
using detail::format_words;

namespace {

std::string flags_of(const TraceProcess& p) {
  std::string f;
  if (p.conflict) f += "CONFLICT ";
  if (p.range_error) f += "RANGE ";
  if (p.crashed) f += "crashed ";
  if (p.faulty) f += "FAULTY ";
  if (p.halted) f += "halted ";
  if (p.decided) f += "decided ";
  if (!f.empty()) f.pop_back();
  return f;
}

std::string pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

// A message as the program's types print it ("some(0)", "{1, 3}"), or its
// raw words for a trace made without the descriptor's printer.
std::string payload(const TraceMessage& m) { return m.value.empty() ? format_words(m.words) : m.value; }

std::string received_by(const TraceStep& st, int i) {
  std::string s;
  for (const TraceMessage& m : st.messages)
    if (m.to == i && m.delivered) {
      if (!s.empty()) s += ' ';
      s += std::to_string(m.from) + ":" + payload(m);
    }
  return s.empty() ? "-" : s;
}

std::string lost_list(const TraceStep& st) {
  std::string s;
  for (const TraceMessage& m : st.messages)
    if (!m.delivered) {
      if (!s.empty()) s += ' ';
      s += std::to_string(m.from) + "->" + std::to_string(m.to);
    }
  return s;
}

std::string headline(const Trace& t) {
  if (t.spec_kind == "conflict") return "decide conflict: a process decided two different values";
  if (t.spec_kind == "range") return "range error: a value out of range where a process id or set element was expected";
  return t.spec_kind + " `" + t.spec + "` violated";
}

}  // namespace

void write_trace_table(const Trace& t, std::FILE* out) {
  const std::string missing = t.window_missing > 0 ? " and a " + std::to_string(t.window_missing) +
                                                         "-round window that was not rebuilt"
                                                   : "";
  std::fprintf(out, "counterexample: %s (%zu round%s%s%s)\n", headline(t).c_str(), t.steps.size(),
               t.steps.size() == 1 ? "" : "s", missing.c_str(), t.seed >= 0 || !t.shortest ? "" : ", shortest");
  if (!t.detail.empty()) std::fprintf(out, "  %s\n", t.detail.c_str());
  if (t.seed >= 0) std::fprintf(out, "  reproduce with --seed %lld --runs 1\n", static_cast<long long>(t.seed));
  std::fprintf(out, "\ninitial states (%s, n = %d)\n", t.protocol.c_str(), t.n);
  for (int i = 0; i < t.n; ++i) {
    const TraceProcess& p = t.initial[static_cast<size_t>(i)];
    std::fprintf(out, "  p%-3d %-9s %s\n", i, flags_of(p).c_str(), p.vars.c_str());
  }
  for (size_t k = 0; k < t.steps.size(); ++k) {
    const TraceStep& st = t.steps[k];
    bool window = t.liveness_from >= 0 && static_cast<int>(k) >= t.liveness_from;
    std::fprintf(out, "\nround %lld (%s)%s\n", static_cast<long long>(st.round), st.round_name.c_str(),
                 window ? ("   [liveness window: the predicate of `" + t.spec + "` holds]").c_str() : "");
    bool any_choice = false;
    for (const auto& c : st.choices) any_choice = any_choice || !c.empty();
    size_t wh = 2, wr = 8, wc = 7;
    std::vector<std::string> ho, rec;
    for (int i = 0; i < t.n; ++i) {
      ho.push_back(format_set(st.ho[static_cast<size_t>(i)], t.n));
      rec.push_back(received_by(st, i));
      wh = std::max(wh, ho.back().size());
      wr = std::max(wr, rec.back().size());
      if (any_choice) wc = std::max(wc, st.choices[static_cast<size_t>(i)].size());
    }
    std::fprintf(out, "  %-4s %s  %s  %s%-9s state after\n", "p", pad("HO", wh).c_str(), pad("received", wr).c_str(),
                 any_choice ? (pad("choices", wc) + "  ").c_str() : "", "");
    for (int i = 0; i < t.n; ++i) {
      const TraceProcess& p = st.after[static_cast<size_t>(i)];
      std::fprintf(out, "  p%-3d %s  %s  %s%-9s %s\n", i, pad(ho[static_cast<size_t>(i)], wh).c_str(),
                   pad(rec[static_cast<size_t>(i)], wr).c_str(),
                   any_choice ? (pad(st.choices[static_cast<size_t>(i)], wc) + "  ").c_str() : "",
                   flags_of(p).c_str(), p.vars.c_str());
    }
    // log lines and range errors, process by process.
    for (size_t i = 0; i < st.events.size(); ++i)
      for (const std::string& e : st.events[i]) std::fprintf(out, "  p%-3zu %s\n", i, e.c_str());
    // Lost messages: listed when few, counted when many (the HO column
    // already says who was heard).
    size_t nlost = 0;
    for (const TraceMessage& m : st.messages) nlost += m.delivered ? 0 : 1;
    if (nlost > 0 && nlost <= static_cast<size_t>(2 * t.n))
      std::fprintf(out, "  lost: %s\n", lost_list(st).c_str());
    else if (nlost > 0)
      std::fprintf(out, "  lost: %zu of %zu messages sent this round\n", nlost, st.messages.size());
  }
  std::fprintf(out, "\nviolated: %s\n", headline(t).c_str());
}

// ---- JSON ----------------------------------------------------------------------

namespace {

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      case '\r': o += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o + "\"";
}

std::string json_set(uint64_t set, int n) {
  std::string o = "[";
  bool first = true;
  for (int i = 0; i < n; ++i)
    if (set >> i & 1) {
      if (!first) o += ",";
      o += std::to_string(i);
      first = false;
    }
  return o + "]";
}

std::string json_words(const std::vector<int64_t>& w) {
  std::string o = "[";
  for (size_t i = 0; i < w.size(); ++i) o += (i ? "," : "") + std::to_string(w[i]);
  return o + "]";
}

std::string json_proc(const TraceProcess& p, int i) {
  return "{\"p\":" + std::to_string(i) + ",\"vars\":" + json_string(p.vars) +
         ",\"decided\":" + (p.decided ? "true" : "false") + ",\"halted\":" + (p.halted ? "true" : "false") +
         ",\"conflict\":" + (p.conflict ? "true" : "false") + ",\"range_error\":" + (p.range_error ? "true" : "false") +
         ",\"crashed\":" + (p.crashed ? "true" : "false") + (p.faulty ? ",\"faulty\":true" : "") + "}";
}

}  // namespace

std::string trace_to_json(const Trace& t) {
  std::string o = "{\n";
  o += "  \"protocol\": " + json_string(t.protocol) + ",\n";
  o += "  \"n\": " + std::to_string(t.n) + ",\n";
  o += "  \"violation\": {\"spec\": " + json_string(t.spec) + ", \"kind\": " + json_string(t.spec_kind) +
       ", \"detail\": " + json_string(t.detail) + ", \"rounds\": " + std::to_string(t.steps.size()) +
       (t.liveness_from >= 0 ? ", \"window_from_step\": " + std::to_string(t.liveness_from) : std::string()) +
       (t.seed >= 0 ? ", \"seed\": " + std::to_string(t.seed) : std::string()) + "},\n";
  o += "  \"inputs\": [";
  for (size_t i = 0; i < t.inputs.size(); ++i) o += (i ? "," : "") + json_words(t.inputs[i]);
  o += "],\n  \"initial\": [";
  for (int i = 0; i < t.n; ++i) o += (i ? ",\n    " : "\n    ") + json_proc(t.initial[static_cast<size_t>(i)], i);
  o += "\n  ],\n  \"rounds\": [";
  for (size_t k = 0; k < t.steps.size(); ++k) {
    const TraceStep& st = t.steps[k];
    o += k ? ",\n    {" : "\n    {";
    o += "\"round\": " + std::to_string(st.round) + ", \"name\": " + json_string(st.round_name) + ",\n     \"ho\": [";
    for (int i = 0; i < t.n; ++i) o += (i ? "," : "") + json_set(st.ho[static_cast<size_t>(i)], t.n);
    o += "],\n     \"messages\": [";
    for (size_t m = 0; m < st.messages.size(); ++m) {
      const TraceMessage& msg = st.messages[m];
      o += (m ? "," : "") + std::string("{\"from\":") + std::to_string(msg.from) + ",\"to\":" + std::to_string(msg.to) +
           ",\"delivered\":" + (msg.delivered ? "true" : "false") + ",\"payload\":" + json_words(msg.words) +
           ",\"value\":" + json_string(payload(msg)) + "}";
    }
    o += "],\n     \"choices\": [";
    for (int i = 0; i < t.n; ++i) o.append(i ? "," : "").append(json_string(st.choices[static_cast<size_t>(i)]));
    o += "],\n     \"after\": [";
    for (int i = 0; i < t.n; ++i) o.append(i ? "," : "").append(json_proc(st.after[static_cast<size_t>(i)], i));
    o += "],\n     \"events\": [";
    for (int i = 0; i < t.n; ++i) {
      o += i ? ",[" : "[";
      const auto* ev = static_cast<size_t>(i) < st.events.size() ? &st.events[static_cast<size_t>(i)] : nullptr;
      // Appended, not `"," + string`: g++ 12 at -O3 reports a false
      // -Wrestrict on a literal plus a string (GCC bug 105651).
      for (size_t k = 0; ev && k < ev->size(); ++k) o.append(k ? "," : "").append(json_string((*ev)[k]));
      o += "]";
    }
    o += "]}";
  }
  o += t.steps.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return o;
}

// ---- SVG ------------------------------------------------------------------------

namespace {

std::string xml(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\n' || c == '\t') o += c;
    }
  }
  return o;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// The next space at bracket depth 0 from `at` (between two `name=value`s,
// not inside a value such as {0, 1}), or npos.
size_t next_top_level_space(const std::string& s, size_t at) {
  int depth = 0;
  for (size_t i = at; i < s.size(); ++i) {
    char c = s[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    else if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
    else if (c == ' ' && depth == 0) return i;
  }
  return std::string::npos;
}

// Splits s into lines of at most `width` characters, between variables
// where it can (a longer variable is split inside), so no label is cut.
std::vector<std::string> wrap(const std::string& s, size_t width) {
  std::vector<std::string> lines;
  std::string cur;
  size_t at = 0;
  while (at < s.size()) {
    size_t sp = next_top_level_space(s, at);
    std::string word = s.substr(at, sp == std::string::npos ? std::string::npos : sp - at);
    at = sp == std::string::npos ? s.size() : sp + 1;
    while (word.size() > width) {
      if (!cur.empty()) lines.push_back(std::move(cur)), cur.clear();
      lines.push_back(word.substr(0, width));
      word.erase(0, width);
    }
    if (!cur.empty() && cur.size() + 1 + word.size() > width) lines.push_back(std::move(cur)), cur.clear();
    if (!cur.empty()) cur += ' ';
    cur += word;
  }
  if (!cur.empty() || lines.empty()) lines.push_back(cur);
  return lines;
}

// Lines of text at (x, y), 11 px apart, as one <text> of <tspan>s.
std::string text_lines(double x, double y, const std::vector<std::string>& lines, const std::string& attrs) {
  std::string o = "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" " + attrs + ">";
  for (size_t k = 0; k < lines.size(); ++k)
    o += "<tspan x=\"" + num(x) + "\" dy=\"" + (k ? "11" : "0") + "\">" + xml(lines[k]) + "</tspan>";
  return o + "</text>";
}

}  // namespace

std::string trace_to_svg(const Trace& t) {
  const size_t T = t.steps.size();
  // State labels wrap (never cut) at kWrap characters; columns widen for
  // the longest line or payload, lanes grow for the most lines.
  constexpr size_t kWrap = 40;
  constexpr double kCharWidth = 5.4;  // at font-size 9
  size_t widest = 0, most_lines = 1;
  auto measure = [&](const TraceProcess& p, const std::string& choices) {
    std::vector<std::string> lines = wrap(p.vars, kWrap);
    for (const std::string& l : lines) widest = std::max(widest, l.size());
    widest = std::max(widest, std::min(choices.size(), kWrap));
    most_lines = std::max(most_lines, lines.size() + (choices.empty() ? 0 : 1));
  };
  for (const TraceProcess& p : t.initial) measure(p, "");
  for (const TraceStep& st : t.steps) {
    for (size_t i = 0; i < st.after.size(); ++i) measure(st.after[i], i < st.choices.size() ? st.choices[i] : "");
    for (const TraceMessage& m : st.messages) widest = std::max(widest, payload(m).size());
  }
  const double left = 120, top = 130, pad = 14;
  const double col = std::max(190.0, kCharWidth * static_cast<double>(widest) + 2 * pad + 16);
  const double lane = std::max(78.0, 40.0 + 11.0 * static_cast<double>(most_lines));
  const std::string title = t.protocol + ", n = " + std::to_string(t.n) + ": " + headline(t);
  const double width = std::max({left + static_cast<double>(std::max<size_t>(T, 1)) * col + 210,
                                 40 + 10.0 * static_cast<double>(title.size()),
                                 40 + 6.5 * static_cast<double>(t.detail.size()), 720.0});
  const double lanes_bottom = top + static_cast<double>(t.n - 1) * lane;
  const double height = lanes_bottom + 150;
  auto X = [&](size_t k) { return left + static_cast<double>(k) * col; };
  auto Y = [&](int i) { return top + static_cast<double>(i) * lane; };

  std::string o;
  o += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
       "\" viewBox=\"0 0 " + num(width) + " " + num(height) + "\" font-family=\"Helvetica, Arial, sans-serif\">\n";
  o += "  <title>" + xml(t.protocol + ": " + headline(t)) + "</title>\n";
  o += "  <defs>\n"
       "    <marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
       "orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#1f4e9c\"/></marker>\n"
       "    <marker id=\"arrow-lost\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
       "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#bbbbbb\"/>"
       "</marker>\n"
       "  </defs>\n";
  o += "  <rect x=\"0\" y=\"0\" width=\"" + num(width) + "\" height=\"" + num(height) + "\" fill=\"white\"/>\n";
  o += "  <text x=\"16\" y=\"26\" font-size=\"17\" font-weight=\"bold\">" +
       xml(title) + "</text>\n";
  if (!t.detail.empty())
    o += "  <text x=\"16\" y=\"46\" font-size=\"12\" fill=\"#444\">" + xml(t.detail) + "</text>\n";

  // Liveness window: the rounds in which the predicate held.
  if (t.liveness_from >= 0 && static_cast<size_t>(t.liveness_from) < T) {
    double x0 = X(static_cast<size_t>(t.liveness_from)), x1 = X(T);
    o += "  <g class=\"window\"><rect x=\"" + num(x0) + "\" y=\"" + num(top - 74) + "\" width=\"" + num(x1 - x0) +
         "\" height=\"" + num(lanes_bottom - top + 106) + "\" fill=\"#fff4d6\"/>\n";
    o += "    <text x=\"" + num(x0 + 4) + "\" y=\"" + num(top - 62) +
         "\" font-size=\"11\" fill=\"#8a6d00\">predicate of " + xml(t.spec) + " holds in these rounds</text></g>\n";
  }

  // Round columns.
  for (size_t k = 0; k < T; ++k) {
    const TraceStep& st = t.steps[k];
    o += "  <g class=\"round\"><line x1=\"" + num(X(k)) + "\" y1=\"" + num(top - 40) + "\" x2=\"" + num(X(k)) +
         "\" y2=\"" + num(lanes_bottom + 14) + "\" stroke=\"#e4e4e4\"/>\n";
    o += "    <text x=\"" + num(X(k) + col / 2) + "\" y=\"" + num(top - 44) +
         "\" font-size=\"12\" text-anchor=\"middle\" fill=\"#333\">round " + std::to_string(st.round) + " (" +
         xml(st.round_name) + ")</text></g>\n";
  }

  // Lanes.
  for (int i = 0; i < t.n; ++i) {
    o += "  <g class=\"lane\" id=\"lane-p" + std::to_string(i) + "\">\n";
    o += "    <text x=\"16\" y=\"" + num(Y(i) + 4) + "\" font-size=\"14\" font-weight=\"bold\">p" +
         std::to_string(i) + "</text>\n";
    o += "    <line x1=\"" + num(X(0)) + "\" y1=\"" + num(Y(i)) + "\" x2=\"" + num(X(T) + 24) + "\" y2=\"" +
         num(Y(i)) + "\" stroke=\"#555\" stroke-width=\"1.5\"/>\n";
    o += "  </g>\n";
  }

  // Messages: delivered ones as arrows, lost ones faint and dashed.
  for (size_t k = 0; k < T; ++k) {
    const TraceStep& st = t.steps[k];
    o += "  <g class=\"messages\" data-round=\"" + std::to_string(st.round) + "\">\n";
    for (int pass = 0; pass < 2; ++pass)  // lost first, so delivered arrows draw on top
      for (const TraceMessage& m : st.messages) {
        if (m.delivered != (pass == 1)) continue;
        double x0 = X(k) + pad, x1 = X(k + 1) - pad, y0 = Y(m.from), y1 = Y(m.to);
        std::string style = m.delivered
                                ? "stroke=\"#1f4e9c\" stroke-width=\"1.4\" fill=\"none\" marker-end=\"url(#arrow)\""
                                : "stroke=\"#bbbbbb\" stroke-width=\"1\" stroke-dasharray=\"4 3\" opacity=\"0.55\" "
                                  "fill=\"none\" marker-end=\"url(#arrow-lost)\"";
        std::string d = m.from == m.to ? "M " + num(x0) + " " + num(y0) + " Q " + num((x0 + x1) / 2) + " " +
                                             num(y0 - 26) + " " + num(x1) + " " + num(y1)
                                       : "M " + num(x0) + " " + num(y0) + " L " + num(x1) + " " + num(y1);
        o += "    <path class=\"" + std::string(m.delivered ? "delivered" : "lost") + "\" d=\"" + d + "\" " +
             style + "><title>" +
             xml("p" + std::to_string(m.from) + " -> p" + std::to_string(m.to) + ": " + payload(m) +
                 (m.delivered ? "" : " (lost)")) +
             "</title></path>\n";
      }
    // Payloads: once at the sender when everything it sent this round is
    // the same value (a broadcast), else on each of its arrows.
    for (int from = 0; from < t.n; ++from) {
      std::vector<const TraceMessage*> sent;
      for (const TraceMessage& m : st.messages)
        if (m.from == from) sent.push_back(&m);
      if (sent.empty()) continue;
      bool same = true;
      for (const TraceMessage* m : sent) same = same && payload(*m) == payload(*sent[0]);
      const double x0 = X(k) + pad, x1 = X(k + 1) - pad;
      for (const TraceMessage* m : sent) {
        double x = same ? x0 + 2 : x0 + 0.3 * (x1 - x0), y = same ? Y(from) - 5 : Y(from) + 0.3 * (Y(m->to) - Y(from)) - 3;
        o += "    <text class=\"payload\" x=\"" + num(x) + "\" y=\"" + num(y) +
             "\" font-size=\"9\" fill=\"#1f4e9c\">" + xml(payload(*m)) + "</text>\n";
        if (same) break;
      }
    }
    o += "  </g>\n";
  }

  // States at every round boundary.
  for (size_t k = 0; k <= T; ++k) {
    o += "  <g class=\"states\">\n";
    for (int i = 0; i < t.n; ++i) {
      const TraceProcess& p = k == 0 ? t.initial[static_cast<size_t>(i)] : t.steps[k - 1].after[static_cast<size_t>(i)];
      std::string fill = p.conflict ? "#d62728" : p.decided ? "#2ca02c" : "white";
      std::string stroke = p.halted || p.crashed ? "#999" : "#333";
      o += "    <circle cx=\"" + num(X(k)) + "\" cy=\"" + num(Y(i)) + "\" r=\"6\" fill=\"" + fill + "\" stroke=\"" +
           stroke + "\" stroke-width=\"1.5\"><title>" +
           xml("p" + std::to_string(i) + (k == 0 ? " initially" : " after round " + std::to_string(t.steps[k - 1].round)) +
               ": " + p.vars + (flags_of(p).empty() ? "" : " [" + flags_of(p) + "]")) +
           "</title></circle>\n";
      const std::vector<std::string> lines = wrap(p.vars, kWrap);
      o += "    " + text_lines(X(k) + 4, Y(i) + 20, lines, "class=\"vars\" font-size=\"9\" fill=\"#333\"") + "\n";
      if (k > 0 && !t.steps[k - 1].choices[static_cast<size_t>(i)].empty())
        o += "    " +
             text_lines(X(k) + 4, Y(i) + 20 + 11 * static_cast<double>(lines.size()),
                        wrap(t.steps[k - 1].choices[static_cast<size_t>(i)], kWrap), "font-size=\"9\" fill=\"#7a3e9d\"") +
             "\n";
    }
    o += "  </g>\n";
  }

  // The violation, called out at the state (or round) where it shows.
  {
    bool across = t.spec_kind == "property";
    double x0 = across && T > 0 ? X(T - 1) + 4 : X(T) - 16, x1 = X(T) + 16;
    o += "  <g class=\"violation\">\n";
    o += "    <rect x=\"" + num(x0) + "\" y=\"" + num(top - 24) + "\" width=\"" + num(x1 - x0) + "\" height=\"" +
         num(lanes_bottom - top + 48) + "\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2.5\" rx=\"6\"/>\n";
    double bx = std::max(16.0, std::min(x0, width - 330)), by = lanes_bottom + 42;
    o += "    <rect x=\"" + num(bx) + "\" y=\"" + num(by) + "\" width=\"310\" height=\"42\" fill=\"#fdecea\" "
         "stroke=\"#d62728\" rx=\"4\"/>\n";
    o += "    <text x=\"" + num(bx + 10) + "\" y=\"" + num(by + 18) + "\" font-size=\"13\" font-weight=\"bold\" "
         "fill=\"#d62728\">" + xml(headline(t)) + "</text>\n";
    std::string where = t.seed >= 0 ? "simulation seed " + std::to_string(t.seed)
                                    : "shortest counterexample, " + std::to_string(T) + " round" + (T == 1 ? "" : "s");
    o += "    <text x=\"" + num(bx + 10) + "\" y=\"" + num(by + 34) + "\" font-size=\"11\" fill=\"#333\">" +
         xml(where) + "</text>\n";
    o += "  </g>\n";
  }

  // Legend.
  {
    double ly = height - 16, lx = 16;
    o += "  <g class=\"legend\" font-size=\"11\" fill=\"#333\">\n";
    o += "    <line x1=\"" + num(lx) + "\" y1=\"" + num(ly - 4) + "\" x2=\"" + num(lx + 30) + "\" y2=\"" + num(ly - 4) +
         "\" stroke=\"#1f4e9c\" stroke-width=\"1.4\" marker-end=\"url(#arrow)\"/>\n";
    o += "    <text x=\"" + num(lx + 36) + "\" y=\"" + num(ly) + "\">delivered</text>\n";
    o += "    <line x1=\"" + num(lx + 110) + "\" y1=\"" + num(ly - 4) + "\" x2=\"" + num(lx + 140) + "\" y2=\"" +
         num(ly - 4) + "\" stroke=\"#bbbbbb\" stroke-dasharray=\"4 3\" marker-end=\"url(#arrow-lost)\"/>\n";
    o += "    <text x=\"" + num(lx + 146) + "\" y=\"" + num(ly) + "\">lost</text>\n";
    o += "    <circle cx=\"" + num(lx + 196) + "\" cy=\"" + num(ly - 4) + "\" r=\"5\" fill=\"#2ca02c\" stroke=\"#333\"/>\n";
    o += "    <text x=\"" + num(lx + 206) + "\" y=\"" + num(ly) + "\">decided</text>\n";
    o += "    <circle cx=\"" + num(lx + 266) + "\" cy=\"" + num(ly - 4) + "\" r=\"5\" fill=\"white\" stroke=\"#333\"/>\n";
    o += "    <text x=\"" + num(lx + 276) + "\" y=\"" + num(ly) + "\">undecided (hover for variables)</text>\n";
    o += "  </g>\n";
  }
  o += "</svg>\n";
  return o;
}

}  // namespace psync::check
