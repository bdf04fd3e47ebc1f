#include "csv_reader.hpp"

#include <pipectl/error.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using pipectl::csv::Field;
using pipectl::csv::Reader;

namespace {

struct Rec {
  std::size_t line;
  std::vector<std::string> f;
  std::vector<bool> q;
};

std::vector<Rec> all(std::string_view s, char delim = ',', bool skip_blank = true) {
  Reader r(s, delim);
  r.set_skip_blank_lines(skip_blank);
  std::vector<Field> f;
  std::vector<Rec> out;
  while (r.next(f)) {
    Rec rec{r.line(), {}, {}};
    for (const auto& x : f) {
      rec.f.emplace_back(x.text);
      rec.q.push_back(x.quoted);
    }
    out.push_back(std::move(rec));
  }
  return out;
}

using V = std::vector<std::string>;

std::string error_of(std::string_view s) {
  try {
    all(s);
  } catch (const pipectl::DataError& e) {
    return e.what();
  }
  return "<no DataError>";
}

}  // namespace

TEST_CASE("csv_source: reader splits records and fields") {
  SUBCASE("LF, with and without a final line break") {
    for (std::string s : {"a,b\n1,2\n", "a,b\n1,2"}) {
      auto r = all(s);
      REQUIRE(r.size() == 2);
      CHECK(r[0].f == V{"a", "b"});
      CHECK(r[1].f == V{"1", "2"});
      CHECK(r[1].line == 2);
    }
  }
  SUBCASE("CRLF and lone CR line ends") {
    auto r = all("a,b\r\n1,2\r\n3,4\r5,6");
    REQUIRE(r.size() == 4);
    CHECK(r[1].f == V{"1", "2"});
    CHECK(r[2].f == V{"3", "4"});
    CHECK(r[3].f == V{"5", "6"});
    CHECK(r[3].line == 4);
  }
  SUBCASE("empty fields") {
    auto r = all(",,\n,\"\",x\n");
    REQUIRE(r.size() == 2);
    CHECK(r[0].f == V{"", "", ""});
    CHECK(r[0].q == std::vector<bool>{false, false, false});
    CHECK(r[1].f == V{"", "", "x"});
    CHECK(r[1].q == std::vector<bool>{false, true, false});
  }
  SUBCASE("a trailing delimiter is a last empty field") {
    auto r = all("a,\n");
    REQUIRE(r.size() == 1);
    CHECK(r[0].f == V{"a", ""});
  }
  SUBCASE("another delimiter") {
    CHECK(all("a;b,c\n", ';')[0].f == V{"a", "b,c"});
    CHECK(all("a\tb c\n", '\t')[0].f == V{"a", "b c"});
  }
  SUBCASE("a UTF-8 BOM is skipped at the start only") {
    auto r = all("\xEF\xBB\xBFid,name\n1,\xEF\xBB\xBFx\n");
    CHECK(r[0].f == V{"id", "name"});
    CHECK(r[1].f == V{"1", "\xEF\xBB\xBFx"});
  }
  SUBCASE("blank lines are skipped, unless asked not to") {
    auto r = all("\na\n\n\r\nb\n\n");
    REQUIRE(r.size() == 2);
    CHECK(r[0].line == 2);
    CHECK(r[1].f == V{"b"});
    CHECK(r[1].line == 5);
    auto k = all("a\n\nb\n", ',', false);
    REQUIRE(k.size() == 3);
    CHECK(k[1].f == V{""});
    CHECK(k[2].line == 3);
  }
  SUBCASE("spaces belong to the field") { CHECK(all(" a , b \n")[0].f == V{" a ", " b "}); }
  SUBCASE("a quote inside a bare field is an ordinary character") { CHECK(all("5\"10,x\n")[0].f == V{"5\"10", "x"}); }
}

TEST_CASE("csv_source: reader handles quoted fields") {
  SUBCASE("delimiters, escaped quotes and line breaks inside quotes") {
    auto r = all("id,text\n1,\"a,b\"\n2,\"say \"\"hi\"\"\"\n3,\"two\r\nlines\nhere\"\n4,\"\"\"\"\n5,x\n");
    REQUIRE(r.size() == 6);
    CHECK(r[1].f == V{"1", "a,b"});
    CHECK(r[1].q == std::vector<bool>{false, true});
    CHECK(r[2].f == V{"2", "say \"hi\""});
    CHECK(r[3].f == V{"3", "two\r\nlines\nhere"});
    CHECK(r[3].line == 4);
    CHECK(r[4].f == V{"4", "\""});
    CHECK(r[4].line == 7);  // the line breaks inside record 3 are counted
    CHECK(r[5].line == 8);
  }
  SUBCASE("several escaped fields in one record stay intact") {
    std::string big(300, 'x');
    auto r = all("\"a\"\"" + big + "\",\"b\"\"" + big + "\",\"c\"\"\"\n");
    REQUIRE(r.size() == 1);
    CHECK(r[0].f == V{"a\"" + big, "b\"" + big, "c\""});
  }
  SUBCASE("a quoted field at the end of the input without a line break") {
    CHECK(all("a,\"b\"")[0].f == V{"a", "b"});
  }
  SUBCASE("unterminated quoted field: the line where it starts") {
    CHECK(error_of("a,b\n1,2\n3,\"open\n4,5\n6,7\n") == "line 3: unterminated quoted field");
    CHECK(error_of("a,b\n\"x\"\"") == "line 2: unterminated quoted field");
  }
  SUBCASE("text after a closing quote") {
    CHECK(error_of("a,b\n1,\"x\"y\n") == "line 2: text after the closing quote of field 2");
    CHECK(error_of("\"a\nb\" c,d\n") == "line 2: text after the closing quote of field 1");
  }
}

TEST_CASE("csv_source: for_each_item splits list fields") {
  std::vector<std::string> got;
  auto split = [&](std::string_view s, std::string_view sep) {
    got.clear();
    pipectl::csv::for_each_item(s, sep, [&](std::string_view x) { got.emplace_back(x); });
    return got;
  };
  CHECK(split("a|b|c", "|") == V{"a", "b", "c"});
  CHECK(split("a||b|", "|") == V{"a", "b"});
  CHECK(split("", "|").empty());
  CHECK(split("a::b", "::") == V{"a", "b"});
  CHECK(split("one", "|") == V{"one"});
}

namespace {
std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

TEST_CASE("csv_source: reader on random input: records or a DataError, nothing else") {
  std::uint64_t seed = 7;
  const char alphabet[] = {'a', 'b', ',', '"', '\n', '\r', ' ', ';'};
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s(splitmix64(seed) % 40, ' ');
    for (auto& c : s) c = alphabet[splitmix64(seed) % sizeof alphabet];
    CAPTURE(s);
    try {
      Reader r(s);
      std::vector<Field> f;
      std::size_t records = 0, last_line = 0;
      while (r.next(f)) {
        REQUIRE(++records <= s.size() + 1);
        REQUIRE(r.line() > last_line);  // lines only move forward
        last_line = r.line();
        REQUIRE_FALSE(f.empty());
      }
      CHECK(r.offset() == s.size());
    } catch (const pipectl::DataError&) {
    }
  }
}

TEST_CASE("csv_source: reader reads back what a quoting writer wrote") {
  std::uint64_t seed = 11;
  const char alphabet[] = {'x', ',', '"', '\n', '\r', ' '};
  for (int iter = 0; iter < 500; ++iter) {
    std::vector<std::vector<std::string>> rows(1 + splitmix64(seed) % 5);
    const std::size_t ncol = 1 + splitmix64(seed) % 4;
    std::string text;
    for (auto& row : rows) {
      for (std::size_t c = 0; c < ncol; ++c) {
        std::string v(1 + splitmix64(seed) % 6, ' ');
        for (auto& ch : v) ch = alphabet[splitmix64(seed) % sizeof alphabet];
        row.push_back(v);
        text += c ? "," : "";
        text += '"';
        for (char ch : v) text += ch == '"' ? std::string("\"\"") : std::string(1, ch);
        text += '"';
      }
      text += splitmix64(seed) % 2 ? "\r\n" : "\n";
    }
    CAPTURE(text);
    auto got = all(text);
    REQUIRE(got.size() == rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) CHECK(got[i].f == rows[i]);
  }
}
