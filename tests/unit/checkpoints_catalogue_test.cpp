// The catalogue and `checkpoints list`: pairing checkpoints with sidecars, every problem listed
// with its status (missing, invalid, torn, orphaned), the sort order, and the table/JSON totals.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "checkpoints/catalogue.h"
#include "checkpoints/listing.h"
#include "checkpoints_test_fixture.h"
#include "core/errors.h"

namespace pixelrec::checkpoints {
namespace {

using test::ScratchDir;
using testing::error_of;
using testing::FakeCheckpoint;
using testing::write_checkpoint;
using testing::write_run;

const CatalogueEntry& entry(const Catalogue& c, const std::string& relative) {
  for (const auto& e : c.entries)
    if (e.relative == relative) return e;
  throw std::runtime_error("no entry " + relative);
}

TEST(CheckpointsSidecar, ParsesEveryFieldOfTheTrainersFormat) {
  FakeCheckpoint c;
  c.kind = "best";
  c.epoch = 7;
  c.metric = 0.125;
  const SidecarMeta m = parse_sidecar(testing::sidecar_json("best.pt", c).dump());
  EXPECT_EQ(m.file, "best.pt");
  EXPECT_EQ(m.bytes, 1000u);
  EXPECT_EQ(m.kind, "best");
  EXPECT_EQ(m.run_name, "demo");
  EXPECT_EQ(m.epoch, 7);
  EXPECT_EQ(m.global_step, 420);
  EXPECT_EQ(m.model.fusion_type, "concat");
  EXPECT_EQ(m.model.embedding_dim, 64);
  EXPECT_EQ(m.model.parameters, 123456);
  EXPECT_EQ(m.best_value, 0.5);
  EXPECT_EQ(m.best_epoch, 2);
  EXPECT_EQ(m.monitored_value(), 0.125);
  EXPECT_EQ(m.metrics.size(), 3u);
}

TEST(CheckpointsSidecar, RejectsWrongFormatVersionTypesAndRunNames) {
  const auto with = [](const std::function<void(nlohmann::json&)>& edit) {
    auto doc = testing::sidecar_json("last.pt", FakeCheckpoint{});
    edit(doc);
    return error_of([&] { parse_sidecar(doc.dump()); });
  };
  EXPECT_NE(with([](auto& d) { d["format"] = "x"; }).find("format is 'x'"), std::string::npos);
  EXPECT_NE(with([](auto& d) { d["version"] = 2; }).find("newer pixelrec"), std::string::npos);
  EXPECT_NE(with([](auto& d) { d.erase("epoch"); }).find("missing field 'epoch'"),
            std::string::npos);
  EXPECT_NE(with([](auto& d) { d["bytes"] = -1; }).find("non-negative integer"), std::string::npos);
  EXPECT_NE(with([](auto& d) { d["kind"] = "final"; }).find("kind 'final'"), std::string::npos);
  EXPECT_NE(with([](auto& d) { d["run_name"] = "a/b"; }).find("folder name"), std::string::npos);
  EXPECT_NE(with([](auto& d) { d["model"]["embedding_dim"] = "64"; }).find("model.embedding_dim"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_sidecar("{\"format\": "); }).find("not valid JSON"),
            std::string::npos);
  EXPECT_EQ(with([](auto& d) {
              d["best_value"] = nullptr;
              d["best_epoch"] = nullptr;
            }),
            "");
}

TEST(CheckpointsCatalogue, ReportsEveryProblemWithAStatusAndNeverDropsAFile) {
  ScratchDir dir("ckpt_catalogue");
  write_run(dir.path(), "demo", 2, 1);
  FakeCheckpoint c;
  c.run = "other";
  write_checkpoint(dir / "other", "last.pt", c);
  test::write_text(dir / "other/best.pt", "no sidecar");  // missing sidecar
  test::write_text(dir / "other/epoch_0001.pt", "x");     // invalid sidecar
  test::write_text(dir / "other/epoch_0001.meta.json", "{not json");
  c.kind = "epoch";
  write_checkpoint(dir / "other", "epoch_0002.pt", c);  // torn: 999 of 1000
  test::write_text(dir / "other/epoch_0002.pt", std::string(999, 'a'));
  test::write_text(dir / "other/epoch_0009.meta.json", "{}");  // orphan sidecar
  write_checkpoint(dir / "other", "epoch_0003.pt", c);         // describes another file
  test::write_text(dir / "other/epoch_0003.meta.json", testing::sidecar_json("best.pt", c).dump());
  test::write_text(dir / "by_model/x/readme.pt", "generated view: never scanned");
  test::write_text(dir / "other/.last.pt.tmp.1.0", "temp file of an atomic write");

  const Catalogue catalogue = scan_catalogue(dir.path(), 2);
  ASSERT_EQ(catalogue.entries.size(), 10u);
  EXPECT_EQ(catalogue.problem_count(), 5u);
  EXPECT_EQ(entry(catalogue, "other/best.pt").status, EntryStatus::kMissingSidecar);
  EXPECT_EQ(entry(catalogue, "other/best.pt").run, "other");  // from the folder
  EXPECT_EQ(entry(catalogue, "other/epoch_0001.pt").status, EntryStatus::kInvalidSidecar);
  EXPECT_EQ(entry(catalogue, "other/epoch_0001.pt").epoch, 1);  // from the file name
  const auto& torn = entry(catalogue, "other/epoch_0002.pt");
  EXPECT_EQ(torn.status, EntryStatus::kSizeMismatch);
  EXPECT_NE(torn.detail.find("999 bytes, sidecar records 1000"), std::string::npos) << torn.detail;
  EXPECT_EQ(entry(catalogue, "other/epoch_0009.meta.json").status, EntryStatus::kOrphanSidecar);
  EXPECT_NE(entry(catalogue, "other/epoch_0003.pt").detail.find("describes 'best.pt'"),
            std::string::npos);
  // Sorted by run, then best, last, epochs by epoch.
  EXPECT_EQ(catalogue.entries[0].relative, "demo/best.pt");
  EXPECT_EQ(catalogue.entries[1].relative, "demo/last.pt");
  EXPECT_EQ(catalogue.entries[2].relative, "demo/epoch_0001.pt");
  EXPECT_EQ(catalogue.entries[3].relative, "demo/epoch_0002.pt");
  EXPECT_EQ(catalogue.runs(), (std::vector<std::string>{"demo", "other"}));
  // Same result on one thread.
  const Catalogue serial = scan_catalogue(dir.path(), 1);
  ASSERT_EQ(serial.entries.size(), catalogue.entries.size());
  for (size_t i = 0; i < serial.entries.size(); ++i) {
    EXPECT_EQ(serial.entries[i].relative, catalogue.entries[i].relative);
    EXPECT_EQ(serial.entries[i].status, catalogue.entries[i].status);
  }
}

TEST(CheckpointsCatalogue, MissingFolderAndUnknownRunAreClearErrors) {
  ScratchDir dir("ckpt_catalogue_err");
  EXPECT_NE(error_of([&] { scan_catalogue(dir / "nope", 1); }).find("--dir"), std::string::npos);
  write_run(dir.path(), "demo", 1, 1);
  const std::string message = error_of([&] { require_run(scan_catalogue(dir.path(), 1), "dmeo"); });
  EXPECT_NE(message.find("did you mean 'demo'"), std::string::npos) << message;
}

TEST(CheckpointsList, TableHasOneRowPerCheckpointAndTotals) {
  ScratchDir dir("ckpt_list");
  write_run(dir.path(), "demo", 2, 1, 2048);
  test::write_text(dir / "stray.pt", std::string(10, 'x'));  // flat, no sidecar
  std::ostringstream out;
  print_listing(scan_catalogue(dir.path(), 1), "", ListFormat::kTable, out);
  const std::string text = out.str();
  EXPECT_NE(text.find("RUN"), std::string::npos);
  EXPECT_NE(text.find("demo/epoch_0002.pt"), std::string::npos);
  EXPECT_NE(text.find("val_ndcg@10"), std::string::npos);
  EXPECT_NE(text.find("0.2500"), std::string::npos);
  EXPECT_NE(text.find("d0547011c43bc666"), std::string::npos);
  EXPECT_NE(text.find("missing_sidecar: stray.pt: no sidecar stray.meta.json"), std::string::npos)
      << text;
  EXPECT_NE(text.find("total: 5 files"), std::string::npos) << text;
  EXPECT_NE(text.find("1 problems"), std::string::npos) << text;
  // One header line, five rows, one problem line, the totals.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 8);
}

TEST(CheckpointsList, JsonRowsCarryTheSidecarFieldsAndExactTotals) {
  ScratchDir dir("ckpt_list_json");
  write_run(dir.path(), "demo", 1, 1, 500);
  write_run(dir.path(), "zeta", 1, 1, 700);
  std::ostringstream out;
  const Catalogue catalogue = scan_catalogue(dir.path(), 1);
  print_listing(catalogue, "zeta", ListFormat::kJson, out);
  const auto doc = nlohmann::json::parse(out.str());
  ASSERT_EQ(doc["checkpoints"].size(), 3u);
  const auto& best = doc["checkpoints"][0];
  EXPECT_EQ(best["file"], "zeta/best.pt");
  EXPECT_EQ(best["kind"], "best");
  EXPECT_EQ(best["epoch"], 1);
  EXPECT_EQ(best["bytes"], 700);
  EXPECT_EQ(best["monitored_metric"], "val_ndcg@10");
  EXPECT_EQ(best["metric_value"], 0.25);
  EXPECT_EQ(best["best_value"], 0.5);
  EXPECT_EQ(best["best_epoch"], 2);
  EXPECT_EQ(best["status"], "ok");
  uint64_t bytes = 0;
  for (const auto& e : catalogue.entries)
    if (e.run == "zeta") bytes += e.bytes + e.sidecar_bytes;
  EXPECT_EQ(doc["totals"]["files"], 3);
  EXPECT_EQ(doc["totals"]["bytes"], bytes);
  EXPECT_EQ(doc["totals"]["problems"], 0);
  EXPECT_THROW(parse_list_format("yaml"), UsageError);
}

}  // namespace
}  // namespace pixelrec::checkpoints
