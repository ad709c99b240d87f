// One trial of a distributed study on every rank of a worker group (`pixelrec hpo worker`): the
// trial's configuration, training with rank 0 reporting each epoch to the coordinator, and how the
// trial ended — finished (COMPLETE / PRUNED / FAILED), cancelled (its lease is gone), stopped
// because the coordinator was lost, or pre-empted by a signal (checkpoint saved in both cases).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/config.h"
#include "distributed/communicator.h"
#include "hpo/coordinator_client.h"
#include "hpo/space.h"

namespace pixelrec::app {

std::string trial_run_name(int64_t number);

// The trial's configuration: the base with its parameters, its run folder and checkpoints under
// the study folder, and as many epochs as a full trial has.
Config trial_config(const Config& base, const hpo::SearchSpace& space,
                    const nlohmann::json& params);

struct TrialRun {
  enum class End {
    kFinished,   // `outcome` is to be sent with finish
    kCancelled,  // the lease was lost or given up (stalled): nothing to finish, nothing written
    kLost,       // the coordinator could not be reached: checkpoint saved, trial unfinished
    kPreempted,  // SIGTERM/SIGINT/SIGUSR1: checkpoint saved, trial unfinished
  };
  End end = End::kFinished;
  hpo::TrialOutcome outcome;
  int signal = 0;   // kPreempted
  std::string why;  // kCancelled, kLost, kPreempted: for the log and the release message
};

// Trains trial `lease` ({trial, attempt, params}) on every rank; `client` is rank 0's (null on
// the others). A retried trial (attempt > 1) resumes from its last checkpoint and first reports
// the epochs that checkpoint had completed, so its value covers every epoch. Never throws for
// the trial's own failure (that is a FAILED outcome).
TrialRun run_trial(const Config& base, const hpo::SearchSpace& space, const nlohmann::json& lease,
                   hpo::CoordinatorClient* client, dist::Communicator& comm,
                   const std::string& device);

}  // namespace pixelrec::app
