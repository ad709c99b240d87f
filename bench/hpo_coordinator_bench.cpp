// Throughput of the HPO coordinator: W simulated worker groups (threads, each with its own
// connection through the real client) run N trials (lease, R reports, finish) against an
// in-process coordinator over TCP on 127.0.0.1 with SQLite storage (synchronous=FULL) in a temp
// folder. Prints trials/s, messages/s and the p50/p99 request latency seen by the workers.
//   bench_hpo_coordinator [workers=64] [trials=2000] [reports=3] [sampler=random|tpe]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/logging.h"
#include "hpo/asha.h"
#include "hpo/coordinator.h"
#include "hpo/coordinator_client.h"
#include "hpo/random_sampler.h"
#include "hpo/tpe_sampler.h"

namespace {

using namespace pixelrec::hpo;
using Clock = std::chrono::steady_clock;

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  const int workers = argc > 1 ? std::atoi(argv[1]) : 64;
  const int64_t trials = argc > 2 ? std::atoll(argv[2]) : 2000;
  const int64_t reports = argc > 3 ? std::atoll(argv[3]) : 3;
  const std::string sampler_name = argc > 4 ? argv[4] : "random";
  pixelrec::init_logging("warn");

  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("pixelrec_bench_coordinator_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  double wall = 0;
  CoordinatorStats stats;
  std::vector<double> latencies;
  {
    StudyStorage storage(dir / "study.db");
    const SearchSpace space = SearchSpace::parse(
        YAML::Load("x: {type: float, low: -5, high: 5}\ny: {type: int, low: -5, high: 5}\n"),
        Direction::kMinimize, "bench");
    std::unique_ptr<Sampler> sampler;
    if (sampler_name == "tpe") {
      sampler = std::make_unique<TpeSampler>(1);
    } else {
      sampler = std::make_unique<RandomSampler>(1);
    }
    AshaOptions asha;
    asha.max_resource = reports;
    Study study(storage, "bench", space, std::move(sampler),
                std::make_unique<AshaPruner>(asha, Direction::kMinimize));
    CoordinatorOptions options;
    options.token = "bench";
    options.n_trials = trials;
    options.parallelism = workers;
    options.wait_retry = std::chrono::milliseconds(2);
    options.drain = std::chrono::milliseconds(2000);
    Coordinator coordinator(study, options);
    const Clock::time_point t0 = Clock::now();
    std::thread server([&] { stats = coordinator.run(); });

    std::vector<std::vector<double>> per_worker(static_cast<size_t>(workers));
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] {
        std::vector<double>& lat = per_worker[static_cast<size_t>(w)];
        lat.reserve(static_cast<size_t>((trials / workers + 2) * (reports + 2)));
        ClientOptions c;
        c.address = "127.0.0.1:" + std::to_string(coordinator.port());
        c.token = "bench";
        c.worker = "bench:" + std::to_string(w);
        CoordinatorClient client(c);
        const auto timed = [&](auto&& call) {
          const Clock::time_point s = Clock::now();
          auto result = call();
          lat.push_back(micros(Clock::now() - s));
          return result;
        };
        while (true) {
          const LeaseReply reply = timed([&] { return client.lease(); });
          if (const auto* t = std::get_if<TrialTicket>(&reply)) {
            const double x = std::get<double>(t->params.at("x"));
            bool pruned = false;
            for (int64_t step = 1; step <= reports && !pruned; ++step) {
              pruned = timed([&] {
                         return client.report(t->number, t->attempt, step, x * x + 1.0 / step);
                       }) == ReportReply::kPrune;
            }
            timed([&] {
              client.finish(t->number, t->attempt,
                            pruned ? TrialOutcome::pruned("asha") : TrialOutcome::complete(x * x));
              return 0;
            });
          } else if (const auto* e = std::get_if<EvaluateRequest>(&reply)) {
            timed([&] {
              client.send_evaluation(e->trial, {{"ndcg@10", 0.5}});
              return 0;
            });
          } else if (const auto* wait = std::get_if<WaitReply>(&reply)) {
            std::this_thread::sleep_for(wait->retry_after);
          } else {
            return;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    wall = std::chrono::duration<double>(Clock::now() - t0).count();
    server.join();
    for (const auto& v : per_worker) latencies.insert(latencies.end(), v.begin(), v.end());
  }
  std::filesystem::remove_all(dir);
  std::sort(latencies.begin(), latencies.end());
  const auto pct = [&](double p) {
    return latencies.empty() ? 0.0
                             : latencies[static_cast<size_t>(p * double(latencies.size() - 1))];
  };
  std::printf("workers %d, trials %lld, reports/trial %lld, sampler %s\n", workers,
              static_cast<long long>(trials), static_cast<long long>(reports),
              sampler_name.c_str());
  std::printf("wall %.2f s: %.1f trials/s, %.0f messages/s (%lld messages, %lld connections)\n",
              wall, double(trials) / wall, double(stats.messages) / wall,
              static_cast<long long>(stats.messages), static_cast<long long>(stats.connections));
  std::printf("request latency: p50 %.0f us, p99 %.0f us, max %.0f us (%zu timed requests)\n",
              pct(0.5), pct(0.99), latencies.empty() ? 0.0 : latencies.back(), latencies.size());
  std::printf("finished %s, rejected %zu codes, expired leases %lld\n",
              stats.finished ? "yes" : "no", stats.rejected.size(),
              static_cast<long long>(stats.expired_leases));
  return stats.finished ? 0 : 1;
}
