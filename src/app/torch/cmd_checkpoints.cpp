// `pixelrec checkpoints inspect PATH [--compare OTHER]`: what a checkpoint holds (run, epoch,
// step, fingerprints, parameter digest, and every tensor's shape and norms) and, with --compare,
// the largest absolute difference of every tensor against another checkpoint of the same model.
#include <cmath>
#include <cstdio>
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
  const auto a = named_tensors(*c.model);
  std::vector<std::pair<std::string, torch::Tensor>> b;
  if (!f.compare.empty()) {
    model::LoadedCheckpoint other = model::load_checkpoint(f.compare);
    b = named_tensors(*other.model);
    if (a.size() != b.size())
      throw Error(f.compare + " holds another model (" + std::to_string(b.size()) + " tensors vs " +
                  std::to_string(a.size()) + ")");
  }
  int64_t values = 0;
  double worst = 0;
  std::printf("%-44s %-14s %12s %12s %12s%s\n", "tensor", "shape", "L2 norm", "mean |x|", "max |x|",
              b.empty() ? "" : "  max |a - b|");
  for (size_t i = 0; i < a.size(); ++i) {
    const torch::Tensor t = a[i].second.to(torch::kDouble);
    values += t.numel();
    std::string shape;
    for (int64_t s : t.sizes()) shape += (shape.empty() ? "" : "x") + std::to_string(s);
    if (shape.empty()) shape = "scalar";
    const bool empty = t.numel() == 0;
    std::printf("%-44s %-14s %12.5g %12.5g %12.5g", a[i].first.c_str(), shape.c_str(),
                empty ? 0.0 : t.norm().item<double>(), empty ? 0.0 : t.abs().mean().item<double>(),
                empty ? 0.0 : t.abs().max().item<double>());
    if (!b.empty()) {
      if (a[i].first != b[i].first || a[i].second.sizes() != b[i].second.sizes())
        throw Error("tensor " + a[i].first + " differs in name or shape in " + f.compare);
      const double d = empty ? 0.0 : (a[i].second - b[i].second).abs().max().item<double>();
      worst = std::max(worst, d);
      std::printf("  %12.5g", d);
    }
    std::printf("\n");
  }
  std::printf("%zu tensors, %lld values\n", a.size(), static_cast<long long>(values));
  std::fflush(stdout);
  if (b.empty()) return;
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
