#include <algorithm>
#include <map>

#include "core/errors.h"
#include "core/hash.h"
#include "core/strings.h"
#include "data/csv.h"
#include "data/id_map.h"
#include "features/cache_internal.h"
#include "features/numeric_training.h"

namespace pixelrec::features::cache_detail {

namespace {

namespace fs = std::filesystem;

void require_file(const fs::path& path, const std::string& what, const std::string& producer) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error(what + " '" + path.string() + "' does not exist; run `pixelrec " + producer +
                "` first (or fix the path in your config)");
}

// Names, sizes and modification times of the image folder: a changed image changes the hash.
void hash_folder_listing(Hasher& hasher, const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec)) continue;
    const auto mtime = e.last_write_time(ec).time_since_epoch().count();
    entries.push_back(e.path().filename().string() + "|" + std::to_string(e.file_size(ec)) + "|" +
                      std::to_string(mtime));
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& s : entries) hasher.add(s);
}

}  // namespace

CacheInputs load_cache_inputs(const Config& config, std::optional<int64_t> max_items) {
  const fs::path item_map_path = fs::path(config.data.split_data_path) / "item_map.csv";
  const fs::path catalogue_path = config.data.processed_item_info_path;
  const fs::path train_path = config.train_path();
  require_file(catalogue_path, "processed item catalogue", "preprocess");
  require_file(item_map_path, "item id map", "split");
  require_file(train_path, "training split", "split");

  CacheInputs in;
  const IdMap item_map = IdMap::load(item_map_path, "item_id");
  size_t n = item_map.size();
  if (max_items) n = std::min<size_t>(n, static_cast<size_t>(*max_items));
  in.items.resize(n);
  in.in_catalogue.assign(n, 0);
  in.train_interactions.assign(n, 0);
  in.tag_ids.assign(n, -1);
  for (size_t i = 0; i < n; ++i) in.items[i].id = item_map.id(static_cast<uint32_t>(i));

  // The catalogue: text, tag, numeric counters and the processed image file of each item.
  const CsvTable catalogue = read_csv_table(catalogue_path);
  const std::string source = catalogue_path.string();
  const size_t id_col = catalogue.require_column("item_id", source);
  const auto title_col = catalogue.column("title");
  const auto description_col = catalogue.column("description");
  const auto tag_col = catalogue.column("tag");
  const auto image_col = catalogue.column("image_file");
  // Leak-free counters replace the catalogue's columns (computed below from train.csv).
  const bool from_training = config.data.numeric_source == kTrainingNumericSource;
  in.numeric_source = config.data.numeric_source;
  if (!from_training) in.numeric_columns = config.data.numerical_features_cols;
  std::vector<size_t> numeric_cols;
  for (const auto& name : in.numeric_columns)
    numeric_cols.push_back(catalogue.require_column(name, source));
  in.numeric_raw.assign(n * numeric_cols.size(), 0.0);
  const fs::path image_dir = config.data.processed_image_destination_folder;
  std::map<std::string, int32_t> tag_index;
  std::vector<std::string> tags(n);
  for (size_t r = 0; r < catalogue.rows(); ++r) {
    const auto index = item_map.find(catalogue.columns[id_col][r]);
    if (!index || *index >= n) continue;
    ItemContent& item = in.items[*index];
    in.in_catalogue[*index] = 1;
    if (title_col) item.title = catalogue.columns[*title_col][r];
    if (description_col) item.description = catalogue.columns[*description_col][r];
    if (tag_col) item.tag = catalogue.columns[*tag_col][r];
    if (image_col && !catalogue.columns[*image_col][r].empty())
      item.image_path = (image_dir / catalogue.columns[*image_col][r]).string();
    for (size_t c = 0; c < numeric_cols.size(); ++c) {
      const auto value = parse_double(catalogue.columns[numeric_cols[c]][r]);
      if (!value)
        throw Error("'" + source + "' row " + std::to_string(r + 2) + ": column '" +
                    in.numeric_columns[c] + "' holds '" + catalogue.columns[numeric_cols[c]][r] +
                    "', not a number; rerun `pixelrec preprocess --force-reprocess`");
      in.numeric_raw[*index * numeric_cols.size() + c] = *value;
    }
    if (!item.tag.empty()) tag_index.emplace(item.tag, 0);
  }
  int32_t next = 0;
  for (auto& [tag, idx] : tag_index) {
    idx = next++;
    in.tag_vocab.push_back(tag);
  }
  for (size_t i = 0; i < n; ++i)
    if (!in.items[i].tag.empty()) in.tag_ids[i] = tag_index.at(in.items[i].tag);

  // Training interactions per item: popularity for shard balancing, and who counts as training.
  CsvReader train = CsvReader::from_file(train_path);
  const size_t train_item_col = train.require_column("item_id");
  CsvRow row;
  while (train.next(row)) {
    if (row.fields.size() <= train_item_col) continue;
    if (const auto index = item_map.find(row.fields[train_item_col]); index && *index < n)
      ++in.train_interactions[*index];
  }

  if (from_training && !config.data.numerical_features_cols.empty()) {
    TrainingCounters counters = training_counters(train_path, item_map, n);
    in.numeric_columns = std::move(counters.columns);
    in.numeric_raw = std::move(counters.values);
  }

  Hasher hasher;
  hasher.add(in.numeric_source);
  hasher.add_file_contents(catalogue_path)
      .add_file_contents(item_map_path)
      .add_file_contents(train_path);
  hash_folder_listing(hasher, image_dir);
  hasher.add(static_cast<uint64_t>(n));
  in.inputs_hash = hasher.hex();
  return in;
}

std::vector<ItemContent> training_items(const CacheInputs& inputs) {
  std::vector<ItemContent> out;
  for (size_t i = 0; i < inputs.items.size(); ++i)
    if (inputs.train_interactions[i] > 0 && inputs.in_catalogue[i]) out.push_back(inputs.items[i]);
  return out;
}

}  // namespace pixelrec::features::cache_detail
