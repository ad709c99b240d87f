#include "core/config_reference_compat.h"

#include <algorithm>
#include <map>
#include <thread>

#include "core/config_codec.h"
#include "core/strings.h"

namespace pixelrec {

namespace {

using namespace config_detail;

FieldSpec compat(FieldSpec f, std::string maps_to) {
  f.compat_only = true;
  f.maps_to = std::move(maps_to);
  f.dump = [](const Config&) { return YAML::Node(); };  // never written: the project key is
  return f;
}

template <class T>
T decode_or_fail(const std::string& path, const YAML::Node& node, const std::string& allowed) {
  try {
    if (!node.IsDefined() || node.IsNull()) throw YAML::Exception(node.Mark(), "null");
    return Codec<T>::decode(node);
  } catch (const YAML::Exception&) {
    bad_value(path, node, allowed);
  }
}

const FieldSpec& project_field(const std::vector<FieldSpec>& project, const std::string& path) {
  const auto it = std::find_if(project.begin(), project.end(),
                               [&](const FieldSpec& f) { return f.path == path; });
  PIXELREC_CHECK(it != project.end(), "no config field " + path);
  return *it;
}

// The reference's name of a project key: the same values and checks; errors name both keys.
FieldSpec spelling_of(const std::string& path, const FieldSpec& target) {
  FieldSpec f = target;
  f.path = path;
  f.deprecation.clear();
  f.doc = "the reference's name of this key";
  f.assign = [path, target](Config& c, const YAML::Node& node) {
    try {
      target.assign(c, node);
    } catch (const ConfigError& e) {
      std::string msg = e.what();
      const auto at = msg.find(target.path);
      if (at != std::string::npos)
        msg.replace(at, target.path.size(), path + " (= " + target.path + ")");
      throw ConfigError(msg);
    }
  };
  return compat(f, target.path);
}

// Every key below `from` spelt as the same key below `to` (data.image_compression_config.* =
// data.offline_image_compression.*), except the leaves in `skip`.
std::vector<FieldSpec> section_spelling(const std::vector<FieldSpec>& project,
                                        const std::string& from, const std::string& to) {
  std::vector<FieldSpec> out;
  for (const auto& f : project)
    if (starts_with(f.path, to + ".") && !f.compat_only)
      out.push_back(spelling_of(from + f.path.substr(to.size()), f));
  return out;
}

// A reference key the project has no use for: its value is checked, then it warns with `why`.
template <class T>
FieldSpec no_effect(const std::string& path, Check<T> check, std::string why) {
  FieldSpec f;
  f.path = path;
  f.allowed = check.allowed;
  f.doc = "reference key without effect";
  f.deprecation = std::move(why);
  f.assign = [path, check](Config&, const YAML::Node& node) {
    if (!check.ok(decode_or_fail<T>(path, node, check.allowed)))
      bad_value(path, node, check.allowed);
  };
  return compat(f, "");
}

// A reference setting the project has, fixed at `value`: that value loads (with its meaning),
// any other is an error that says so.
template <class T>
FieldSpec fixed(const std::string& path, T value, const std::string& text,
                const std::string& meaning) {
  FieldSpec f;
  f.path = path;
  f.allowed = text + " only";
  f.doc = "fixed in PixelRec-MM: " + meaning;
  f.assign = [path, value, text, meaning](Config&, const YAML::Node& node) {
    if (decode_or_fail<T>(path, node, text + " only") != value)
      throw ConfigError("invalid value for " + path + ": '" + render(node) +
                        "'; PixelRec-MM has no such setting (" + meaning +
                        "): remove the key or set it to " + text);
  };
  return compat(f, "");
}

// A reference key whose value is translated onto project keys by `apply`.
FieldSpec translated(const std::string& path, const std::string& maps_to, std::string allowed,
                     std::string doc, std::function<void(Config&, const YAML::Node&)> apply) {
  FieldSpec f;
  f.path = path;
  f.allowed = std::move(allowed);
  f.doc = std::move(doc);
  f.assign = std::move(apply);
  return compat(f, maps_to);
}

FieldSpec enable_pruning() {
  const std::string path = "hyperparameter_search.enable_pruning";
  return translated(path, "hyperparameter_search.pruner", "true or false",
                    "whether the search prunes: false sets the pruner to none; true keeps the "
                    "pruner, or sets median (the reference's pruner) when it is none",
                    [path](Config& c, const YAML::Node& node) {
                      auto& pruner = c.hyperparameter_search.pruner;
                      if (!decode_or_fail<bool>(path, node, "true or false"))
                        pruner = "none";
                      else if (pruner == "none")
                        pruner = "median";
                    });
}

FieldSpec pruner_type() {
  const std::string path = "hyperparameter_search.pruner_type";
  const std::string allowed =
      "median (= pruner median) or hyperband (= pruner asha, successive halving)";
  return translated(
      path, "hyperparameter_search.pruner", allowed,
      "the kind of pruner; never re-enables pruning that enable_pruning: false turned off",
      [path, allowed](Config& c, const YAML::Node& node) {
        const std::string kind = decode_or_fail<std::string>(path, node, allowed);
        if (kind != "median" && kind != "hyperband")
          throw ConfigError("invalid value for " + path + ": '" + render(node) +
                            "'; PixelRec-MM has no " + kind +
                            " pruner: use median (Optuna's percentile pruner at 50) or "
                            "hyperband (successive halving, pruner asha)");
        auto& pruner = c.hyperparameter_search.pruner;
        if (pruner != "none") pruner = kind == "median" ? "median" : "asha";
      });
}

FieldSpec n_jobs() {
  const std::string path = "hyperparameter_search.n_jobs";
  const std::string allowed = "an integer >= 1, or -1 (one per core)";
  return translated(
      path, "hyperparameter_search.parallel", allowed, "trials run at once by `pixelrec hpo`",
      [path, allowed](Config& c, const YAML::Node& node) {
        const int n = decode_or_fail<int>(path, node, allowed);
        if (n == -1)
          c.hyperparameter_search.parallel = int(std::max(1u, std::thread::hardware_concurrency()));
        else if (n >= 1)
          c.hyperparameter_search.parallel = n;
        else
          bad_value(path, node, allowed);
      });
}

FieldSpec sampler_type() {
  const std::string path = "hyperparameter_search.sampler_config.type";
  const std::string allowed = "TPESampler (= sampler tpe) or RandomSampler (= sampler random)";
  return translated(path, "hyperparameter_search.sampler", allowed, "the Optuna sampler class",
                    [path, allowed](Config& c, const YAML::Node& node) {
                      const std::string type = decode_or_fail<std::string>(path, node, allowed);
                      if (type == "TPESampler")
                        c.hyperparameter_search.sampler = "tpe";
                      else if (type == "RandomSampler")
                        c.hyperparameter_search.sampler = "random";
                      else
                        bad_value(path, node, allowed);
                    });
}

FieldSpec max_resource(const FieldSpec& asha_max) {
  const std::string path = "hyperparameter_search.pruner_config.max_resource";
  const std::string allowed = "auto (= training.epochs) or " + asha_max.allowed;
  return translated(path, asha_max.path, allowed, "epochs of a full trial",
                    [path, asha_max](Config& c, const YAML::Node& node) {
                      if (node.IsScalar() && node.Scalar() == "auto")
                        c.hyperparameter_search.asha.max_resource = 0;
                      else
                        spelling_of(path, asha_max).assign(c, node);
                    });
}

}  // namespace

std::vector<FieldSpec> reference_compat_fields(const std::vector<FieldSpec>& project) {
  auto key = [&](const std::string& path) -> const FieldSpec& {
    return project_field(project, path);
  };
  const auto any_bool = Check<bool>{};
  const auto any_str = Check<std::string>{};
  const auto nonneg_int = at_least(0);
  const std::string cache_note =
      "the HDF5 feature store (data.feature_store_path) replaces the reference's in-memory cache";
  const std::string study_note =
      "a study keeps every trial's run folder and checkpoints under "
      "<results_dir>/hpo/<study_name>";
  std::vector<FieldSpec> out = {
      // ---- data ----
      spelling_of("data.cache_dir", key("data.cache_config.cache_directory")),
      no_effect("data.cache_features", any_bool, cache_note),
      no_effect("data.cache_max_items", nonneg_int, cache_note),
      no_effect("data.cache_to_disk", any_bool, cache_note),
      no_effect("data.image_augmentation.gaussian_noise", any_bool,
                "the reference defines it but never applies it"),
      no_effect("data.image_augmentation.noise_std", at_least(0.0),
                "the reference defines it but never applies it"),
      no_effect("data.offline_text_cleaning.enabled", any_bool,
                "the reference never reads it; switch remove_html, normalize_unicode and "
                "to_lowercase individually"),
      no_effect("data.text_cleaning_config.enabled", any_bool,
                "the reference never reads it; switch remove_html, normalize_unicode and "
                "to_lowercase individually"),

      // ---- hyperparameter search ----
      spelling_of("hyperparameter_search.metric", key("hyperparameter_search.optimize_metric")),
      enable_pruning(),
      pruner_type(),
      n_jobs(),
      sampler_type(),
      fixed("hyperparameter_search.sampler_config.n_startup_trials", 10, "10",
            "TPE samples its first 10 trials at random"),
      fixed("hyperparameter_search.sampler_config.n_ei_candidates", 24, "24",
            "TPE draws 24 candidates per parameter"),
      fixed("hyperparameter_search.sampler_config.multivariate", false, "false",
            "TPE is univariate"),
      fixed("hyperparameter_search.sampler_config.group", false, "false", "TPE is univariate"),
      no_effect("hyperparameter_search.sampler_config.warn_independent_sampling", any_bool,
                "an Optuna warning switch"),
      spelling_of("hyperparameter_search.pruner_config.n_startup_trials",
                  key("hyperparameter_search.median.n_startup_trials")),
      spelling_of("hyperparameter_search.pruner_config.n_warmup_steps",
                  key("hyperparameter_search.median.n_warmup_steps")),
      fixed("hyperparameter_search.pruner_config.interval_steps", 1, "1",
            "the pruner judges a trial after every epoch"),
      fixed("hyperparameter_search.pruner_config.percentile", 50.0, "50",
            "the median pruner's percentile"),
      spelling_of("hyperparameter_search.pruner_config.min_resource",
                  key("hyperparameter_search.asha.min_resource")),
      max_resource(key("hyperparameter_search.asha.max_resource")),
      spelling_of("hyperparameter_search.pruner_config.reduction_factor",
                  key("hyperparameter_search.asha.reduction_factor")),
      no_effect("hyperparameter_search.output_dir", any_str, study_note),
      no_effect("hyperparameter_search.save_trial_checkpoints", any_bool, study_note),
      no_effect("hyperparameter_search.delete_unsuccessful_trials", any_bool, study_note),
      no_effect("hyperparameter_search.min_improvement_threshold", at_least(0.0),
                "the best trial is the one with the best objective value"),
      no_effect("hyperparameter_search.resume_if_exists", any_bool,
                "a study always continues from its SQLite storage; use a new study_name to "
                "start afresh"),
      no_effect("hyperparameter_search.create_visualizations", any_bool,
                "`pixelrec report` renders a study's page (history, importance)"),
      no_effect("hyperparameter_search.visualization_formats", Check<std::vector<std::string>>{},
                "`pixelrec report` renders a study's page as HTML"),
  };
  for (auto [from, to] :
       {std::pair{"data.image_compression_config", "data.offline_image_compression"},
        std::pair{"data.image_validation_config", "data.offline_image_validation"},
        std::pair{"data.text_cleaning_config", "data.offline_text_cleaning"}}) {
    auto spelt = section_spelling(project, from, to);
    out.insert(out.end(), spelt.begin(), spelt.end());
  }
  return out;
}

YAML::Node canonical_search_space(const YAML::Node& space, const std::string& source) {
  if (!space.IsDefined() || !space.IsMap()) return YAML::Clone(space);
  auto canonical = [](const std::string& name) {
    if (find_config_field(name)) return name;
    std::string found;
    for (const char* section : {"model.", "training."}) {
      const FieldSpec* f = find_config_field(section + name);
      if (!f || f->compat_only) continue;
      if (!found.empty()) return name;  // ambiguous: left for the search space to report
      found = f->path;
    }
    return found.empty() ? name : found;
  };
  YAML::Node out(YAML::NodeType::Map);
  std::map<std::string, std::string> written_as;  // canonical name -> the name first written
  for (const auto& kv : space) {
    const std::string written = kv.first.as<std::string>();
    const std::string name = canonical(written);
    if (const auto [it, first] = written_as.emplace(name, written); !first) {
      if (it->second == written)
        throw ConfigError(source + ": parameter '" + name +
                          "': defined twice; keep one definition");
      throw ConfigError(source + ": parameters '" + it->second + "' and '" + written +
                        "' both set '" + name +
                        "' (the reference's name of a config key and its "
                        "path); keep one of the two");
    }
    YAML::Node spec = YAML::Clone(kv.second);
    if (spec.IsMap() && spec["condition"] && spec["condition"].IsMap()) {
      YAML::Node condition(YAML::NodeType::Map);
      for (const auto& c : spec["condition"])
        condition[canonical(c.first.as<std::string>())] = c.second;
      spec["condition"] = condition;
    }
    out[name] = spec;
  }
  return out;
}

}  // namespace pixelrec
