# Sourced by the benchmark scripts: the `data:` block of a config whose raw data is DIR/raw and
# whose processed files, split, scaler and feature cache all live under DIR.
dataset_paths_yaml() {
  local dir=$1
  cat <<YAML
data:
  item_info_path: $dir/raw/item_info.csv
  interactions_path: $dir/raw/interactions.csv
  image_folder: $dir/raw/images
  processed_item_info_path: $dir/processed/item_info.csv
  processed_interactions_path: $dir/processed/interactions.csv
  processed_image_destination_folder: $dir/processed/images
  split_data_path: $dir/split
  scaler_path: $dir/processed/numerical_scaler.json
  cache_config:
    cache_directory: $dir/cache
YAML
}
