// `pixelrec checkpoints inspect PATH [--compare OTHER]`: what a checkpoint holds (run, epoch,
// step, shapes, fingerprints, parameter digest) and, with --compare, the largest absolute
// difference of every tensor against another checkpoint of the same model.
#include <cmath>
#include <iostream>

#include "app/cli_common.h"
#include "app/torch/torch_commands.h"
#include "core/errors.h"
#include "model/checkpoint.h"
#include "model/optimizers.h"

namespace pixelrec::app {
namespace {

struct InspectFlags {
  std::string path, compare;
};

std::vector<std::pair<std::string, torch::Tensor>> named_tensors(model::Recommender& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : m.network()->named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : m.network()->named_buffers()) out.emplace_back(b.key(), b.value());
  for (auto* table : m.tables()) out.emplace_back(table->name(), table->weight());
  return out;
}

void inspect(const InspectFlags& f) {
  model::LoadedCheckpoint c = model::load_checkpoint(f.path);
  const auto& meta = c.meta;
  std::string content;
  for (const auto& in : meta.content)
    content += (content.empty() ? "" : ", ") + in.name + ":" + std::to_string(in.dim);
  std::cout << "checkpoint:          " << f.path << "\n"
            << "run:                 " << meta.run_name << "\n"
            << "epoch:               " << c.state.epoch << " (step " << c.state.step_in_epoch
            << " of it; " << c.state.global_step << " optimizer steps)\n"
            << "users/items/tags:    " << meta.shape.num_users << " / " << meta.shape.num_items
            << " / " << meta.shape.num_tags << "\n"
            << "content inputs:      " << (content.empty() ? "none" : content) << "\n"
            << "fusion:              " << c.config.model.fusion_type << ", D "
            << c.config.model.embedding_dim << "\n"
            << "feature fingerprint: " << meta.feature_fingerprint << "\n"
            << "parameters digest:   " << model::parameter_digest(*c.model) << "\n";
  if (f.compare.empty()) return;
  model::LoadedCheckpoint other = model::load_checkpoint(f.compare);
  const auto a = named_tensors(*c.model), b = named_tensors(*other.model);
  if (a.size() != b.size())
    throw Error(f.compare + " holds another model (" + std::to_string(b.size()) + " tensors vs " +
                std::to_string(a.size()) + ")");
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].first != b[i].first || a[i].second.sizes() != b[i].second.sizes())
      throw Error("tensor " + a[i].first + " differs in name or shape in " + f.compare);
    const double d = (a[i].second - b[i].second).abs().max().item<double>();
    worst = std::max(worst, d);
  }
  std::cout << "max abs difference:  " << worst << " (over " << a.size() << " tensors vs "
            << f.compare << ")\n";
}

}  // namespace

void register_checkpoints_inspect(CLI::App& app) {
  auto* cmd = app.add_subcommand("checkpoints", "Inspect and compare checkpoints");
  cmd->require_subcommand(1);
  auto f = std::make_shared<InspectFlags>();
  auto* ins = cmd->add_subcommand(
      "inspect", "Print what a checkpoint holds; --compare gives the largest tensor difference");
  ins->add_option("path", f->path, "Checkpoint file")->required()->check(CLI::ExistingFile);
  ins->add_option("--compare", f->compare, "A second checkpoint of the same model")
      ->check(CLI::ExistingFile);
  ins->callback([f] { inspect(*f); });
}

}  // namespace pixelrec::app
