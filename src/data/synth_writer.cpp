// Writes a planned world to disk: images, item_info.csv and interactions.csv (with the planned
// faults, tracking the physical line of every record), ground truth, and the manifest last.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <ostream>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/files.h"
#include "core/progress.h"
#include "data/csv.h"
#include "data/synth.h"

namespace pixelrec::synth {

namespace {

constexpr int kManifestFormatVersion = 1;

// Forwards to another stream buffer and counts the newlines that pass through.
class LineCountingBuf : public std::streambuf {
 public:
  explicit LineCountingBuf(std::streambuf* sink) : sink_(sink) {}
  size_t lines() const { return lines_; }

 protected:
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    if (ch == '\n') ++lines_;
    return sink_->sputc(traits_type::to_char_type(ch));
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    lines_ += static_cast<size_t>(std::count(s, s + n, '\n'));
    return sink_->sputn(s, n);
  }
  int sync() override { return sink_->pubsync(); }

 private:
  std::streambuf* sink_;
  size_t lines_ = 0;
};

// Streams `fill(out, next_line)` into `path` atomically; next_line() is the 1-based physical
// line the next record will start on.
void write_counted(const fs::path& path,
                   const std::function<void(std::ostream&, const std::function<size_t()>&)>& fill) {
  write_stream_atomic(path, [&](std::ostream& sink) {
    LineCountingBuf counter(sink.rdbuf());
    std::ostream out(&counter);
    fill(out, [&] { return counter.lines() + 1; });
    out.flush();
    if (!out) throw Error("write failed for '" + path.string() + "' (disk full?)");
  });
}

void assign_int(std::string& field, int64_t value) {
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  field.assign(buf, end);
}

bool is_image_fault(FaultKind kind) {
  return kind == FaultKind::kImageTruncated || kind == FaultKind::kImageUndecodable ||
         kind == FaultKind::kImageTooSmall || kind == FaultKind::kImageMissing;
}

// Per-index fault lookup (nullptr: clean).
std::vector<const PlannedFault*> index_faults(const std::vector<PlannedFault>& faults, size_t n) {
  std::vector<const PlannedFault*> by_index(n, nullptr);
  for (const auto& f : faults) by_index[f.index] = &f;
  return by_index;
}

// Images are many and small: each is written atomically (temp file + rename) like
// write_file_atomic, but the folder is flushed to disk once (flush_to_disk) instead of one fsync
// per file, which made pixelrec50k several times slower.
std::string image_name(const SynthItem& item, bool faulted) {
  return item.id + (item.png && !faulted ? ".png" : ".jpg");
}

void write_images(const SynthWorld& world, const std::vector<const PlannedFault*>& faults,
                  const fs::path& dir, bool progress) {
  std::error_code ec;
  fs::remove_all(dir, ec);  // a stale folder from an earlier run would mix two datasets
  if (ec)
    throw Error("cannot remove the old '" + dir.string() + "': " + ec.message() +
                " (delete it by hand or choose another --out)");
  ensure_directory(dir);
  const SynthParams& p = world.params;
  ProgressBar bar("synth images", world.items.size(), progress);
  parallel_for(world.items.size(), p.threads, [&](size_t i) {
    const SynthItem& item = world.items[i];
    const PlannedFault* fault = faults[i] && is_image_fault(faults[i]->kind) ? faults[i] : nullptr;
    const std::vector<unsigned char> bytes =
        fault
            ? corrupt_image(*fault, world)
            : encode_image(render_item_image(p.seed, p.topics, item.content_topic, i, p.image_size),
                           item.png);
    if (!fault || fault->kind != FaultKind::kImageMissing)
      write_file_atomic(dir / image_name(item, fault != nullptr),
                        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                        Durability::kRenameOnly);
    bar.advance();
  });
  bar.finish();
  sync_filesystem(dir);
}

// A row whose title has text after its closing quote; kept on one physical line so that a
// reader resynchronising at the next newline skips exactly this record.
void write_malformed_item(std::ostream& out, const std::vector<std::string>& fields) {
  std::vector<std::string> rest(fields.begin() + 2, fields.end());
  for (char& c : rest[0])
    if (c == '\n') c = ' ';
  out << fields[0] << ",\"" << fields[1] << "\"x,";
  CsvWriter(out).write_row(rest);
}

// One interaction row as the fault (if any) shapes it; duplicates are written later.
void write_interaction(std::ostream& out, CsvWriter& writer, const PlannedFault* fault,
                       const std::string& item, const std::string& user,
                       const std::string& timestamp) {
  if (!fault) {
    writer.write_row({item, user, timestamp});
    return;
  }
  switch (fault->kind) {
    case FaultKind::kRowMalformed:
      out << item << ',' << user << ",\"" << timestamp << "\"x\n";
      break;
    case FaultKind::kRowShort:
      writer.write_row({item, user});
      break;
    case FaultKind::kBadTimestamp:
      writer.write_row({item, user, bad_timestamp_value(fault->variant)});
      break;
    case FaultKind::kEmptyId:
      writer.write_row({item, "", timestamp});
      break;
    default:  // the source row of a duplicate is itself clean
      writer.write_row({item, user, timestamp});
  }
}

std::vector<FaultRecord> write_item_info(const SynthWorld& world,
                                         const std::vector<const PlannedFault*>& faults,
                                         const fs::path& path) {
  std::vector<FaultRecord> records;
  const Vocabulary vocab = make_vocabulary(world.params.seed, world.params.topics);
  write_counted(path, [&](std::ostream& out, const std::function<size_t()>& next_line) {
    CsvWriter writer(out);
    std::vector<std::string> fields = {"item_id", "title", "description", "tag"};
    for (const char* name : kCounterNames) fields.emplace_back(name);
    writer.write_row(fields);
    ItemText text;
    std::array<std::string, kCounterNames.size()> counters;
    std::multimap<uint32_t, std::vector<std::string>> copies;  // insert_after → row
    for (size_t i = 0; i < world.items.size(); ++i) {
      const std::string& id = world.items[i].id;
      make_item_text(vocab, world, i, text);
      for (size_t c = 0; c < counters.size(); ++c) assign_int(counters[c], text.counters[c]);
      const PlannedFault* fault =
          faults[i] && !is_image_fault(faults[i]->kind) ? faults[i] : nullptr;
      const std::string field = fault ? corrupt_item_text(*fault, text, counters) : "";
      fields[0] = id, fields[1] = text.title, fields[2] = text.description, fields[3] = text.tag;
      for (size_t c = 0; c < counters.size(); ++c) fields[4 + c] = counters[c];
      const size_t line = next_line();
      if (fault && fault->kind == FaultKind::kRowMalformed) {
        write_malformed_item(out, fields);
      } else if (fault && fault->kind == FaultKind::kRowShort) {
        writer.write_row({fields[0], fields[1], fields[2]});
      } else {
        writer.write_row(fields);
      }
      if (fault && fault->kind == FaultKind::kRowDuplicateItem)
        copies.emplace(fault->insert_after, fields);
      else if (fault)
        records.push_back({fault->kind, "item_info.csv", line, id, field});
      for (auto it = copies.begin(); it != copies.end() && it->first == i; it = copies.erase(it)) {
        records.push_back(
            {FaultKind::kRowDuplicateItem, "item_info.csv", next_line(), it->second[0], ""});
        writer.write_row(it->second);
      }
    }
  });
  return records;
}

std::vector<FaultRecord> write_interactions(const SynthWorld& world, const FaultPlan& plan,
                                            const fs::path& path) {
  std::vector<FaultRecord> records;
  write_counted(path, [&](std::ostream& out, const std::function<size_t()>& next_line) {
    CsvWriter writer(out);
    writer.write_row({"item_id", "user_id", "timestamp"});
    std::string timestamp;
    std::multimap<uint32_t, std::array<std::string, 3>> copies;  // insert_after → row
    auto fault = plan.interactions.begin();
    for (size_t r = 0; r < world.interactions.size(); ++r) {
      const SynthInteraction& row = world.interactions[r];
      const std::string& item = world.items[row.item].id;
      const std::string& user = world.users[row.user].id;
      assign_int(timestamp, row.timestamp);
      const PlannedFault* f =
          fault != plan.interactions.end() && fault->index == r ? &*fault++ : nullptr;
      const size_t line = next_line();
      write_interaction(out, writer, f, item, user, timestamp);
      if (f && f->kind == FaultKind::kRowDuplicateInteraction)
        copies.emplace(f->insert_after, std::array<std::string, 3>{item, user, timestamp});
      else if (f)
        records.push_back(
            {f->kind, "interactions.csv", line, f->kind == FaultKind::kEmptyId ? "" : user, ""});
      for (auto it = copies.begin(); it != copies.end() && it->first == r; it = copies.erase(it)) {
        records.push_back({FaultKind::kRowDuplicateInteraction, "interactions.csv", next_line(),
                           it->second[1], ""});
        writer.write_row({it->second[0], it->second[1], it->second[2]});
      }
    }
  });
  return records;
}

void write_ground_truth(const SynthWorld& world, const fs::path& dir) {
  write_stream_atomic(dir / "items.csv", [&](std::ostream& out) {
    CsvWriter writer(out);
    writer.write_row({"item_id", "topic", "release_time", "is_late"});
    for (const auto& item : world.items)
      writer.write_row({item.id, std::to_string(item.topic), std::to_string(item.release_time),
                        item.is_late ? "1" : "0"});
  });
  write_stream_atomic(dir / "users.csv", [&](std::ostream& out) {
    CsvWriter writer(out);
    writer.write_row({"user_id", "favourite_topic"});
    for (const auto& user : world.users)
      writer.write_row({user.id, std::to_string(user.favourite_topic)});
  });
}

void write_manifest(const SynthWorld& world, const std::vector<FaultRecord>& faults,
                    const fs::path& path) {
  using Json = nlohmann::ordered_json;
  const SynthParams& p = world.params;
  Json manifest = {{"format_version", kManifestFormatVersion},
                   {"generator", "pixelrec synth"},
                   {"preset", p.preset},
                   {"seed", p.seed},
                   {"users", world.users.size()},
                   {"items", world.items.size()},
                   {"interactions", world.interactions.size()},
                   {"image_size", p.image_size},
                   {"topics", p.topics},
                   {"late_item_fraction", p.late_item_fraction},
                   {"corrupt_frac", p.corrupt_frac},
                   {"content_signal", p.content_signal},
                   {"stickiness", p.stickiness},
                   {"popularity_noise", p.popularity_noise},
                   {"popular_share", p.popular_share},
                   {"files",
                    {{"interactions", "interactions.csv"},
                     {"item_info", "item_info.csv"},
                     {"images", "images"}}}};
  Json list = Json::array();
  std::array<size_t, kFaultKindCount> counts{};
  for (const auto& f : faults) {
    ++counts[static_cast<size_t>(f.kind)];
    list.push_back({{"kind", fault_kind_name(f.kind)},
                    {"file", f.file},
                    {"line", f.line ? Json(*f.line) : Json(nullptr)},
                    {"id", f.id},
                    {"field", f.field.empty() ? Json(nullptr) : Json(f.field)},
                    {"expect", fault_is_repair(f.kind) ? "repair" : "reject"},
                    {"reason", fault_reason(f.kind)}});
  }
  manifest["faults"] = std::move(list);
  Json fault_counts = Json::object();
  for (size_t k = 0; k < kFaultKindCount; ++k)
    fault_counts[fault_kind_name(static_cast<FaultKind>(k))] = counts[k];
  manifest["fault_counts"] = std::move(fault_counts);
  write_file_atomic(path, manifest.dump(2) + "\n");
}

}  // namespace

SynthSummary write_dataset(const SynthWorld& world, const FaultPlan& plan, const fs::path& out,
                           bool progress) {
  if (fs::exists(out) && !fs::is_directory(out))
    throw Error("--out '" + out.string() +
                "' is a file; pass a directory (it is created if missing)");
  ensure_directory(out);
  std::error_code ec;
  fs::remove(out / "synth_manifest.json", ec);  // the manifest marks a complete dataset

  const auto item_faults = index_faults(plan.items, world.items.size());
  write_images(world, item_faults, out / "images", progress);
  SynthSummary summary;
  summary.faults = write_item_info(world, item_faults, out / "item_info.csv");
  auto rows = write_interactions(world, plan, out / "interactions.csv");
  summary.faults.insert(summary.faults.end(), rows.begin(), rows.end());
  for (const auto& f : plan.items)
    if (is_image_fault(f.kind))
      summary.faults.push_back({f.kind, "images/" + image_name(world.items[f.index], true),
                                std::nullopt, world.items[f.index].id, ""});
  write_ground_truth(world, out / "ground_truth");
  write_manifest(world, summary.faults, out / "synth_manifest.json");

  summary.users = world.users.size();
  summary.items = world.items.size();
  summary.interactions = world.interactions.size();
  for (size_t i = 0; i < world.items.size(); ++i)
    if (world.items[i].png && !(item_faults[i] && is_image_fault(item_faults[i]->kind)))
      ++summary.png_images;
  summary.item_faults = plan.items.size();
  summary.interaction_faults = plan.interactions.size();
  return summary;
}

}  // namespace pixelrec::synth
