// Launch environment detection: precedence flags > torchrun > Open MPI > srun step > single
// process.
#include <gtest/gtest.h>

#include <map>

#include "core/errors.h"
#include "distributed/communicator.h"
#include "distributed/launch_env.h"

namespace pixelrec::dist {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(LaunchEnv, SingleProcessByDefault) {
  const LaunchEnv e = detect_launch_env(env_of({}));
  EXPECT_EQ(e.rank, 0);
  EXPECT_EQ(e.world_size, 1);
  EXPECT_EQ(e.source, "single");
  EXPECT_FALSE(e.distributed());
}

TEST(LaunchEnv, TorchrunVariables) {
  const LaunchEnv e = detect_launch_env(env_of({{"RANK", "3"},
                                                {"WORLD_SIZE", "8"},
                                                {"LOCAL_RANK", "1"},
                                                {"MASTER_ADDR", "n1"},
                                                {"MASTER_PORT", "29500"}}));
  EXPECT_EQ(e.source, "torchrun");
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "n1");
  EXPECT_EQ(e.master_port, 29500);
}

// What srun sets in each task of a step (the private SLURM's, tests/integration/slurm_*).
TEST(LaunchEnv, SlurmStepVariablesAndNodeList) {
  const LaunchEnv e = detect_launch_env(env_of({{"SLURM_PROCID", "5"},
                                                {"SLURM_NTASKS", "6"},
                                                {"SLURM_STEP_ID", "0"},
                                                {"SLURM_STEP_NUM_TASKS", "6"},
                                                {"SLURM_LOCALID", "2"},
                                                {"SLURM_JOB_NODELIST", "gpu[07-09,11],cpu1"},
                                                {"PMIX_RANK", "5"}}));
  EXPECT_EQ(e.source, "slurm");
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world_size, 6);
  EXPECT_EQ(e.local_rank, 2);
  EXPECT_EQ(e.master_addr, "gpu07");
  EXPECT_TRUE(e.pmi);  // srun --mpi=pmix wired the ranks
  EXPECT_EQ(first_slurm_host("node3,node4"), "node3");
  EXPECT_EQ(first_slurm_host("a[1-2]"), "a1");
  // A step of fewer tasks than the allocation: the step's count.
  EXPECT_EQ(detect_launch_env(env_of({{"SLURM_PROCID", "1"},
                                      {"SLURM_NTASKS", "8"},
                                      {"SLURM_STEP_ID", "3"},
                                      {"SLURM_STEP_NUM_TASKS", "2"}}))
                .world_size,
            2);
}

// A batch script (sbatch --ntasks=2) outside any srun step has SLURM_PROCID 0 and the
// allocation's SLURM_NTASKS, but no SLURM_STEP_ID: `pixelrec train` run by the script itself is
// one process (it used to wait for a rank 1 that never comes), and `mpirun -np 2` in the script
// starts ranks that inherit those variables next to mpirun's own (they all used to be rank 0).
TEST(LaunchEnv, ABatchScriptsVariablesAreNotALaunch) {
  const std::map<std::string, std::string> batch = {{"SLURM_PROCID", "0"},
                                                    {"SLURM_NTASKS", "2"},
                                                    {"SLURM_NPROCS", "2"},
                                                    {"SLURM_LOCALID", "0"},
                                                    {"SLURM_JOB_NODELIST", "n1"}};
  const LaunchEnv alone = detect_launch_env(env_of(batch));
  EXPECT_EQ(alone.source, "single");
  EXPECT_EQ(alone.world_size, 1);
  EXPECT_FALSE(alone.distributed());

  auto mpirun_rank = batch;
  mpirun_rank["OMPI_COMM_WORLD_RANK"] = "1";
  mpirun_rank["OMPI_COMM_WORLD_SIZE"] = "2";
  mpirun_rank["OMPI_COMM_WORLD_LOCAL_RANK"] = "1";
  const LaunchEnv e = detect_launch_env(env_of(mpirun_rank));
  EXPECT_EQ(e.source, "openmpi");
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.world_size, 2);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_TRUE(e.pmi);
}

// srun sets PMIx's (or PMI2's) variables only with --mpi=pmix (pmi2) or a matching MpiDefault;
// without them MPI_Init cannot wire the tasks (docs/distributed.md, "Running on SLURM").
TEST(LaunchEnv, SlurmWithoutPmiIsSeen) {
  const std::map<std::string, std::string> srun = {{"SLURM_PROCID", "1"},
                                                   {"SLURM_NTASKS", "2"},
                                                   {"SLURM_STEP_ID", "0"},
                                                   {"SLURM_STEP_NUM_TASKS", "2"},
                                                   {"SLURM_STEP_NODELIST", "n1"}};
  EXPECT_FALSE(detect_launch_env(env_of(srun)).pmi);
  for (const char* pmi_variable : {"PMIX_RANK", "PMI_RANK", "PMI_FD"}) {
    auto with = srun;
    with[pmi_variable] = "1";
    const LaunchEnv e = detect_launch_env(env_of(with));
    EXPECT_EQ(e.source, "slurm");
    EXPECT_TRUE(e.pmi) << pmi_variable;
  }
}

TEST(LaunchEnv, OpenMpiVariables) {
  const LaunchEnv e = detect_launch_env(env_of({{"OMPI_COMM_WORLD_RANK", "1"},
                                                {"OMPI_COMM_WORLD_SIZE", "2"},
                                                {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}}));
  EXPECT_EQ(e.source, "openmpi");
  EXPECT_TRUE(e.pmi);
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.world_size, 2);
}

TEST(LaunchEnv, FlagsWinAndBadValuesAreErrors) {
  LaunchOverrides o;
  o.rank = 0;
  o.world_size = 1;
  const LaunchEnv e = detect_launch_env(env_of({{"RANK", "3"}, {"WORLD_SIZE", "8"}}), o);
  EXPECT_EQ(e.source, "flags");
  EXPECT_EQ(e.world_size, 1);
  EXPECT_THROW(detect_launch_env(env_of({{"RANK", "x"}, {"WORLD_SIZE", "2"}})), Error);
  EXPECT_THROW(detect_launch_env(env_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}})), Error);
}

TEST(Communicator, SingleProcessCollectivesAreIdentities) {
  auto comm = make_single_process_communicator();
  double v[2] = {1.5, 2.5};
  comm->allreduce_sum(v, 2);
  EXPECT_EQ(v[0], 1.5);
  int64_t x = 7, y = 0;
  comm->allgather(&x, sizeof x, &y);
  EXPECT_EQ(y, 7);
  EXPECT_EQ(comm->backend(), "single");
}

}  // namespace
}  // namespace pixelrec::dist
