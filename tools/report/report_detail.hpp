// Internals of the report library shared by its sources (not installed).
#pragma once

#include "compare_report.hpp"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace pipectl::report::detail {

inline nlohmann::json nan_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

/// One compared column of the table.
struct Column {
  const char* key;    ///< field name in compare.json
  const char* title;  ///< table header
  bool higher_better;
  std::function<double(const ModelRow&)> value;   ///< NaN = not available
  std::function<std::string(double)> format;      ///< shown text of a finite value
};

/// The compared columns, in table order.
const std::vector<Column>& columns();

/// best[c][r]: row r holds the best value of column c (only with two or more
/// rows having a value in that column; ties all count).
std::vector<std::vector<bool>> best_flags(const CompareReport& report);

/// Shown text of a cell ("-" when not available).
std::string cell_text(const Column& c, const ModelRow& row);

/// Whether the table needs an "evaluator" column (models from several evaluators).
bool several_evaluators(const CompareReport& report);

std::string fmt_fixed(double v, int decimals);
std::string fmt_seconds(double s);
std::string fmt_rate(double r);
std::string fmt_bytes(double b);
std::string html_escape(const std::string& s);

/// A gnuplot SVG made fit to inline into HTML: XML prolog and doctype dropped,
/// the xlink namespace declaration dropped (HTML knows it), every id (and the
/// references to it) prefixed with `prefix` so two plots never share an id,
/// the <title> replaced, and `attrs` added to the root element.
std::string inline_svg(const std::string& svg, const std::string& prefix, const std::string& title,
                       const std::string& attrs);

}  // namespace pipectl::report::detail
