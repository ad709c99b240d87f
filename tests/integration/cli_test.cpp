// The CLI contract shared by every subcommand: help and exit codes, --config layering, --set,
// --strict, dashed and underscore spellings, and docs/configuration.md matching the schema.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace pixelrec::test {
namespace {

TEST(Cli, HelpListsTheSubcommandsAndExitsZero) {
  auto r = run_pixelrec("--help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* sub : {"config", "synth", "preprocess", "split"})
    EXPECT_NE(r.output.find(sub), std::string::npos) << sub;
}

TEST(Cli, SubcommandHelpShowsDefaults) {
  auto r = run_pixelrec("config show --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("--set"), std::string::npos);
  EXPECT_NE(r.output.find("--strict"), std::string::npos);
}

// Every baseline `evaluate` and `recommend` accept is named in their --help.
TEST(Cli, EvaluateAndRecommendHelpNameEveryBaseline) {
  for (const char* command : {"evaluate --help", "recommend --help"}) {
    const auto r = run_pixelrec(command);
    EXPECT_EQ(r.exit_code, 0);
    for (const char* name :
         {"random", "popularity", "itemknn", "userknn", "contentknn", "ease", "ials"})
      EXPECT_NE(r.output.find(name), std::string::npos) << command << ": " << name;
  }
}

TEST(Cli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run_pixelrec("").exit_code, 2);
  EXPECT_EQ(run_pixelrec("no-such-step").exit_code, 2);
  EXPECT_EQ(run_pixelrec("config show --no-such-flag").exit_code, 2);
  auto r = run_pixelrec("config show --set training");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--set expects key.path=value, got 'training'"), std::string::npos);
}

TEST(Cli, ConfigFilesLayerAndSetComesLast) {
  ScratchDir dir("cli_layers");
  write_text(dir / "a.yaml", "training:\n  epochs: 3\n  batch_size: 16\n");
  write_text(dir / "b.yaml", "training:\n  epochs: 5\n");
  auto r = run_pixelrec("config show -c " + shell_quote((dir / "a.yaml").string()) + " --config " +
                        shell_quote((dir / "b.yaml").string()) + " --set training.batch_size=64");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("  epochs: 5\n"), std::string::npos);
  EXPECT_NE(r.output.find("  batch_size: 64\n"), std::string::npos);
}

TEST(Cli, UnknownKeyWarnsAndStrictMakesItAnError) {
  ScratchDir dir("cli_strict");
  write_text(dir / "typo.yaml", "model:\n  fusion_typ: gated\n");
  const std::string cfg = shell_quote((dir / "typo.yaml").string());
  auto lenient = run_pixelrec("config check -c " + cfg);
  EXPECT_EQ(lenient.exit_code, 0);
  EXPECT_NE(lenient.output.find("did you mean 'model.fusion_type'?"), std::string::npos);
  EXPECT_NE(lenient.output.find("configuration is valid (1 warning)"), std::string::npos);
  auto strict = run_pixelrec("config check --strict -c " + cfg);
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_NE(strict.output.find("pixelrec: error: unknown config key 'model.fusion_typ'"),
            std::string::npos);
}

TEST(Cli, InvalidValueIsOneLineWithKeyValueAndAllowed) {
  auto r = run_pixelrec("config check --set model.fusion_type=mlp");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output,
            "pixelrec: error: invalid value for model.fusion_type: 'mlp'; allowed: one of: "
            "concat, gated, attention (reference spelling: concatenate = concat) (in --set)\n");
}

// A resolved config loads back without a single warning: compat keys (accepted, no effect, a
// warning each) are written only when the user gave them (a job log used to show 16 per rank).
TEST(Cli, ResolvedConfigLoadsBackWithoutWarnings) {
  ScratchDir dir("cli_resolved");
  const fs::path resolved = dir / "resolved.yaml";
  const auto shown =
      run_command("(" + shell_quote(PIXELREC_BIN) + " config show -c " +
                  shell_quote(std::string(PIXELREC_SOURCE_DIR) + "/configs/simple.yaml") + " > " +
                  shell_quote(resolved.string()) + ")");
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  const auto reloaded = run_pixelrec("config show --strict -c " + shell_quote(resolved.string()));
  EXPECT_EQ(reloaded.exit_code, 0) << reloaded.output;
  EXPECT_EQ(reloaded.output.find("warn"), std::string::npos) << reloaded.output;
  EXPECT_EQ(reloaded.output.find("config key"), std::string::npos) << reloaded.output;
  EXPECT_EQ(reloaded.output, read_text(resolved));  // nothing but the same resolved config
}

// The reference framework's example configs and its config.py defaults load under --strict:
// no unknown key, warnings only for the documented compat keys, and `config show` prints what
// the reference values mean in the project's keys.
TEST(Cli, ReferenceConfigsLoadUnderStrictWithTheirMeaning) {
  const fs::path fixtures = fs::path(PIXELREC_SOURCE_DIR) / "tests/fixtures";
  auto show = [&](const std::string& file, const std::string& extra = "") {
    auto r =
        run_pixelrec("config show --strict -c " + shell_quote((fixtures / file).string()) + extra);
    EXPECT_EQ(r.exit_code, 0) << file << ": " << r.output;
    EXPECT_EQ(r.output.find("unknown config key"), std::string::npos) << r.output;
    return r.output;
  };
  const std::string simple = show("reference_simple_config_example.yaml");
  EXPECT_NE(simple.find("  fusion_type: concat\n"), std::string::npos) << simple;
  EXPECT_NE(simple.find("  language_model: sentence-bert\n"), std::string::npos) << simple;

  const std::string advanced = show("reference_advanced_config_example.yaml");
  EXPECT_NE(advanced.find("  optimize_metric: val_loss\n"), std::string::npos) << advanced;
  EXPECT_NE(advanced.find("  pruner: asha\n"), std::string::npos) << advanced;
  EXPECT_NE(advanced.find("    training.learning_rate:"), std::string::npos) << advanced;
  EXPECT_NE(advanced.find("    model.embedding_dim:"), std::string::npos) << advanced;
  EXPECT_EQ(advanced.find("  metric:"), std::string::npos) << advanced;
  EXPECT_EQ(advanced.find("enable_pruning"), std::string::npos) << advanced;
  // A reference key without effect warns (it is listed in docs/configuration.md).
  EXPECT_NE(advanced.find("config key 'model.freeze_vision'"), std::string::npos) << advanced;

  const std::string no_pruning = show("reference_advanced_config_example.yaml",
                                      " --set hyperparameter_search.enable_pruning=false");
  EXPECT_NE(no_pruning.find("  pruner: none\n"), std::string::npos) << no_pruning;

  const std::string defaults = show("reference_config_py_defaults.yaml");
  EXPECT_NE(defaults.find("  fusion_type: concat\n"), std::string::npos) << defaults;
  EXPECT_NE(defaults.find("  optimize_metric: val_loss\n"), std::string::npos) << defaults;
  EXPECT_NE(defaults.find("  pruner: median\n"), std::string::npos) << defaults;
  for (const char* compat :
       {"hyperparameter_search.output_dir", "data.image_augmentation.noise_std",
        "data.text_cleaning_config.enabled"}) {
    EXPECT_NE(defaults.find(std::string("config key '") + compat + "' (in " +
                            (fixtures / "reference_config_py_defaults.yaml").string()),
              std::string::npos)
        << compat;
    EXPECT_NE(read_text(fs::path(PIXELREC_SOURCE_DIR) / "docs/configuration.md")
                  .find(std::string("| `") + compat + "` |"),
              std::string::npos)
        << compat << " is not documented";
  }
}

TEST(Cli, UnderscoreSpellingsAreAccepted) {
  auto r = run_pixelrec("config check --log_level warn");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(Cli, ConfigurationDocsMatchTheSchema) {
  auto r = run_pixelrec("config docs");
  ASSERT_EQ(r.exit_code, 0);
  const std::string committed = read_text(fs::path(PIXELREC_SOURCE_DIR) / "docs/configuration.md");
  EXPECT_EQ(r.output, committed)
      << "docs/configuration.md is stale: regenerate it with `pixelrec config docs`";
}

// The shipped configs load under --strict (no unknown or misspelt key): configs/recommended.yaml
// resolves to the dot scorer and sampled softmax it documents, and each study in configs/hpo/ that
// bench/recommended_*.sh layers over a data config loads over recommended.yaml too.
TEST(Cli, ShippedRecommendedAndStudyConfigsLoadUnderStrict) {
  const std::string configs = std::string(PIXELREC_SOURCE_DIR) + "/configs/";
  const auto recommended =
      run_pixelrec("config show --strict -c " + shell_quote(configs + "recommended.yaml"));
  ASSERT_EQ(recommended.exit_code, 0) << recommended.output;
  EXPECT_NE(recommended.output.find("scorer: dot"), std::string::npos) << recommended.output;
  EXPECT_NE(recommended.output.find("loss: softmax"), std::string::npos) << recommended.output;
  for (const char* study : {"recommended_search.yaml", "ease_search.yaml", "ials_search.yaml"}) {
    const auto r =
        run_pixelrec("config show --strict -c " + shell_quote(configs + "recommended.yaml") +
                     " -c " + shell_quote(configs + "hpo/" + study));
    EXPECT_EQ(r.exit_code, 0) << study << ": " << r.output;
    EXPECT_EQ(r.output.find("warn"), std::string::npos) << study << ": " << r.output;
  }
}

}  // namespace
}  // namespace pixelrec::test
