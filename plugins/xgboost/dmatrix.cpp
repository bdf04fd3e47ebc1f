#include "dmatrix.hpp"

#include <cstdint>
#include <string>

namespace pipectl::xgb {

namespace {

static_assert(sizeof(std::uint64_t) == sizeof(std::size_t) && alignof(std::uint64_t) == alignof(std::size_t),
              "FeatureMatrix::indptr must be passable as size_t*");
static_assert(sizeof(std::uint32_t) == sizeof(unsigned), "FeatureMatrix::indices must be passable as unsigned*");

// Native categorical features: XGBoost's feature type "c" for them, "q"
// (numeric) for the others; empty when there is none.
std::vector<const char*> feature_types(const FeatureMatrix& m) {
  std::vector<const char*> types;
  types.reserve(m.categorical.size());
  for (auto c : m.categorical) types.push_back(c ? "c" : "q");
  return types;
}

std::vector<const char*> c_strings(const std::vector<std::string>& v) {
  std::vector<const char*> out;
  out.reserve(v.size());
  for (const auto& s : v) out.push_back(s.c_str());
  return out;
}

// Labels, feature names and types of a DMatrix (or of the proxy a
// QuantileDMatrix reads its batch from). Returns the failed call's name, or null.
const char* set_info(DMatrixHandle h, const FeatureMatrix& m, const std::vector<const char*>& names,
                     const std::vector<float>* labels) {
  if (labels && XGDMatrixSetFloatInfo(h, "label", labels->data(), static_cast<bst_ulong>(labels->size())) != 0)
    return "XGDMatrixSetFloatInfo";
  if (!names.empty() && XGDMatrixSetStrFeatureInfo(h, "feature_name", const_cast<const char**>(names.data()),
                                                   static_cast<bst_ulong>(names.size())) != 0)
    return "XGDMatrixSetStrFeatureInfo";
  if (!m.categorical.empty()) {
    auto types = feature_types(m);
    if (XGDMatrixSetStrFeatureInfo(h, "feature_type", types.data(), static_cast<bst_ulong>(types.size())) != 0)
      return "XGDMatrixSetStrFeatureInfo";
  }
  return nullptr;
}

// An array-interface (version 3) description of a host buffer, as XGBoost's
// proxy DMatrix reads its CSR input (XGBoost reads the buffer, no copy).
template <class T>
std::string array_interface(const std::vector<T>& v, const char* typestr) {
  return "{\"data\": [" + std::to_string(reinterpret_cast<std::uintptr_t>(v.data())) + ", true], \"shape\": [" +
         std::to_string(v.size()) + "], \"typestr\": \"" + typestr + "\", \"version\": 3}";
}

// The one batch a QuantileDMatrix is built from: XGBoost calls next() (the
// proxy gets the CSR arrays, labels, names and types), reads the batch, calls
// next() again (no more), and may reset() and read it again.
struct OneBatch {
  DMatrixHandle proxy = nullptr;
  const FeatureMatrix* m = nullptr;
  const std::vector<float>* labels = nullptr;
  std::vector<const char*> names;
  std::string indptr, indices, values;
  bool given = false;
  std::string error;  // an exception must not cross XGBoost's C frames: kept here, thrown after
};

void one_batch_reset(DataIterHandle h) { static_cast<OneBatch*>(h)->given = false; }

int one_batch_next(DataIterHandle h) {
  auto* it = static_cast<OneBatch*>(h);
  if (it->given) return 0;
  it->given = true;
  const char* failed = nullptr;
  if (XGProxyDMatrixSetDataCSR(it->proxy, it->indptr.c_str(), it->indices.c_str(), it->values.c_str(),
                               static_cast<bst_ulong>(it->m->cols)) != 0)
    failed = "XGProxyDMatrixSetDataCSR";
  else
    failed = set_info(it->proxy, *it->m, it->names, it->labels);
  if (failed) {
    it->error = std::string("xgboost: ") + failed + " failed: " + XGBGetLastError();
    return 0;
  }
  return 1;
}

}  // namespace

DMatrixPtr make_dmatrix(const FeatureMatrix& m, const std::vector<std::string>& xgb_names,
                        const std::vector<float>* labels) {
  DMatrixHandle h = nullptr;
  XGB_CALL(XGDMatrixCreateFromCSREx, reinterpret_cast<const std::size_t*>(m.indptr.data()),
           reinterpret_cast<const unsigned*>(m.indices.data()), m.values.data(), m.indptr.size(),
           m.values.size(), m.cols, &h);
  DMatrixPtr out(h);
  if (const char* failed = set_info(h, m, c_strings(xgb_names), labels))
    throw Error(std::string("xgboost: ") + failed + " failed: " + XGBGetLastError());
  return out;
}

DMatrixPtr make_quantile_dmatrix(const FeatureMatrix& m, const std::vector<std::string>& xgb_names,
                                 const std::vector<float>* labels, DMatrixHandle ref, int max_bin, int nthread) {
  DMatrixHandle proxy = nullptr;
  XGB_CALL(XGProxyDMatrixCreate, &proxy);
  DMatrixPtr proxy_owned(proxy);
  OneBatch it;
  it.proxy = proxy;
  it.m = &m;
  it.labels = labels;
  it.names = c_strings(xgb_names);
  it.indptr = array_interface(m.indptr, "<u8");
  it.indices = array_interface(m.indices, "<u4");
  it.values = array_interface(m.values, "<f4");
  // (by hand: XGBoost's JSON reader takes NaN, which JSON itself has not)
  const std::string cfg = "{\"missing\": NaN, \"nthread\": " + std::to_string(nthread) +
                          ", \"max_bin\": " + std::to_string(max_bin) + "}";
  DMatrixHandle h = nullptr;
  const int rc =
      XGQuantileDMatrixCreateFromCallback(&it, proxy, ref, one_batch_reset, one_batch_next, cfg.c_str(), &h);
  DMatrixPtr out(h);
  if (!it.error.empty()) throw Error(it.error);
  if (rc != 0) throw Error(std::string("xgboost: XGQuantileDMatrixCreateFromCallback failed: ") + XGBGetLastError());
  return out;
}

}  // namespace pipectl::xgb
