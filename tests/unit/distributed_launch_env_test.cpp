// Launch environment detection: precedence flags > torchrun > SLURM > Open MPI > single process.
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

TEST(LaunchEnv, SlurmVariablesAndNodeList) {
  const LaunchEnv e = detect_launch_env(env_of({{"SLURM_PROCID", "5"},
                                                {"SLURM_NTASKS", "6"},
                                                {"SLURM_LOCALID", "2"},
                                                {"SLURM_JOB_NODELIST", "gpu[07-09,11],cpu1"},
                                                {"OMPI_COMM_WORLD_RANK", "0"},
                                                {"OMPI_COMM_WORLD_SIZE", "6"}}));
  EXPECT_EQ(e.source, "slurm");
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.local_rank, 2);
  EXPECT_EQ(e.master_addr, "gpu07");
  EXPECT_TRUE(e.pmi);  // Open MPI's variables: mpirun wired the ranks
  EXPECT_EQ(first_slurm_host("node3,node4"), "node3");
  EXPECT_EQ(first_slurm_host("a[1-2]"), "a1");
}

// srun sets PMIx's (or PMI2's) variables only with --mpi=pmix (pmi2) or a matching MpiDefault;
// without them MPI_Init cannot wire the tasks (docs/distributed.md, "Running on SLURM").
TEST(LaunchEnv, SlurmWithoutPmiIsSeen) {
  const std::map<std::string, std::string> srun = {
      {"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}, {"SLURM_STEP_NODELIST", "n1"}};
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
