// Item text and counters: pseudo-word vocabularies per topic, titles, descriptions (some with
// legitimate RFC 4180 quoting), tags, and popularity-driven engagement counters.
#include <cmath>
#include <set>

#include "core/rng.h"
#include "data/synth.h"

namespace pixelrec::synth {

namespace {

constexpr size_t kWordsPerTopic = 40;
constexpr double kTitleTopicShare = 0.8;
constexpr double kDescriptionTopicShare = 0.6;
constexpr double kQuotedDescriptionFraction = 0.1;
constexpr double kOwnTagProbability = 0.85;
constexpr double kViewScale = 2.0e6;

const char* const kOnsets[] = {"b", "d", "f", "g", "k",  "l",  "m",  "n",  "p",  "r",
                               "s", "t", "v", "z", "ch", "sh", "tr", "pl", "gr", "st"};
const char* const kVowels[] = {"a", "e", "i", "o", "u", "ai", "ou", "ei"};
const char* const kCodas[] = {"", "", "", "n", "r", "s", "l", "m"};

const char* const kCommonWords[] = {
    "the",  "a",     "and",  "of",  "with",  "new",   "best", "my",  "this", "for",
    "how",  "to",    "in",   "day", "video", "today", "fun",  "top", "life", "first",
    "live", "guide", "part", "our", "why",   "more",  "on",   "at",  "very", "all"};

// Engagement as a fraction of views: median fraction and log-normal spread.
struct CounterShape {
  double fraction;
  double spread;
};
const CounterShape kCounterShapes[] = {{0.004, 0.4}, {0.05, 0.3}, {0.005, 0.5},
                                       {0.015, 0.4}, {0.03, 0.3}, {0.01, 0.5}};

template <size_t N>
const char* pick(const char* const (&list)[N], Rng& rng) {
  return list[rng.below(N)];
}

std::string pseudo_word(Rng& rng, int syllables) {
  std::string word;
  for (int s = 0; s < syllables; ++s) {
    word += pick(kOnsets, rng);
    word += pick(kVowels, rng);
  }
  word += pick(kCodas, rng);
  return word;
}

// A word not seen before (across every topic and tag) with 2-3 syllables.
std::string unique_word(Rng& rng, std::set<std::string>& seen, int min_syllables) {
  while (true) {
    std::string word = pseudo_word(rng, min_syllables + static_cast<int>(rng.below(2)));
    if (seen.insert(word).second) return word;
  }
}

const std::string& draw_word(const Vocabulary& vocab, int topic, double topic_share, Rng& rng) {
  if (rng.bernoulli(topic_share)) {
    const auto& words = vocab.topic_words[static_cast<size_t>(topic)];
    // Squaring skews towards the first words, so each topic has characteristic frequent words.
    const double u = rng.uniform();
    return words[static_cast<size_t>(u * u * static_cast<double>(words.size()))];
  }
  return vocab.common_words[rng.below(vocab.common_words.size())];
}

void append_words(const Vocabulary& vocab, int topic, double share, size_t count, Rng& rng,
                  std::string& out) {
  for (size_t w = 0; w < count; ++w) {
    if (w) out += ' ';
    out += draw_word(vocab, topic, share, rng);
  }
}

// A description with a comma, a "quoted phrase" and an embedded newline.
void append_quoted_description(const Vocabulary& vocab, int topic, size_t count, Rng& rng,
                               std::string& out) {
  for (size_t w = 0; w < count; ++w) {
    if (w == 4) out += '"';
    out += draw_word(vocab, topic, kDescriptionTopicShare, rng);
    if (w == 2) out += ',';
    if (w == 5) out += '"';
    if (w + 1 < count) out += (w == count / 2 + 2) ? '\n' : ' ';
  }
}

void make_counters(const SynthItem& item, Rng& rng, ItemText& out) {
  const double popularity = std::pow(static_cast<double>(item.popularity_rank), -0.9);
  const double views = kViewScale * popularity * std::exp(0.6 * rng.normal());
  out.counters[0] = static_cast<int64_t>(views) + 20 + static_cast<int64_t>(rng.below(200));
  for (size_t c = 1; c < kCounterNames.size(); ++c) {
    const CounterShape& shape = kCounterShapes[c - 1];
    const double value = static_cast<double>(out.counters[0]) * shape.fraction *
                         std::exp(shape.spread * rng.normal());
    out.counters[c] = static_cast<int64_t>(value);
  }
}

}  // namespace

Vocabulary make_vocabulary(uint64_t seed, int topics) {
  Vocabulary vocab;
  Rng rng = Rng::stream(seed, {kStreamVocabulary});
  std::set<std::string> seen(std::begin(kCommonWords), std::end(kCommonWords));
  vocab.common_words.assign(std::begin(kCommonWords), std::end(kCommonWords));
  vocab.topic_words.resize(static_cast<size_t>(topics));
  for (auto& words : vocab.topic_words)
    for (size_t w = 0; w < kWordsPerTopic; ++w) words.push_back(unique_word(rng, seen, 2));
  for (int t = 0; t < topics; ++t) vocab.tags.push_back(unique_word(rng, seen, 3));
  return vocab;
}

void make_item_text(const Vocabulary& vocab, const SynthWorld& world, size_t index, ItemText& out) {
  const SynthItem& item = world.items[index];
  Rng rng = Rng::stream(world.params.seed, {kStreamItemText, index});
  out.title.clear();
  append_words(vocab, item.content_topic, kTitleTopicShare, 3 + rng.below(5), rng, out.title);
  if (!out.title.empty() && out.title[0] >= 'a' && out.title[0] <= 'z') out.title[0] -= 'a' - 'A';

  out.description.clear();
  const size_t words = 10 + rng.below(31);
  if (rng.bernoulli(kQuotedDescriptionFraction))
    append_quoted_description(vocab, item.content_topic, words, rng, out.description);
  else
    append_words(vocab, item.content_topic, kDescriptionTopicShare, words, rng, out.description);
  out.description += '.';

  const size_t topics = vocab.tags.size();
  const size_t own = static_cast<size_t>(item.content_topic);
  const size_t tag =
      rng.bernoulli(kOwnTagProbability) ? own : (own + 1 + rng.below(topics - 1)) % topics;
  out.tag = vocab.tags[tag];
  make_counters(item, rng, out);
}

}  // namespace pixelrec::synth
