// Where this process sits in a distributed launch: rank, world size, local rank and rendezvous
// address, read (first found) from explicit flags, torchrun variables, Open MPI (mpirun), an srun
// step's SLURM variables, or else a single process (SPEC §8).
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace pixelrec::dist {

struct LaunchEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string source = "single";  // flags | torchrun | slurm | openmpi | single
  std::string master_addr;        // rendezvous host for TCP-store backends (may be empty)
  int master_port = 0;
  // MPI_Init can wire the ranks: mpirun's variables, or srun's PMIx/PMI2 ones (srun --mpi=pmix,
  // or a cluster MpiDefault naming a PMI); srun without them (MpiDefault=none) leaves MPI alone.
  bool pmi = false;
  bool distributed() const { return world_size > 1; }
};

struct LaunchOverrides {  // from --rank/--world-size/... flags; unset fields are not overridden
  std::optional<int> rank, world_size, local_rank;
  std::optional<std::string> master_addr;
  std::optional<int> master_port;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The real process environment.
EnvLookup process_environment();

// Throws Error when the variables found are inconsistent (rank outside [0, world), non-numbers),
// naming the variables.
LaunchEnv detect_launch_env(const EnvLookup& env, const LaunchOverrides& overrides = {});

// First host of a SLURM node list: "node[03-05,07],gpu1" → "node03".
std::string first_slurm_host(const std::string& nodelist);

}  // namespace pixelrec::dist
