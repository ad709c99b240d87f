#include "distributed/launch_env.h"

#include <cstdlib>

#include "core/errors.h"
#include "core/strings.h"

namespace pixelrec::dist {

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

namespace {

std::optional<int> int_var(const EnvLookup& env, const std::string& name) {
  auto v = env(name);
  if (!v) return std::nullopt;
  auto parsed = parse_int(*v);
  if (!parsed || *parsed < 0 || *parsed > (1 << 24))
    throw Error("environment variable " + name + "='" + *v +
                "' is not a valid rank or size (a non-negative integer); fix the launcher setup");
  return static_cast<int>(*parsed);
}

bool fill_from(const EnvLookup& env, const char* rank_var, const char* size_var,
               const char* local_var, const std::string& source, LaunchEnv& out) {
  auto rank = int_var(env, rank_var);
  auto size = int_var(env, size_var);
  if (!rank || !size) return false;
  out.rank = *rank;
  out.world_size = *size;
  out.local_rank = int_var(env, local_var).value_or(0);
  out.source = source;
  return true;
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // Split at the first top-level comma, then expand the first bracket range, if any.
  int depth = 0;
  size_t end = nodelist.size();
  for (size_t i = 0; i < nodelist.size(); ++i) {
    if (nodelist[i] == '[') ++depth;
    if (nodelist[i] == ']') --depth;
    if (nodelist[i] == ',' && depth == 0) {
      end = i;
      break;
    }
  }
  const std::string first = nodelist.substr(0, end);
  const auto open = first.find('[');
  if (open == std::string::npos) return first;
  const std::string prefix = first.substr(0, open);
  std::string range = first.substr(open + 1, first.find(']') - open - 1);
  range = range.substr(0, range.find(','));
  return prefix + range.substr(0, range.find('-'));
}

LaunchEnv detect_launch_env(const EnvLookup& env, const LaunchOverrides& overrides) {
  LaunchEnv out;
  // Open MPI's variables before SLURM's: mpirun inside a batch script passes the script's own
  // SLURM_PROCID 0 on to every rank it starts. SLURM's count only inside an srun step (a batch
  // script has SLURM_PROCID 0 and the allocation's SLURM_NTASKS too, but no SLURM_STEP_ID).
  const bool srun_step = env("SLURM_STEP_ID").has_value();
  if (fill_from(env, "RANK", "WORLD_SIZE", "LOCAL_RANK", "torchrun", out)) {
    out.master_addr = env("MASTER_ADDR").value_or("");
    out.master_port = int_var(env, "MASTER_PORT").value_or(0);
  } else if (fill_from(env, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                       "OMPI_COMM_WORLD_LOCAL_RANK", "openmpi", out)) {
    out.master_addr = env("MASTER_ADDR").value_or("");
    out.master_port = int_var(env, "MASTER_PORT").value_or(0);
  } else if (srun_step &&
             fill_from(env, "SLURM_PROCID",
                       env("SLURM_STEP_NUM_TASKS") ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS",
                       "SLURM_LOCALID", "slurm", out)) {
    out.master_addr = first_slurm_host(
        env("SLURM_STEP_NODELIST").value_or(env("SLURM_JOB_NODELIST").value_or("")));
    out.master_port = int_var(env, "MASTER_PORT").value_or(0);
  }
  out.pmi = out.source == "openmpi" || env("OMPI_COMM_WORLD_RANK") || env("PMIX_RANK") ||
            env("PMI_RANK") || env("PMI_FD");
  const bool any_override = overrides.rank || overrides.world_size || overrides.local_rank ||
                            overrides.master_addr || overrides.master_port;
  if (overrides.rank) out.rank = *overrides.rank;
  if (overrides.world_size) out.world_size = *overrides.world_size;
  if (overrides.local_rank) out.local_rank = *overrides.local_rank;
  if (overrides.master_addr) out.master_addr = *overrides.master_addr;
  if (overrides.master_port) out.master_port = *overrides.master_port;
  if (any_override) out.source = "flags";
  if (out.world_size < 1 || out.rank < 0 || out.rank >= out.world_size)
    throw Error("launch environment (" + out.source + ") gives rank " + std::to_string(out.rank) +
                " of world size " + std::to_string(out.world_size) +
                ": the rank must be in [0, world size); check the launcher or --rank/--world-size");
  return out;
}

}  // namespace pixelrec::dist
