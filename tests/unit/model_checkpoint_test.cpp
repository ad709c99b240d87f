#include <gtest/gtest.h>

#include "core/config_loader.h"
#include "core/errors.h"
#include "model/checkpoint.h"
#include "model/optimizers.h"
#include "support/test_support.h"
#include "unit/model_test_support.h"

namespace pixelrec::model {
namespace {

TEST(CheckpointTest, RoundTripRestoresModelOptimizerAndState) {
  pixelrec::test::ScratchDir dir("ckpt");
  Config config;
  config.model = model_test::tiny_spec("gated").config;
  NetworkSpec spec{config.model, true, model_test::tiny_spec("gated").content};
  torch::manual_seed(8);
  Recommender model(spec, model_test::tiny_shape());
  const ItemFeatures features = model_test::tiny_features();
  auto params = dense_parameters(model);
  auto optimizer = make_dense_optimizer(config.training, params);
  model.forward(torch::tensor({1, 2}, torch::kLong), torch::tensor({3, 4}, torch::kLong), features)
      .sum()
      .backward();
  optimizer_step(model, *optimizer, params, row_optimizer_options(config.training), 1e-2, 1.0);

  CheckpointMeta meta;
  meta.config_yaml = config_to_yaml(config);
  meta.run_name = "r1";
  meta.feature_fingerprint = "abc";
  meta.user_map_hash = hash_ids({"u1", "u2"});
  meta.item_map_hash = hash_ids({"i1"});
  meta.content = spec.content;
  meta.shape = model_test::tiny_shape();
  CheckpointState state;
  state.epoch = 3;
  state.step_in_epoch = 5;
  state.global_step = 17;
  state.scheduler = {0.5, 2};
  state.early_stopping = {1, 0.25, 2};
  state.generator_state = at::detail::getDefaultCPUGenerator().get_state();
  const auto path = dir.path() / "sub" / "last.pt";
  save_checkpoint(path, model, optimizer.get(), meta, state);

  LoadedCheckpoint loaded = load_checkpoint(path);
  EXPECT_EQ(parameter_digest(*loaded.model), parameter_digest(model));
  EXPECT_EQ(loaded.meta.run_name, "r1");
  EXPECT_EQ(loaded.meta.feature_fingerprint, "abc");
  EXPECT_EQ(loaded.meta.user_map_hash, meta.user_map_hash);
  EXPECT_EQ(loaded.meta.content.size(), 3u);
  EXPECT_EQ(loaded.meta.content[1].name, "text");
  EXPECT_EQ(loaded.meta.content[1].dim, 5);
  EXPECT_EQ(loaded.meta.shape.num_items, 12);
  EXPECT_EQ(loaded.config.model.fusion_type, "gated");
  EXPECT_EQ(loaded.state.epoch, 3);
  EXPECT_EQ(loaded.state.step_in_epoch, 5);
  EXPECT_EQ(loaded.state.global_step, 17);
  EXPECT_EQ(loaded.state.scheduler, (std::vector<double>{0.5, 2}));
  EXPECT_EQ(loaded.state.early_stopping, (std::vector<double>{1, 0.25, 2}));
  EXPECT_TRUE(torch::equal(loaded.state.generator_state, state.generator_state));

  // The optimizer continues identically from the restored state.
  auto loaded_params = dense_parameters(*loaded.model);
  auto loaded_optimizer = make_dense_optimizer(config.training, loaded_params);
  load_optimizer_state(path, *loaded_optimizer);
  for (auto* m : {&model, loaded.model.get()}) {
    auto& opt = m == &model ? *optimizer : *loaded_optimizer;
    auto& ps = m == &model ? params : loaded_params;
    m->train(false);
    m->forward(torch::tensor({0, 5}, torch::kLong), torch::tensor({1, 2}, torch::kLong), features)
        .sum()
        .backward();
    optimizer_step(*m, opt, ps, row_optimizer_options(config.training), 1e-2, 1.0);
  }
  EXPECT_EQ(parameter_digest(*loaded.model), parameter_digest(model));
}

TEST(CheckpointTest, MissingOrCorruptFilesExplainThemselves) {
  pixelrec::test::ScratchDir dir("ckpt-bad");
  try {
    load_checkpoint(dir.path() / "none.pt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
  }
  pixelrec::test::write_text(dir.path() / "bad.pt", "not a zip archive");
  try {
    load_checkpoint(dir.path() / "bad.pt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a readable PixelRec-MM checkpoint"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace pixelrec::model
