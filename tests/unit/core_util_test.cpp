// Small core utilities: edit distance and suggestions, strict number parsing, seeded RNG
// determinism and ranges, hashing stability, atomic writes.
#include <gtest/gtest.h>

#include <set>

#include "core/errors.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/rng.h"
#include "core/strings.h"
#include "core/text_formats.h"
#include "support/test_support.h"

namespace pixelrec {
namespace {

TEST(Strings, EditDistanceAndClosestMatch) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(closest_match("embeding_dim", {"epochs", "embedding_dim", "dropout_rate"}),
            std::optional<std::string>("embedding_dim"));
  EXPECT_EQ(closest_match("zzzzzzzz", {"epochs", "batch_size"}), std::nullopt);
}

TEST(Strings, StrictNumberParsing) {
  EXPECT_EQ(parse_int(" 42 "), 42);
  EXPECT_EQ(parse_int("-7"), -7);
  EXPECT_EQ(parse_int("12k"), std::nullopt);
  EXPECT_EQ(parse_int(""), std::nullopt);
  EXPECT_EQ(parse_double("1.5e3"), 1500.0);
  EXPECT_EQ(parse_double("abc"), std::nullopt);
  EXPECT_EQ(parse_double("3.0x"), std::nullopt);
}

TEST(Rng, StreamsAreDeterministicAndIndependent) {
  Rng a = Rng::stream(42, {1, 2});
  Rng b = Rng::stream(42, {1, 2});
  Rng c = Rng::stream(42, {1, 3});
  std::vector<uint64_t> va, vb, vc;
  for (int i = 0; i < 5; ++i) {
    va.push_back(a.next());
    vb.push_back(b.next());
    vc.push_back(c.next());
  }
  EXPECT_EQ(va, vb);
  EXPECT_NE(va, vc);
}

TEST(Rng, BelowCoversTheRangeUniformly) {
  Rng rng(7);
  std::vector<int> counts(10);
  for (int i = 0; i < 100000; ++i) ++counts[rng.below(10)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
  double sum = 0, sq = 0;
  for (int i = 0; i < 100000; ++i) {
    double x = rng.normal();
    sum += x;
    sq += x * x;
  }
  EXPECT_NEAR(sum / 100000, 0.0, 0.02);
  EXPECT_NEAR(sq / 100000, 1.0, 0.02);
}

TEST(Hash, StableAndSensitive) {
  EXPECT_EQ(Hasher().add("hello").hex(), Hasher().add("hello").hex());
  EXPECT_NE(Hasher().add("hello").hex(), Hasher().add("hellp").hex());
  EXPECT_NE(Hasher().add("ab").add("c").hex(), Hasher().add("a").add("bc").hex());
  EXPECT_EQ(Hasher().add("hello").hex().size(), 16u);
}

// Many rename-only writes end with one flush of their folder: a flush that cannot happen is an
// error, as a failed fsync is, not a silent success.
TEST(Files, FlushingAFolderThatCannotBeFlushedIsAnError) {
  test::ScratchDir dir("syncfs");
  write_file_atomic(dir / "a.png", "x", Durability::kRenameOnly);
  EXPECT_NO_THROW(sync_filesystem(dir.path()));
  try {
    sync_filesystem(dir / "missing");
    ADD_FAILURE() << "no error for a missing folder";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "missing").string()), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("could not be flushed"), std::string::npos);
  }
}

TEST(Files, AtomicWriteReplacesWholeFilesAndLeavesNoTemp) {
  test::ScratchDir dir("atomic");
  const auto path = dir / "sub" / "out.txt";
  write_file_atomic(path, "first");
  write_file_atomic(path, "second");
  EXPECT_EQ(read_file(path), "second");
  EXPECT_THROW(write_stream_atomic(path,
                                   [](std::ostream& out) {
                                     out << "partial";
                                     throw std::runtime_error("crash mid-write");
                                   }),
               std::runtime_error);
  EXPECT_EQ(read_file(path), "second");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir / "sub")) ++entries;
  EXPECT_EQ(entries, 1u);
}

}  // namespace
}  // namespace pixelrec

namespace pixelrec {
namespace {

TEST(TextFormats, HtmlEscapeMakesEveryMarkupCharacterInert) {
  EXPECT_EQ(html_escape("<a href=\"x\">Tom's & Jerry</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom&#39;s &amp; Jerry&lt;/a&gt;");
  EXPECT_EQ(html_escape("plain"), "plain");
  EXPECT_EQ(html_escape(""), "");
}

TEST(TextFormats, UtcTimestampIsIso8601WithSeconds) {
  const std::string t = utc_now_iso8601();
  ASSERT_EQ(t.size(), 20u) << t;
  EXPECT_EQ(t[4], '-');
  EXPECT_EQ(t[10], 'T');
  EXPECT_EQ(t.back(), 'Z');
  EXPECT_GE(t.substr(0, 4), "2024");
}

}  // namespace
}  // namespace pixelrec
