// Item text and counters: topic vocabularies, title/description lengths, legitimate RFC 4180
// quoting in ~10% of descriptions, tags that mostly name the topic, popularity-driven counters.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "data/synth.h"

namespace pixelrec::synth {
namespace {

size_t word_count(const std::string& s) {
  std::istringstream in(s);
  size_t n = 0;
  for (std::string w; in >> w;) ++n;
  return n;
}

class SynthTinyText : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SynthParams p = preset_params("tiny");
    world_ = new SynthWorld(plan_world(p));
    vocab_ = new Vocabulary(make_vocabulary(p.seed, p.topics));
    texts_ = new std::vector<ItemText>(world_->items.size());
    for (size_t i = 0; i < texts_->size(); ++i) make_item_text(*vocab_, *world_, i, (*texts_)[i]);
  }
  static void TearDownTestSuite() {
    delete world_;
    delete vocab_;
    delete texts_;
  }
  static SynthWorld* world_;
  static Vocabulary* vocab_;
  static std::vector<ItemText>* texts_;
};
SynthWorld* SynthTinyText::world_ = nullptr;
Vocabulary* SynthTinyText::vocab_ = nullptr;
std::vector<ItemText>* SynthTinyText::texts_ = nullptr;

TEST_F(SynthTinyText, VocabulariesHaveFortyDistinctWordsPerTopicAndOneTagEach) {
  ASSERT_EQ(vocab_->topic_words.size(), 6u);
  std::set<std::string> all;
  for (const auto& words : vocab_->topic_words) {
    EXPECT_EQ(words.size(), 40u);
    all.insert(words.begin(), words.end());
  }
  EXPECT_EQ(all.size(), 240u);  // no word is shared between topics
  ASSERT_EQ(vocab_->tags.size(), 6u);
  for (const auto& tag : vocab_->tags) EXPECT_EQ(all.count(tag), 0u) << tag;
}

TEST_F(SynthTinyText, TitlesHaveThreeToSevenWordsAndDescriptionsTenToForty) {
  for (const auto& t : *texts_) {
    EXPECT_GE(word_count(t.title), 3u) << t.title;
    EXPECT_LE(word_count(t.title), 7u) << t.title;
    EXPECT_GE(word_count(t.description), 10u) << t.description;
    EXPECT_LE(word_count(t.description), 40u) << t.description;
  }
}

TEST_F(SynthTinyText, AboutOneDescriptionInTenHasCommaQuotesAndANewline) {
  size_t quoted = 0;
  for (const auto& t : *texts_) {
    const bool has_newline = t.description.find('\n') != std::string::npos;
    if (has_newline) {
      ++quoted;
      EXPECT_EQ(std::count(t.description.begin(), t.description.end(), '"'), 2) << t.description;
      EXPECT_NE(t.description.find(','), std::string::npos) << t.description;
    }
  }
  EXPECT_EQ(quoted, 36u);  // seed 42: 36 of 400 (binomial mean 40)
}

TEST_F(SynthTinyText, WordsComeMostlyFromTheItemsTopicVocabulary) {
  size_t own = 0, total = 0;
  for (size_t i = 0; i < texts_->size(); ++i) {
    const auto& words = vocab_->topic_words[static_cast<size_t>(world_->items[i].topic)];
    std::istringstream in((*texts_)[i].description);
    for (std::string w; in >> w; ++total) {
      w.erase(std::remove_if(w.begin(), w.end(),
                             [](char c) { return c == '"' || c == ',' || c == '.'; }),
              w.end());
      own += std::find(words.begin(), words.end(), w) != words.end();
    }
  }
  EXPECT_NEAR(static_cast<double>(own) / total, 0.6, 0.03);
}

TEST_F(SynthTinyText, TheTagNamesTheTopicAboutEightyFivePercentOfTheTime) {
  size_t own = 0;
  for (size_t i = 0; i < texts_->size(); ++i)
    own += (*texts_)[i].tag == vocab_->tags[static_cast<size_t>(world_->items[i].topic)];
  EXPECT_NEAR(own / 400.0, 0.85, 0.05);
}

TEST_F(SynthTinyText, CountersAreNonNegativeAndFollowPopularity) {
  double top_views = 0, bottom_views = 0;
  for (size_t i = 0; i < texts_->size(); ++i) {
    for (int64_t c : (*texts_)[i].counters) EXPECT_GE(c, 0);
    EXPECT_GE((*texts_)[i].counters[0], (*texts_)[i].counters[1]);  // views >= comments
    const uint32_t rank = world_->items[i].popularity_rank;
    if (rank <= 40) top_views += (*texts_)[i].counters[0] / 40.0;
    if (rank > 200) bottom_views += (*texts_)[i].counters[0] / 200.0;
  }
  EXPECT_GT(top_views, 10 * bottom_views);
}

TEST_F(SynthTinyText, IsAPureFunctionOfSeedAndItem) {
  ItemText again;
  make_item_text(*vocab_, *world_, 17, again);
  EXPECT_EQ(again.title, (*texts_)[17].title);
  EXPECT_EQ(again.description, (*texts_)[17].description);
  EXPECT_EQ(again.counters, (*texts_)[17].counters);
}

}  // namespace
}  // namespace pixelrec::synth
