#include "profile.hpp"

PIPECTL_PLUGIN(profile, "report", "1.0.0",
               "exploratory profile: numeric summaries, outlier views, top values, label rates, "
               "columns ranked by AUC and mutual information (output = input)",
               pipectl::plugins::profile_spec, pipectl::plugins::Profile)
