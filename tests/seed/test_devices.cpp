// Devices and products never seen: iot.toml fitted on generated households,
// then `pipectl predict --by device` on new households of the same products
// and on households whose products are disjoint from the training ones.
#include <doctest/doctest.h>

#include "seed_common.hpp"

using namespace seed_test;

namespace {

/// netcollector-gen with `args`, into `dir`/name.
std::string households(const fs::path& dir, const std::string& name, const std::string& args) {
  const auto path = (dir / name).string();
  auto r = sh(quote(kGen) + " " + args + " --out " + quote(path));
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  return path;
}

struct Verdicts {
  std::size_t labelled = 0, right = 0, unlabelled = 0;
  double share() const { return labelled ? static_cast<double>(right) / static_cast<double>(labelled) : 0.0; }
};

/// predict --by device on `db`; a labelled device is right when its verdict is the positive class exactly when it is IoT.
Verdicts predict_devices(const fs::path& home, const fs::path& run, const std::string& db, const std::string& positive,
                         std::string* stderr_text = nullptr) {
  const auto out = home / (fs::path(db).stem().string() + "-devices.csv");
  auto p = run_pipectl("predict " + quote(run.string()) + " --input " + quote(db) + " --by device --out " +
                           quote(out.string()),
                       home);
  REQUIRE_MESSAGE(p.rc == 0, p.err);
  if (stderr_text) *stderr_text = p.err;
  Verdicts v;
  for (const auto& row : read_csv(out)) {
    const std::string& type = row.at("device_type");
    if (type.empty()) {
      ++v.unlabelled;
      continue;
    }
    ++v.labelled;
    v.right += (type != "Other") == (row.at("verdict") == positive);
  }
  return v;
}

}  // namespace

TEST_CASE("devices: iot.toml's device verdicts on new households: >= 97 % with the training products, >= 90 % with "
          "products never seen") {
  TempDir home;
  const std::string train = households(home.path, "train.sqlite", "--households 16 --sessions 16000 --seed 1 --products a");
  const std::string same = households(home.path, "same.sqlite", "--households 8 --sessions 8000 --seed 2 --products a");
  const std::string other = households(home.path, "other.sqlite", "--households 8 --sessions 8000 --seed 3 --products b");
  const auto run = home / "run";
  auto r = run_pipectl("run " + kPipelines + "/iot.toml -q --set source.path=" + quote(train) + " --out " +
                           quote(run.string()),
                       home.path);
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const auto m = json::parse(slurp(run / "metrics.json"))["evaluate"];
  REQUIRE(m.contains("device_threshold"));
  const std::string positive = m["classes"][1].get<std::string>();
  CHECK(m["roc_auc_ci"].is_array());

  std::string said;
  const Verdicts known = predict_devices(home.path, run, same, positive, &said);
  // predict says where its threshold comes from.
  CHECK(said.find("the threshold stage \"evaluate\" chose on the validation devices") != std::string::npos);
  const Verdicts unseen = predict_devices(home.path, run, other, positive);
  MESSAGE("training products: " << known.right << "/" << known.labelled << "; products never seen: " << unseen.right
                                << "/" << unseen.labelled << "; threshold " << m["device_threshold"]);
  CHECK(known.labelled >= 80);
  CHECK(unseen.labelled >= 80);
  CHECK(known.unlabelled > 0);  // unlabelled devices get a verdict too
  CHECK(known.share() >= 0.97);
  CHECK(unseen.share() >= 0.90);
}
