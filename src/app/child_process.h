// Running another program (usually this binary again, optionally under mpirun) as a child with
// the same stdout/stderr: what `pixelrec demo` and the local `pixelrec hpo` orchestrate with.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pixelrec::app {

// The running executable (/proc/self/exe).
std::filesystem::path self_executable();

// `mpirun` on PATH, or nullopt.
std::optional<std::filesystem::path> find_mpirun();

// argv prefix launching `ranks` processes: empty for 1 rank; mpirun -np N (with
// --allow-run-as-root when running as root, --oversubscribe so N may exceed the cores).
// Throws UsageError when ranks > 1 and mpirun is missing.
std::vector<std::string> launcher_prefix(int ranks);

// Starts `argv` (argv[0] searched on PATH) with stdio inherited. In its own process group when
// `own_group` (so the whole group can be signalled; Ctrl-C at the terminal then skips it).
pid_t spawn_child(const std::vector<std::string>& argv, bool own_group = false);

// Waits for `pid`; the exit status, or 128 + signal when it was killed.
int wait_child(pid_t pid);

// spawn_child + wait_child.
int run_child(const std::vector<std::string>& argv);

// "a b 'c d'": argv as one shell-quoted line, for messages.
std::string quoted_command(const std::vector<std::string>& argv);

}  // namespace pixelrec::app
