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
            "concat, gated, attention (in --set)\n");
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

}  // namespace
}  // namespace pixelrec::test
