// `checkpoints archive`: the system tar extracts the .tar.gz to the original bytes, lists the
// expected names, and MANIFEST.json holds sizes, SHA-256 and the sidecar metadata; torn
// checkpoints and existing outputs are refused without leaving files behind.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "checkpoints/archive.h"
#include "checkpoints/sha256.h"
#include "checkpoints_test_fixture.h"

namespace pixelrec::checkpoints {
namespace {

using test::ScratchDir;
using testing::error_of;
using testing::write_run;

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

struct ArchiveFixture {
  ScratchDir dir{"ckpt_archive"};
  fs::path checkpoints = dir / "ckpt";
  fs::path results = dir / "results";

  ArchiveFixture() {
    write_run(checkpoints, "demo", 3, 2, 70000);
    test::write_text(results / "demo/config.yaml", "model:\n  fusion_type: concat\n");
    test::write_text(results / "demo/metrics.jsonl", "{\"epoch\": 1}\n{\"epoch\": 2}\n");
    test::write_text(results / "demo/train.log", "not archived");
  }

  ArchiveOptions options(const std::string& output) const {
    ArchiveOptions o;
    o.run = "demo";
    o.output = dir / output;
    o.results_dir = results;
    return o;
  }
};

TEST(CheckpointsArchive, SystemTarExtractsTheOriginalBytes) {
  ArchiveFixture f;
  std::ostringstream out;
  const ArchiveResult result = archive_run(f.checkpoints, f.options("demo.tar.gz"), out);
  ASSERT_TRUE(fs::exists(result.output));
  EXPECT_EQ(result.bytes_out, fs::file_size(result.output));
  EXPECT_GT(result.bytes_in, result.bytes_out);  // the tar stream, before compression

  const auto listing = test::run_command("tar -tzvf " + q(result.output));
  ASSERT_EQ(listing.exit_code, 0) << listing.output;
  const auto names = test::run_command("tar -tzf " + q(result.output));
  EXPECT_EQ(names.output,
            "demo/\ndemo/best.pt\ndemo/best.meta.json\ndemo/last.pt\ndemo/last.meta.json\n"
            "demo/config.yaml\ndemo/metrics.jsonl\ndemo/MANIFEST.json\n");
  EXPECT_NE(listing.output.find("70000"), std::string::npos) << listing.output;  // sizes shown

  const fs::path extracted = f.dir / "out";
  fs::create_directories(extracted);
  const auto untar = test::run_command("tar -xzf " + q(result.output) + " -C " + q(extracted));
  ASSERT_EQ(untar.exit_code, 0) << untar.output;
  for (const char* name : {"best.pt", "best.meta.json", "last.pt", "last.meta.json"})
    EXPECT_EQ(test::read_text(extracted / "demo" / name),
              test::read_text(f.checkpoints / "demo" / name))
        << name;
  EXPECT_EQ(test::read_text(extracted / "demo/config.yaml"),
            test::read_text(f.results / "demo/config.yaml"));
  EXPECT_EQ(test::read_text(extracted / "demo/metrics.jsonl"),
            test::read_text(f.results / "demo/metrics.jsonl"));
  EXPECT_FALSE(fs::exists(extracted / "demo/epoch_0001.pt"));
  EXPECT_FALSE(fs::exists(extracted / "demo/train.log"));

  const auto manifest = nlohmann::json::parse(test::read_text(extracted / "demo/MANIFEST.json"));
  EXPECT_EQ(manifest["format"], "pixelrec-checkpoint-archive");
  EXPECT_EQ(manifest["run"], "demo");
  ASSERT_EQ(manifest["files"].size(), 6u);
  const auto& best = manifest["files"][0];
  EXPECT_EQ(best["file"], "demo/best.pt");
  EXPECT_EQ(best["bytes"], 70000);
  EXPECT_EQ(best["sha256"], sha256_hex(test::read_text(f.checkpoints / "demo/best.pt")));
  EXPECT_EQ(best["metadata"]["kind"], "best");
  EXPECT_EQ(best["metadata"]["epoch"], 2);
  EXPECT_EQ(best["metadata"]["model"]["fusion_type"], "concat");
  EXPECT_EQ(manifest["files"][1]["file"], "demo/best.meta.json");
  EXPECT_FALSE(manifest["files"][1].contains("metadata"));
  // sha256sum agrees with every digest in the manifest.
  for (const auto& file : manifest["files"]) {
    const auto sum =
        test::run_command("sha256sum " + q(extracted / file["file"].get<std::string>()));
    EXPECT_EQ(sum.output.substr(0, 64), file["sha256"].get<std::string>()) << file["file"];
  }
  EXPECT_NE(out.str().find("add demo/best.pt"), std::string::npos);
  EXPECT_NE(out.str().find("wrote "), std::string::npos);
}

TEST(CheckpointsArchive, IncludeEpochsAddsEpochCheckpoints) {
  ArchiveFixture f;
  ArchiveOptions options = f.options("all.tar.gz");
  options.include_epochs = true;
  std::ostringstream out;
  const ArchiveResult result = archive_run(f.checkpoints, options, out);
  EXPECT_EQ(result.files.size(), 12u);  // 5 checkpoints + 5 sidecars + 2 run files
  const auto names = test::run_command("tar -tzf " + q(result.output));
  EXPECT_NE(names.output.find("demo/epoch_0001.pt\n"), std::string::npos) << names.output;
  EXPECT_NE(names.output.find("demo/epoch_0003.meta.json\n"), std::string::npos);
}

TEST(CheckpointsArchive, RefusesTornCheckpointsAndExistingOutputsLeavingNoFiles) {
  ArchiveFixture f;
  test::write_text(f.dir / "taken.tar.gz", "mine");
  std::ostringstream out;
  EXPECT_NE(error_of([&] {
              archive_run(f.checkpoints, f.options("taken.tar.gz"), out);
            }).find("--overwrite"),
            std::string::npos);
  EXPECT_EQ(test::read_text(f.dir / "taken.tar.gz"), "mine");

  test::write_text(f.checkpoints / "demo/last.pt", "torn");
  const std::string message =
      error_of([&] { archive_run(f.checkpoints, f.options("torn.tar.gz"), out); });
  EXPECT_NE(message.find("size_mismatch"), std::string::npos) << message;
  EXPECT_NE(message.find("last.pt"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(f.dir / "torn.tar.gz"));
  for (const auto& entry : fs::directory_iterator(f.dir.path()))  // no temp file left behind
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
}

TEST(CheckpointsArchive, UnknownRunNamesTheKnownOnes) {
  ArchiveFixture f;
  ArchiveOptions options = f.options("x.tar.gz");
  options.run = "dem";
  std::ostringstream out;
  EXPECT_NE(error_of([&] { archive_run(f.checkpoints, options, out); }).find("did you mean 'demo'"),
            std::string::npos);
}

}  // namespace
}  // namespace pixelrec::checkpoints
