// The planted structure: item topics, popularity and release times, user topic preferences,
// heavy-tailed per-user counts and the interactions drawn from them.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/errors.h"
#include "core/rng.h"
#include "data/synth.h"

namespace pixelrec::synth {

namespace {

constexpr double kZipfExponent = 0.9;
constexpr double kFavouriteShare = 0.7;
constexpr double kSecondTopicShare = 0.15;
constexpr double kSecondTopicProbability = 0.5;
constexpr double kPngFraction = 0.05;
constexpr double kEarlyReleaseSpan = 0.7;  // regular items are released in the first 70%
constexpr double kLateReleaseStart = 0.8;  // late items in the last 20%
constexpr int64_t kDay = 86400;
constexpr double kCountTailAlpha = 1.5;  // Lomax (shifted Pareto) tail of the per-user counts
constexpr uint64_t kCapTimesMean = 20;   // no user has more than 20x the mean count
constexpr size_t kUsersPerTask = 256;
constexpr int kRejectionTries = 16;
constexpr size_t kRecentTopics = 3;  // stickiness reuses one of the last three topics

// Items of one topic with cumulative Zipf weights (by global popularity rank).
struct TopicPool {
  std::vector<uint32_t> items;
  std::vector<double> cumulative;
};

std::vector<TopicPool> build_topic_pools(const std::vector<SynthItem>& items, int topics) {
  std::vector<TopicPool> pools(static_cast<size_t>(topics));
  for (uint32_t i = 0; i < items.size(); ++i)
    pools[static_cast<size_t>(items[i].topic)].items.push_back(i);
  for (auto& pool : pools) {
    std::sort(pool.items.begin(), pool.items.end(), [&](uint32_t a, uint32_t b) {
      return items[a].popularity_rank < items[b].popularity_rank;
    });
    double total = 0.0;
    for (uint32_t i : pool.items) {
      total += items[i].weight;
      pool.cumulative.push_back(total);
    }
  }
  return pools;
}

// Every item, most popular first: where popularity-driven interactions are drawn from.
TopicPool build_global_pool(const std::vector<SynthItem>& items) {
  TopicPool pool;
  pool.items.resize(items.size());
  for (uint32_t i = 0; i < items.size(); ++i) pool.items[items[i].popularity_rank - 1] = i;
  double total = 0.0;
  for (uint32_t i : pool.items) pool.cumulative.push_back(total += items[i].weight);
  return pool;
}

// Content topics and sampling weights. Each knob draws from its own stream only when it is away
// from its default, so the default output stays what it always was.
void plan_item_realism(const SynthParams& p, std::vector<SynthItem>& items) {
  const uint64_t topics = static_cast<uint64_t>(p.topics);
  for (size_t i = 0; i < items.size(); ++i) {
    SynthItem& item = items[i];
    item.content_topic = item.topic;
    if (p.content_signal < 1.0) {
      Rng rng = Rng::stream(p.seed, {kStreamContentTopic, i});
      // A random topic (possibly its own by chance): at signal 0 content says nothing.
      if (!rng.bernoulli(p.content_signal))
        item.content_topic = static_cast<int>(rng.below(topics));
    }
    item.weight = std::pow(static_cast<double>(item.popularity_rank), -kZipfExponent);
    if (p.popularity_noise > 0.0) {
      Rng rng = Rng::stream(p.seed, {kStreamPopularityNoise, i});
      item.weight *= std::exp(p.popularity_noise * rng.normal());
    }
  }
}

void plan_items(const SynthParams& p, std::vector<SynthItem>& items) {
  const size_t n = static_cast<size_t>(p.items);
  items.resize(n);
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i)
    order[i] = static_cast<uint32_t>(i % static_cast<size_t>(p.topics));
  Rng topic_rng = Rng::stream(p.seed, {kStreamItemTopics});
  topic_rng.shuffle(order);  // balanced topic sizes, random assignment
  for (size_t i = 0; i < n; ++i) items[i].topic = static_cast<int>(order[i]);

  std::iota(order.begin(), order.end(), 1u);
  Rng rank_rng = Rng::stream(p.seed, {kStreamPopularity});
  rank_rng.shuffle(order);
  for (size_t i = 0; i < n; ++i) items[i].popularity_rank = order[i];

  std::iota(order.begin(), order.end(), 0u);
  Rng late_rng = Rng::stream(p.seed, {kStreamLateItems});
  late_rng.shuffle(order);
  const size_t late =
      static_cast<size_t>(std::llround(p.late_item_fraction * static_cast<double>(n)));
  for (size_t i = 0; i < late; ++i) items[order[i]].is_late = true;

  const double window = static_cast<double>(kWindowSeconds);
  for (size_t i = 0; i < n; ++i) {
    SynthItem& item = items[i];
    Rng rng = Rng::stream(p.seed, {kStreamItemPlan, i});
    item.id = std::to_string(100000 + 3 * i + rng.below(3));
    const double offset = item.is_late
                              ? kLateReleaseStart * window +
                                    rng.uniform() * ((1 - kLateReleaseStart) * window - 2 * kDay)
                              : rng.uniform() * kEarlyReleaseSpan * window;
    item.release_time = kWindowStart + static_cast<int64_t>(offset);
    item.png = rng.bernoulli(kPngFraction);
  }
  plan_item_realism(p, items);
}

void plan_users(const SynthParams& p, std::vector<SynthUser>& users) {
  const size_t n = static_cast<size_t>(p.users);
  const size_t topics = static_cast<size_t>(p.topics);
  users.resize(n);
  std::vector<double> weights(topics);
  for (size_t u = 0; u < n; ++u) {
    SynthUser& user = users[u];
    Rng rng = Rng::stream(p.seed, {kStreamUserPlan, u});
    user.id = std::to_string(1 + 2 * u + rng.below(2));
    const size_t favourite = rng.below(topics);
    const bool has_second = rng.bernoulli(kSecondTopicProbability);
    const size_t second = (favourite + 1 + rng.below(topics - 1)) % topics;
    double rest = 0.0;
    for (size_t t = 0; t < topics; ++t) {
      weights[t] = (t == favourite || (has_second && t == second)) ? 0.0 : rng.uniform(0.5, 1.5);
      rest += weights[t];
    }
    const double spread = 1.0 - kFavouriteShare - (has_second ? kSecondTopicShare : 0.0);
    for (auto& w : weights) w = rest > 0 ? w * spread / rest : 0.0;
    weights[favourite] = kFavouriteShare + (rest > 0 ? 0.0 : spread);
    if (has_second) weights[second] = kSecondTopicShare;
    user.favourite_topic = static_cast<int>(favourite);
    user.topic_cdf.resize(topics);
    std::partial_sum(weights.begin(), weights.end(), user.topic_cdf.begin());
    user.topic_cdf.back() = 1.0;

    const double span = kWindowSeconds * rng.uniform(0.2, 1.0);
    const double begin = rng.uniform() * (kWindowSeconds - span);
    user.active_start = kWindowStart + static_cast<int64_t>(begin);
    user.active_end = kWindowStart + static_cast<int64_t>(begin + span);
  }
}

// Draws one user's interactions into `out`; `taken` is per-task scratch (all zero on entry and
// on return).
class UserSampler {
 public:
  UserSampler(const SynthWorld& world, const std::vector<TopicPool>& pools, const TopicPool& global)
      : world_(world),
        pools_(pools),
        global_(global),
        taken_(world.items.size(), 0),
        topic_taken_(pools.size()) {}

  void sample(uint64_t seed, uint32_t user_index, SynthInteraction* out, uint32_t count) {
    const SynthUser& user = world_.users[user_index];
    Rng rng = Rng::stream(seed, {kStreamUserInteractions, user_index});
    std::fill(topic_taken_.begin(), topic_taken_.end(), 0u);
    if (world_.params.stickiness > 0.0)
      sample_in_time_order(seed, user_index, rng, out, count);
    else
      for (uint32_t j = 0; j < count; ++j) {
        const uint32_t item = pick(pick_topic(user, rng), kNoDeadline, rng);
        out[j] = {item, user_index, pick_time(user, world_.items[item], rng)};
      }
    for (uint32_t j = 0; j < count; ++j) taken_[out[j].item] = 0;
  }

 private:
  static constexpr int64_t kNoDeadline = std::numeric_limits<int64_t>::max();

  // Sticky behaviour needs the order of the interactions to be their time order: the times are
  // drawn first, and each interaction prefers items already released at its time.
  void sample_in_time_order(uint64_t seed, uint32_t user_index, Rng& rng, SynthInteraction* out,
                            uint32_t count) {
    const SynthUser& user = world_.users[user_index];
    times_.resize(count);
    Rng time_rng = Rng::stream(seed, {kStreamUserTimes, user_index});
    const uint64_t span = static_cast<uint64_t>(user.active_end - user.active_start + 1);
    for (auto& t : times_) t = user.active_start + static_cast<int64_t>(time_rng.below(span));
    std::sort(times_.begin(), times_.end());
    for (uint32_t j = 0; j < count; ++j) {
      size_t topic = 0;
      if (j > 0 && rng.bernoulli(world_.params.stickiness)) {
        const size_t recent = std::min<size_t>(j, kRecentTopics);
        topic = static_cast<size_t>(world_.items[out[j - 1 - rng.below(recent)].item].topic);
        if (topic_full(topic)) topic = pick_topic(user, rng);
      } else {
        topic = pick_topic(user, rng);
      }
      const uint32_t item = pick(topic, times_[j], rng);
      const SynthItem& chosen = world_.items[item];
      out[j] = {item, user_index,
                chosen.release_time <= times_[j] ? times_[j] : pick_time(user, chosen, rng)};
    }
  }

  // An item of `topic`, or with probability popular_share one drawn by popularity alone.
  uint32_t pick(size_t topic, int64_t deadline, Rng& rng) {
    const double share = world_.params.popular_share;
    const bool popular = share > 0.0 && rng.bernoulli(share);
    const uint32_t item = pick_item(popular ? global_ : pools_[topic], deadline, rng);
    taken_[item] = 1;
    ++topic_taken_[static_cast<size_t>(world_.items[item].topic)];
    return item;
  }

  bool topic_full(size_t t) const { return topic_taken_[t] >= pools_[t].items.size(); }

  size_t pick_topic(const SynthUser& user, Rng& rng) const {
    for (int attempt = 0; attempt < kRejectionTries; ++attempt) {
      const auto& cdf = user.topic_cdf;
      const size_t t = static_cast<size_t>(std::upper_bound(cdf.begin(), cdf.end(), rng.uniform()) -
                                           cdf.begin());
      const size_t topic = std::min(t, cdf.size() - 1);
      if (!topic_full(topic)) return topic;
    }
    const size_t start = rng.below(pools_.size());
    for (size_t k = 0; k < pools_.size(); ++k) {
      const size_t topic = (start + k) % pools_.size();
      if (!topic_full(topic)) return topic;
    }
    PIXELREC_CHECK(false, "every topic is exhausted; per-user counts exceed the catalogue");
    return 0;
  }

  // Weighted by popularity among the items not taken yet, preferring those released by
  // `deadline` (when none is, any untaken item).
  uint32_t pick_item(const TopicPool& pool, int64_t deadline, Rng& rng) const {
    const double total = pool.cumulative.back();
    for (int attempt = 0; attempt < kRejectionTries; ++attempt) {
      const size_t k = static_cast<size_t>(
          std::upper_bound(pool.cumulative.begin(), pool.cumulative.end(), rng.uniform() * total) -
          pool.cumulative.begin());
      const uint32_t item = pool.items[std::min(k, pool.items.size() - 1)];
      if (available(item, deadline)) return item;
    }
    // Mostly taken already: draw among the remaining items by their weights.
    double remaining = 0.0;
    for (size_t k = 0; k < pool.items.size(); ++k)
      if (available(pool.items[k], deadline)) remaining += weight(pool, k);
    if (remaining <= 0.0 && deadline != kNoDeadline) return pick_item(pool, kNoDeadline, rng);
    double target = rng.uniform() * remaining;
    uint32_t last = pool.items.front();
    for (size_t k = 0; k < pool.items.size(); ++k) {
      if (!available(pool.items[k], deadline)) continue;
      last = pool.items[k];
      target -= weight(pool, k);
      if (target < 0) break;
    }
    return last;
  }

  bool available(uint32_t item, int64_t deadline) const {
    return !taken_[item] && world_.items[item].release_time <= deadline;
  }

  static double weight(const TopicPool& pool, size_t k) {
    return pool.cumulative[k] - (k ? pool.cumulative[k - 1] : 0.0);
  }

  // Uniform within the user's active span, never before the item's release.
  static int64_t pick_time(const SynthUser& user, const SynthItem& item, Rng& rng) {
    const int64_t last_second = kWindowStart + kWindowSeconds - 1;
    const int64_t lo = std::max(user.active_start, item.release_time);
    const int64_t hi =
        user.active_end >= lo ? user.active_end : std::min(lo + 14 * kDay, last_second);
    return lo + static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi - lo + 1)));
  }

  const SynthWorld& world_;
  const std::vector<TopicPool>& pools_;
  const TopicPool& global_;
  std::vector<uint8_t> taken_;
  std::vector<size_t> topic_taken_;
  std::vector<int64_t> times_;
};

void plan_interactions(SynthWorld& world) {
  const SynthParams& p = world.params;
  const size_t users = world.users.size();
  const uint64_t mean = (static_cast<uint64_t>(p.interactions) + users - 1) / users;
  const uint64_t cap = std::min<uint64_t>(
      (world.items.size() + 1) / 2, std::max<uint64_t>(kMinUserInteractions, kCapTimesMean * mean));
  const std::vector<uint32_t> counts = plan_user_counts(
      p.seed, users, static_cast<uint64_t>(p.interactions), static_cast<uint32_t>(cap));
  std::vector<size_t> offsets(users + 1, 0);
  for (size_t u = 0; u < users; ++u) offsets[u + 1] = offsets[u] + counts[u];

  const std::vector<TopicPool> pools = build_topic_pools(world.items, p.topics);
  const TopicPool global = build_global_pool(world.items);
  world.interactions.resize(offsets.back());
  const size_t tasks = (users + kUsersPerTask - 1) / kUsersPerTask;
  parallel_for(tasks, p.threads, [&](size_t task) {
    UserSampler sampler(world, pools, global);
    const size_t end = std::min(users, (task + 1) * kUsersPerTask);
    for (size_t u = task * kUsersPerTask; u < end; ++u)
      sampler.sample(p.seed, static_cast<uint32_t>(u), &world.interactions[offsets[u]], counts[u]);
  });
  std::sort(world.interactions.begin(), world.interactions.end(),
            [](const SynthInteraction& a, const SynthInteraction& b) {
              if (a.timestamp != b.timestamp) return a.timestamp < b.timestamp;
              if (a.user != b.user) return a.user < b.user;
              return a.item < b.item;
            });
}

// Largest-remainder rounding of `share` (which sums to `total`), each at most `room`.
std::vector<uint32_t> round_shares(const std::vector<double>& share, uint64_t total,
                                   uint32_t room) {
  const size_t n = share.size();
  std::vector<uint32_t> out(n);
  uint64_t assigned = 0;
  for (size_t u = 0; u < n; ++u) {
    out[u] = std::min(room, static_cast<uint32_t>(std::floor(share[u])));
    assigned += out[u];
  }
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const double fa = share[a] - std::floor(share[a]), fb = share[b] - std::floor(share[b]);
    return fa != fb ? fa > fb : a < b;
  });
  // One pass normally suffices; further passes absorb floating-point slack.
  while (assigned < total) {
    const uint64_t before = assigned;
    for (size_t k = 0; k < n && assigned < total; ++k)
      if (out[order[k]] < room) ++out[order[k]], ++assigned;
    PIXELREC_CHECK(assigned > before, "per-user counts cannot reach the requested total");
  }
  return out;
}

}  // namespace

std::vector<uint32_t> plan_user_counts(uint64_t seed, size_t users, uint64_t total, uint32_t cap) {
  PIXELREC_CHECK(users > 0 && total >= kMinUserInteractions * users &&
                     total <= static_cast<uint64_t>(cap) * users,
                 "plan_user_counts: total outside [5 * users, cap * users]");
  const uint64_t extra = total - kMinUserInteractions * users;
  const uint32_t room = cap - kMinUserInteractions;
  Rng rng = Rng::stream(seed, {kStreamUserCounts});
  std::vector<double> weight(users);
  for (auto& w : weight) w = std::pow(1.0 - rng.uniform(), -1.0 / kCountTailAlpha) - 1.0 + 1e-9;

  // Water-filling: users whose proportional share exceeds the cap are pinned at the cap and the
  // excess goes to everyone else, until nobody overflows.
  std::vector<char> pinned(users, 0);
  std::vector<double> share(users, 0.0);
  size_t pinned_count = 0;
  while (true) {
    double free_weight = 0.0;
    for (size_t u = 0; u < users; ++u)
      if (!pinned[u]) free_weight += weight[u];
    const double free_total = static_cast<double>(extra) - static_cast<double>(room) * pinned_count;
    bool overflow = false;
    for (size_t u = 0; u < users; ++u) {
      share[u] = pinned[u] ? room : free_total * weight[u] / free_weight;
      if (!pinned[u] && share[u] > room) pinned[u] = 1, ++pinned_count, overflow = true;
    }
    if (!overflow || pinned_count == users) break;
  }
  std::vector<uint32_t> counts = round_shares(share, extra, room);
  for (auto& c : counts) c += kMinUserInteractions;
  return counts;
}

SynthWorld plan_world(const SynthParams& params) {
  validate_params(params);
  SynthWorld world;
  world.params = params;
  plan_items(params, world.items);
  plan_users(params, world.users);
  plan_interactions(world);
  return world;
}

}  // namespace pixelrec::synth
