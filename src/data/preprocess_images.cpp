// Images (step 3): find each item's image, validate it, copy or re-encode it into the processed
// image folder, on a small thread pool. Outcomes are stored by item index, so the result does
// not depend on the thread count.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "core/errors.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/progress.h"
#include "data/image_check.h"
#include "core/parallel.h"
#include "data/preprocess.h"

namespace pixelrec {

namespace {

// What happened to one item's image.
struct ImageOutcome {
  const char* reason = nullptr;  // nullptr: the image was written as `output`
  std::string source;            // file name inside the raw image folder
  std::string output;            // file name inside the processed image folder
  bool recompressed = false;
  uint64_t bytes_in = 0, bytes_out = 0;
};

// Buffers one worker reuses for every image it handles.
struct WorkerScratch {
  std::string bytes;
  std::string existing;
  std::vector<unsigned char> encoded;
};


bool read_into(const fs::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return false;  // not a regular file
  out.resize(static_cast<size_t>(size));
  in.seekg(0, std::ios::beg);
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return static_cast<bool>(in);
}

// Temp file + rename, like write_file_atomic but without one fsync per image: the folder is
// synced once at the end (sync_folder), before the report marks the outputs complete. An
// identical existing file is left alone, so a rerun rewrites only what changed.
void write_image(const fs::path& path, std::string_view bytes, std::string& existing) {
  if (read_into(path, existing) && existing == bytes) return;
  const fs::path tmp = temp_path_for(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error("cannot write processed image '" + path.string() +
                  "' (disk full or no permission?); free space or fix the permissions of "
                  "data.processed_image_destination_folder");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    throw Error("cannot move '" + tmp.string() + "' to '" + path.string() + "': " + ec.message() +
                "; check the permissions of data.processed_image_destination_folder");
}

void sync_folder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::syncfs(fd);
  ::close(fd);
}

class ImageProcessor {
 public:
  ImageProcessor(const Config& config, const ImageFolderListing& listing,
                 const PreprocessPaths& paths)
      : config_(config), listing_(listing), paths_(paths) {}

  ImageOutcome process(const std::string& id, WorkerScratch& scratch) const {
    ImageOutcome outcome;
    outcome.source = find_source(id);
    if (outcome.source.empty()) {
      const auto& extensions = config_.data.offline_image_validation.allowed_extensions;
      outcome.source = id + (extensions.empty() ? ".jpg" : extensions.front());
      outcome.reason = kImageMissing;
      return outcome;
    }
    if (!read_into(paths_.raw_images / outcome.source, scratch.bytes)) {
      outcome.reason = kImageUnreadable;
      return outcome;
    }
    outcome.bytes_in = scratch.bytes.size();
    const ImageCheckResult check =
        check_image(scratch.bytes, config_.data.offline_image_validation);
    if (!check.ok()) {
      outcome.reason = check.reason;
      return outcome;
    }
    write_output(id, check, scratch, outcome);
    return outcome;
  }

 private:
  std::string find_source(const std::string& id) const {
    for (const auto& extension : config_.data.offline_image_validation.allowed_extensions) {
      std::string name = id + extension;
      if (listing_.names.count(name) != 0) return name;
    }
    return {};
  }

  void write_output(const std::string& id, const ImageCheckResult& check, WorkerScratch& scratch,
                    ImageOutcome& outcome) const {
    const auto& compression = config_.data.offline_image_compression;
    if (!needs_recompression(scratch.bytes.size(), check.size, compression)) {
      outcome.output = outcome.source;
      write_image(paths_.images / outcome.output, scratch.bytes, scratch.existing);
      outcome.bytes_out = scratch.bytes.size();
      return;
    }
    if (!recompress_to_jpeg(scratch.bytes, compression, scratch.encoded)) {
      outcome.reason = kImageUndecodable;  // only reachable with check_corrupted off
      return;
    }
    outcome.output = id + ".jpg";
    outcome.recompressed = true;
    const std::string_view encoded(reinterpret_cast<const char*>(scratch.encoded.data()),
                                   scratch.encoded.size());
    write_image(paths_.images / outcome.output, encoded, scratch.existing);
    outcome.bytes_out = scratch.encoded.size();
  }

  const Config& config_;
  const ImageFolderListing& listing_;
  const PreprocessPaths& paths_;
};

// Removes files an earlier run wrote for these items that this run did not write (an image that
// became invalid, or a .png that is now re-encoded as .jpg), and temp files of a crashed run.
void remove_stale_images(const fs::path& folder, const ItemTable& items,
                         const std::vector<ImageOutcome>& outcomes, const Config& config) {
  const auto& extensions = config.data.offline_image_validation.allowed_extensions;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    const std::string extension = entry.path().extension().string();
    const bool our_temp =
        name.size() > 1 && name[0] == '.' && name.find(".tmp.") != std::string::npos;
    const bool image_name = extension == ".jpg" || std::find(extensions.begin(), extensions.end(),
                                                             extension) != extensions.end();
    const std::string stem = entry.path().stem().string();
    const auto it = items.index.find(stem);
    const bool stale =
        image_name && (it != items.index.end() ? outcomes[it->second].output != name
                                               : items.rejected_ids.count(stem) != 0);
    if (our_temp || stale) fs::remove(entry.path(), ec);
  }
}

void record_outcomes(ItemTable& items, const std::vector<ImageOutcome>& outcomes,
                     const Config& config, const PreprocessPaths& paths, IssueLog& rejects,
                     IssueLog& repairs, PreprocessCounts& counts) {
  const bool require = config.data.require_image;
  std::vector<bool> keep(items.size(), true);
  items.image_files.assign(items.size(), std::string());
  for (size_t i = 0; i < items.size(); ++i) {
    const ImageOutcome& o = outcomes[i];
    counts.image_bytes_in += o.bytes_in;
    counts.image_bytes_out += o.bytes_out;
    const std::string file = paths.images_label + "/" + o.source;
    if (o.reason == nullptr) {
      items.image_files[i] = o.output;
      ++(o.recompressed ? counts.images_recompressed : counts.images_copied);
    } else if (require) {
      ++counts.images_rejected[o.reason];
      rejects.add(file, 0, items.id(i), o.reason);
      items.rejected_ids.insert(items.id(i));
      keep[i] = false;
    } else {
      ++counts.kept_without_image[o.reason];
      repairs.add(file, 0, items.id(i), o.reason, "image_file");
    }
  }
  // Drop rejected items, keeping the order of the rest.
  ItemTable kept;
  kept.table.header = items.table.header;
  kept.table.columns.resize(items.table.columns.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (!keep[i]) continue;
    for (size_t c = 0; c < kept.table.columns.size(); ++c)
      kept.table.columns[c].push_back(std::move(items.table.columns[c][i]));
    kept.lines.push_back(items.lines[i]);
    kept.image_files.push_back(std::move(items.image_files[i]));
    kept.index.emplace(kept.table.columns[ItemTable::kIdColumn].back(),
                       static_cast<uint32_t>(kept.lines.size() - 1));
  }
  kept.rejected_ids = std::move(items.rejected_ids);
  items = std::move(kept);
}

}  // namespace

ImageFolderListing list_image_folder(const fs::path& folder) {
  ImageFolderListing listing;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return listing;
  listing.exists = true;
  fs::directory_iterator it(folder, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code entry_ec;  // a file that vanishes or a broken link is simply not listed
    if (!it->is_regular_file(entry_ec)) continue;
    ImageFileInfo info;
    info.name = it->path().filename().string();
    info.size = it->file_size(entry_ec);
    const auto mtime = it->last_write_time(entry_ec).time_since_epoch();
    info.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(mtime).count();
    if (!entry_ec) listing.files.push_back(std::move(info));
  }
  if (ec)
    throw Error("cannot list image folder '" + folder.string() + "': " + ec.message() +
                " (check data.image_folder and its permissions)");
  std::sort(listing.files.begin(), listing.files.end(),
            [](const ImageFileInfo& a, const ImageFileInfo& b) { return a.name < b.name; });
  listing.names.reserve(listing.files.size());
  for (const auto& f : listing.files) listing.names.insert(f.name);
  return listing;
}

void process_images(ItemTable& items, const ImageFolderListing& listing, const Config& config,
                    const PreprocessPaths& paths, bool show_progress, IssueLog& rejects,
                    IssueLog& repairs, PreprocessCounts& counts) {
  if (!listing.exists) {
    if (config.data.require_image)
      throw Error("image folder '" + paths.raw_images.string() +
                  "' does not exist; set data.image_folder to the folder of <item_id>.jpg files, "
                  "or set data.require_image: false to keep items without images");
    spdlog::warn("image folder '{}' does not exist: every item is kept without an image",
                 paths.raw_images.string());
  }
  ensure_directory(paths.images);
  const int threads = config.thread_count();
  std::vector<ImageOutcome> outcomes(items.size());
  std::vector<WorkerScratch> scratch(static_cast<size_t>(std::max(1, threads)));
  const ImageProcessor processor(config, listing, paths);
  ProgressBar progress("images", items.size(), show_progress);
  parallel_for(items.size(), threads, [&](size_t i, size_t worker) {
    outcomes[i] = processor.process(items.id(i), scratch[worker]);
    progress.advance();
  });
  progress.finish();
  counts.images_checked = items.size();
  remove_stale_images(paths.images, items, outcomes, config);
  sync_folder(paths.images);
  record_outcomes(items, outcomes, config, paths, rejects, repairs, counts);
}

}  // namespace pixelrec
