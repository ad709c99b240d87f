// A private one-node SLURM for the tests: munged, slurmctld and slurmd on 127.0.0.1, with a
// slurm.conf generated for this machine (its host name and `slurmd -C` core layout), free ports,
// and every state, spool, socket and log file in a scratch folder. Stopped and removed when the
// object dies. Needs root and Debian's `slurm-wlm` and `munge` (scripts/bootstrap.sh installs
// them); without those, `unavailable()` says why and the tests skip (SLURM_SKIP_OR_FAIL).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "support/test_support.h"

namespace pixelrec::test {

// In a test's SetUp: skip with "SLURM UNAVAILABLE: why" when root or the packages are missing;
// fail when they are present but the cluster did not start.
#define SLURM_SKIP_OR_FAIL(cluster)                                           \
  do {                                                                        \
    if ((cluster).unavailable().empty()) break;                               \
    if ((cluster).missing_prerequisite())                                     \
      GTEST_SKIP() << "SLURM UNAVAILABLE: " << (cluster).unavailable();       \
    FAIL() << "the private SLURM did not start: " << (cluster).unavailable(); \
  } while (0)

// What `scontrol show job` says of a job.
struct SlurmJob {
  std::string state;      // PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, ... ("" if unknown)
  std::string exit_code;  // "status:signal", as SLURM writes it
  int restarts = 0;       // times the job was requeued (SLURM_RESTART_COUNT of its next run)
};

class SlurmCluster {
 public:
  explicit SlurmCluster(const std::string& name);
  ~SlurmCluster();
  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;

  // Empty when the cluster is up; else why it could not start.
  const std::string& unavailable() const { return unavailable_; }
  // Not root, or slurm-wlm/munge not installed: the tests skip. Any other failure to start
  // (packages present) fails them.
  bool missing_prerequisite() const { return missing_prerequisite_; }
  // "SLURM_CONF=... " to put before a client command (sbatch, srun, scontrol, scancel).
  std::string env() const;
  CommandResult run(const std::string& command) const;

  SlurmJob job(const std::string& id) const;
  // Polls until the job is in a state that starts with one of `states` (space-separated list);
  // returns the last state seen.
  SlurmJob wait_for(const std::string& id, const std::string& states,
                    std::chrono::seconds limit = std::chrono::seconds(300)) const;
  // Waits until the job has been requeued `restarts` times (it then runs again after SLURM's
  // requeue delay, the credential lifetime: 10 s here). False when `limit` passed first.
  bool wait_for_requeue(const std::string& id, int restarts,
                        std::chrono::seconds limit = std::chrono::seconds(120)) const;
  const fs::path& root() const { return dir_.path(); }
  // The daemons' logs, for failure messages.
  std::string daemon_logs() const;

 private:
  bool start();
  void stop();

  ScratchDir dir_;
  std::string unavailable_;
  bool missing_prerequisite_ = false;
  bool started_ = false;
};

}  // namespace pixelrec::test
