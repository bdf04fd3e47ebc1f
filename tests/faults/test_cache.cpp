// The stage cache under damage: a flipped byte in a cached table or model is
// found by its checksum and the stage runs again; prune says what it could
// not remove.
#include "faults_common.hpp"

#include <unistd.h>

#include <fstream>

using namespace faults;

namespace {

fs::path entry_of(const Home& h, const fs::path& run, const std::string& stage) {
  const std::string key = stage_of(run, stage)["cache_key"].get<std::string>();
  return h.cache() / key.substr(0, 2) / key;
}

std::string iot(const Home& h, const std::string& db, const fs::path& out) {
  return "run " + quote(kPipelines + "/iot.toml") + " --jobs 1 --set train.num_round=40 --set source.path=" +
         quote(db) + " --out " + quote(out.string());
}

}  // namespace

TEST_CASE("faults: 16 flipped bytes in a cached table are detected, the stage runs again and the metrics are a clean run's") {
  Home h;
  const auto db = small_db(h);
  auto a = h.pipectl(iot(h, db, h.path() / "a"));
  REQUIRE_MESSAGE(a.rc == 0, a.err);
  const auto table = entry_of(h, h.path() / "a", "dns") / "table.bin";
  REQUIRE(fs::exists(table));
  {
    std::fstream f(table, std::ios::in | std::ios::out | std::ios::binary);
    const auto mid = static_cast<std::streamoff>(fs::file_size(table) / 2);
    char b[16];
    f.seekg(mid);
    f.read(b, sizeof b);
    for (auto& c : b) c = static_cast<char>(~c);
    f.seekp(mid);
    f.write(b, sizeof b);
  }
  // Another max_depth: the trainer runs again and reads the dns stage's table.
  auto b = h.pipectl(iot(h, db, h.path() / "b") + " --set train.max_depth=4");
  REQUIRE_MESSAGE(b.rc == 0, b.err);
  CHECK(b.err.find("is damaged") != std::string::npos);
  CHECK(b.err.find("checksum") != std::string::npos);
  CHECK(stage_of(h.path() / "b", "dns")["cached"] == false);
  auto clean = h.pipectl(iot(h, db, h.path() / "clean") + " --set train.max_depth=4 --no-cache");
  REQUIRE(clean.rc == 0);
  CHECK(slurp(h.path() / "b" / "metrics.json") == slurp(h.path() / "clean" / "metrics.json"));
  // The entry was replaced by a sound one: a third run loads it.
  auto c = h.pipectl(iot(h, db, h.path() / "c") + " --set train.max_depth=5");
  REQUIRE(c.rc == 0);
  CHECK(stage_of(h.path() / "c", "dns")["cached"] == true);
  CHECK(c.err.find("is damaged") == std::string::npos);
}

TEST_CASE("faults: a changed digit in a cached model is detected and the model is trained again") {
  Home h;
  const auto db = small_db(h);
  auto a = h.pipectl(iot(h, db, h.path() / "a"));
  REQUIRE_MESSAGE(a.rc == 0, a.err);
  const auto model = entry_of(h, h.path() / "a", "train") / "artifacts" / "model.json";
  REQUIRE(fs::exists(model));
  std::string text = slurp(model);
  std::size_t at = text.find_first_of("123456789", text.size() / 2);
  REQUIRE(at != std::string::npos);
  text[at] = text[at] == '9' ? '1' : static_cast<char>(text[at] + 1);
  std::ofstream(model, std::ios::binary | std::ios::trunc) << text;
  auto b = h.pipectl(iot(h, db, h.path() / "b"));
  REQUIRE_MESSAGE(b.rc == 0, b.err);
  CHECK(b.err.find("is damaged") != std::string::npos);
  CHECK(stage_of(h.path() / "b", "train")["cached"] == false);
  CHECK(slurp(h.path() / "b" / "stages" / "train" / "model.json") ==
        slurp(h.path() / "a" / "stages" / "train" / "model.json"));
}

TEST_CASE("faults: cache prune on a read-only cache reports what it could not remove and exits non-zero") {
  Home h;
  const auto pipe = h.path() / "p.toml";
  std::ofstream(pipe) << "[pipeline]\nname = \"p\"\n\n[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\nrows = 20\n";
  auto a = h.pipectl("run " + quote(pipe.string()) + " -q --out " + quote((h.path() / "a").string()), true);
  REQUIRE_MESSAGE(a.rc == 0, a.err);
  auto info = h.pipectl("cache info");
  REQUIRE(info.out.find("1 entry") != std::string::npos);
  // Read-only for the user who prunes: as root, permissions do not apply, so
  // the prune runs as nobody on a cache nobody may read but not change.
  std::string prefix;
  if (::geteuid() == 0) {
    if (sh("command -v setpriv").rc != 0) {
      skip("running as root without setpriv: a read-only cache cannot be made");
      return;
    }
    // nobody must reach the binary, its libraries and the cache.
    auto probe = sh("setpriv --reuid=65534 --regid=65534 --clear-groups " + quote(bin()) + " --version");
    if (probe.rc != 0) {
      skip("user nobody cannot run " + bin() + ": " + probe.err);
      return;
    }
    fs::permissions(h.path(), fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
    prefix = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  }
  sh("chmod -R a-w " + quote(h.cache().string()));
  auto p = sh(h.env() + " " + prefix + quote(bin()) + " cache prune", h.path());
  sh("chmod -R u+w " + quote(h.cache().string()));
  CHECK(p.rc == 1);
  CHECK(p.out.find("removed 0 cached stage outputs") != std::string::npos);
  CHECK(p.err.find("1 cached stage output could not be removed") != std::string::npos);
  CHECK(p.err.find("Permission denied") != std::string::npos);
  CHECK(h.pipectl("cache info").out.find("1 entry") != std::string::npos);
}
