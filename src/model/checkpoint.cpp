#include "model/checkpoint.h"

#include <spdlog/spdlog.h>

#include <sstream>

#include "core/config_loader.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/strings.h"

namespace pixelrec::model {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "pixelrec-checkpoint";
constexpr int64_t kFormatVersion = 1;

torch::Tensor doubles(const std::vector<double>& v) {
  return torch::tensor(std::vector<double>(v), torch::kDouble);
}

std::vector<double> to_doubles(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

std::string encode_content(const std::vector<ContentInput>& content) {
  std::string out;
  for (const auto& c : content)
    out += (out.empty() ? "" : ",") + c.name + ":" + std::to_string(c.dim);
  return out;
}

std::vector<ContentInput> decode_content(const std::string& text) {
  std::vector<ContentInput> out;
  for (const auto& part : split(text, ',')) {
    if (part.empty()) continue;
    const auto colon = part.find(':');
    out.push_back({part.substr(0, colon), std::stoll(part.substr(colon + 1))});
  }
  return out;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

template <class T>
T read_value(torch::serialize::InputArchive& archive, const std::string& key) {
  c10::IValue value;
  archive.read(key, value);
  if constexpr (std::is_same_v<T, std::string>)
    return value.toStringRef();
  else if constexpr (std::is_same_v<T, double>)
    return value.toDouble();
  else if constexpr (std::is_same_v<T, bool>)
    return value.toBool();
  else
    return T(value.toInt());
}

void write_tables(torch::serialize::OutputArchive& archive, Recommender& model) {
  for (auto* table : model.tables())
    for (auto& [name, tensor] : table->state_tensors()) archive.write("tables." + name, *tensor);
}

void read_tables(torch::serialize::InputArchive& archive, Recommender& model) {
  for (auto* table : model.tables())
    for (auto& [name, tensor] : table->state_tensors()) {
      torch::Tensor loaded;
      archive.read("tables." + name, loaded);
      if (loaded.sizes() != tensor->sizes())
        throw Error("checkpoint table " + name + " has shape " + c10::str(loaded.sizes()) +
                    ", the model expects " + c10::str(tensor->sizes()));
      *tensor = loaded;
    }
}

}  // namespace

std::string hash_ids(const std::vector<std::string>& ids) {
  Hasher h;
  for (const auto& id : ids) h.add(id).add(uint64_t(id.size()));
  return h.hex();
}

std::string serialize_checkpoint(Recommender& model, torch::optim::Optimizer* optimizer,
                                 const CheckpointMeta& meta, const CheckpointState& state) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kFormat)));
  archive.write("format_version", c10::IValue(kFormatVersion));
  archive.write("meta.config_yaml", c10::IValue(meta.config_yaml));
  archive.write("meta.run_name", c10::IValue(meta.run_name));
  archive.write("meta.feature_fingerprint", c10::IValue(meta.feature_fingerprint));
  archive.write("meta.user_map_hash", c10::IValue(meta.user_map_hash));
  archive.write("meta.item_map_hash", c10::IValue(meta.item_map_hash));
  archive.write("meta.use_tags", c10::IValue(meta.use_tags));
  archive.write("meta.content", c10::IValue(encode_content(meta.content)));
  archive.write("meta.num_users", c10::IValue(meta.shape.num_users));
  archive.write("meta.num_items", c10::IValue(meta.shape.num_items));
  archive.write("meta.num_tags", c10::IValue(meta.shape.num_tags));
  archive.write("meta.scorer", c10::IValue(meta.scorer));
  archive.write("meta.loss", c10::IValue(meta.loss));
  archive.write("state.epoch", c10::IValue(int64_t(state.epoch)));
  archive.write("state.step_in_epoch", c10::IValue(state.step_in_epoch));
  archive.write("state.global_step", c10::IValue(state.global_step));
  archive.write("state.epoch_loss_sum", c10::IValue(state.epoch_loss_sum));
  archive.write("state.epoch_loss_count", c10::IValue(state.epoch_loss_count));
  archive.write("state.epoch_contrastive_sum", c10::IValue(state.epoch_contrastive_sum));
  archive.write("state.finished", c10::IValue(state.finished));
  archive.write("state.scheduler", doubles(state.scheduler));
  archive.write("state.early_stopping", doubles(state.early_stopping));
  if (state.generator_state.defined()) archive.write("state.generator", state.generator_state);
  torch::serialize::OutputArchive network;
  model.network()->save(network);
  archive.write("network", network);
  write_tables(archive, model);
  if (optimizer) {
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    archive.write("optimizer", opt);
  }
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

void save_checkpoint(const fs::path& path, Recommender& model, torch::optim::Optimizer* optimizer,
                     const CheckpointMeta& meta, const CheckpointState& state) {
  ensure_directory(path.parent_path());
  write_file_atomic(path, serialize_checkpoint(model, optimizer, meta, state));
}

LoadedCheckpoint load_checkpoint(const fs::path& path) {
  if (!fs::exists(path))
    throw Error("checkpoint " + path.string() +
                " does not exist; train first (`pixelrec train`) or pass an existing file");
  LoadedCheckpoint out;
  out.path = path;
  torch::serialize::InputArchive archive;
  try {
    // Tensors land on the CPU whatever device wrote them (a GPU run is evaluated anywhere).
    archive.load_from(path.string(), torch::Device(torch::kCPU));
    if (read_value<std::string>(archive, "format") != kFormat) throw Error("wrong format tag");
  } catch (const std::exception& e) {
    throw Error("checkpoint " + path.string() +
                " is not a readable PixelRec-MM checkpoint (truncated or another format): " +
                first_line(e.what()));
  }
  const int64_t version = read_value<int64_t>(archive, "format_version");
  if (version != kFormatVersion)
    throw Error("checkpoint " + path.string() + " has format version " + std::to_string(version) +
                "; this pixelrec reads version " + std::to_string(kFormatVersion));
  CheckpointMeta& m = out.meta;
  m.config_yaml = read_value<std::string>(archive, "meta.config_yaml");
  m.run_name = read_value<std::string>(archive, "meta.run_name");
  m.feature_fingerprint = read_value<std::string>(archive, "meta.feature_fingerprint");
  m.user_map_hash = read_value<std::string>(archive, "meta.user_map_hash");
  m.item_map_hash = read_value<std::string>(archive, "meta.item_map_hash");
  m.use_tags = read_value<bool>(archive, "meta.use_tags");
  m.content = decode_content(read_value<std::string>(archive, "meta.content"));
  m.shape.num_users = read_value<int64_t>(archive, "meta.num_users");
  m.shape.num_items = read_value<int64_t>(archive, "meta.num_items");
  m.shape.num_tags = read_value<int64_t>(archive, "meta.num_tags");
  c10::IValue recorded;  // absent from checkpoints written before scorers and losses existed
  if (archive.try_read("meta.scorer", recorded)) m.scorer = recorded.toStringRef();
  if (archive.try_read("meta.loss", recorded)) m.loss = recorded.toStringRef();
  CheckpointState& s = out.state;
  s.epoch = read_value<int>(archive, "state.epoch");
  s.step_in_epoch = read_value<int64_t>(archive, "state.step_in_epoch");
  s.global_step = read_value<int64_t>(archive, "state.global_step");
  s.epoch_loss_sum = read_value<double>(archive, "state.epoch_loss_sum");
  s.epoch_loss_count = read_value<double>(archive, "state.epoch_loss_count");
  c10::IValue contrastive_sum;  // absent from checkpoints written before it was recorded
  if (archive.try_read("state.epoch_contrastive_sum", contrastive_sum))
    s.epoch_contrastive_sum = contrastive_sum.toDouble();
  s.finished = read_value<bool>(archive, "state.finished");
  torch::Tensor t;
  archive.read("state.scheduler", t);
  s.scheduler = to_doubles(t);
  archive.read("state.early_stopping", t);
  s.early_stopping = to_doubles(t);
  torch::Tensor generator;
  if (archive.try_read("state.generator", generator)) s.generator_state = generator;

  // The stored config is complete and resolved: its compatibility keys already warned when the
  // run was trained, so they are not repeated here (a logger without sinks swallows them).
  std::vector<std::string> warnings;
  const auto logger = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("pixelrec-quiet"));
  try {
    apply_config_yaml(out.config, m.config_yaml, path.string() + " (stored config)", false,
                      warnings);
  } catch (...) {
    spdlog::set_default_logger(logger);
    throw;
  }
  spdlog::set_default_logger(logger);
  NetworkSpec spec{out.config.model, m.use_tags, m.content};
  out.model = std::make_unique<Recommender>(spec, m.shape);
  torch::serialize::InputArchive network;
  archive.read("network", network);
  out.model->network()->load(network);
  read_tables(archive, *out.model);
  return out;
}

void check_scorer(const LoadedCheckpoint& checkpoint, const Config& config) {
  const std::string& trained = checkpoint.meta.scorer;
  if (trained == config.model.scorer) return;
  throw Error("checkpoint " + checkpoint.path.string() + " holds a model.scorer '" + trained +
              "' model (trained with training.loss " + checkpoint.meta.loss +
              ") but the config asks for model.scorer '" + config.model.scorer +
              "'; use the run's config (or --set model.scorer=" + trained +
              "), or a checkpoint of a '" + config.model.scorer + "' run");
}

void load_optimizer_state(const fs::path& path, torch::optim::Optimizer& optimizer,
                          const torch::Device& device) {
  torch::serialize::InputArchive archive;
  archive.load_from(path.string(), device);
  torch::serialize::InputArchive opt;
  if (!archive.try_read("optimizer", opt))
    throw Error("checkpoint " + path.string() + " holds no optimizer state; it cannot be resumed");
  optimizer.load(opt);
}

}  // namespace pixelrec::model
