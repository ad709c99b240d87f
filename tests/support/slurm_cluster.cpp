#include "support/slurm_cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

namespace pixelrec::test {

namespace {

using Clock = std::chrono::steady_clock;

// Two distinct free TCP ports on 127.0.0.1 (both held open while the second is chosen).
std::vector<int> free_ports(int count) {
  std::vector<int> fds, ports;
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      break;
    fds.push_back(fd);
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) ::close(fd);
  return ports;
}

bool found(const std::string& program) {
  return run_command("command -v " + program + " || test -x /usr/sbin/" + program).exit_code == 0;
}

std::string field(const std::string& text, const std::string& name) {
  const std::regex pattern("(^|\\s)" + name + "=(\\S*)");
  std::smatch m;
  return std::regex_search(text, m, pattern) ? m[2].str() : "";
}

// Ends the daemon whose pid file is `pid_file`: SIGTERM, then SIGKILL after 10 s.
void stop_daemon(const fs::path& pid_file) {
  std::ifstream in(pid_file);
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 1) return;
  ::kill(pid, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (::kill(pid, 0) == 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (::kill(pid, 0) == 0) ::kill(pid, SIGKILL);
}

}  // namespace

SlurmCluster::SlurmCluster(const std::string& name) : dir_(name) {
  if (!start()) stop();
}

SlurmCluster::~SlurmCluster() { stop(); }

std::string SlurmCluster::env() const {
  return "export SLURM_CONF=" + shell_quote((root() / "slurm.conf").string()) +
         " PATH=\"$PATH:/usr/sbin\"; ";
}

CommandResult SlurmCluster::run(const std::string& command) const {
  return run_command(env() + command);
}

bool SlurmCluster::start() {
  const std::string install =
      " (Debian: apt-get install slurm-wlm munge; `make test` installs them)";
  missing_prerequisite_ = true;
  if (::geteuid() != 0) {
    unavailable_ = "the private SLURM needs root (slurmd starts jobs as their user)";
    return false;
  }
  for (const char* program : {"munged", "mungekey", "slurmctld", "slurmd", "sbatch", "srun"})
    if (!found(program)) {
      unavailable_ = std::string(program) + " is not installed" + install;
      return false;
    }
  missing_prerequisite_ = false;  // from here on, a failure is a defect to report
  const auto ports = free_ports(2);
  const auto layout = run_command("PATH=\"$PATH:/usr/sbin\" slurmd -C");
  const std::string node = field(layout.output, "NodeName");
  if (ports.size() != 2 || layout.exit_code != 0 || node.empty()) {
    unavailable_ = "cannot read this machine's layout (`slurmd -C`): " + layout.output;
    return false;
  }
  const fs::path r = root();
  for (const char* sub : {"munge", "state", "spool", "log", "tmp"}) fs::create_directories(r / sub);
  const std::string socket = (r / "munge" / "munge.socket").string();
  const auto munge = run_command("PATH=\"$PATH:/usr/sbin\"; mungekey -c -k " +
                                 shell_quote((r / "munge/munge.key").string()) +
                                 " && munged --force --socket=" + shell_quote(socket) +
                                 " --key-file=" + shell_quote((r / "munge/munge.key").string()) +
                                 " --log-file=" + shell_quote((r / "log/munged.log").string()) +
                                 " --pid-file=" + shell_quote((r / "munge/munged.pid").string()) +
                                 " --seed-file=" + shell_quote((r / "munge/munged.seed").string()));
  started_ = true;  // from here on, stop() has daemons to end
  if (munge.exit_code != 0) {
    unavailable_ = "munged did not start: " + munge.output;
    return false;
  }
  // The core layout as slurmd sees it (CPUs, sockets, cores, threads); memory is not scheduled.
  std::string cpus;
  for (const char* key : {"CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore"})
    cpus += std::string(" ") + key + "=" + field(layout.output, key);
  std::ostringstream conf;
  conf << "ClusterName=pixelrec-test\n"
       << "SlurmctldHost=" << node << "(127.0.0.1)\n"
       << "SlurmUser=root\nSlurmdUser=root\n"
       << "SlurmctldPort=" << ports[0] << "\nSlurmdPort=" << ports[1] << "\n"
       << "AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket="
       << socket
       // A requeued job waits out the credential lifetime (120 s by default) before it runs again.
       << ",cred_expire=10\n"
       << "StateSaveLocation=" << (r / "state").string() << "\n"
       << "SlurmdSpoolDir=" << (r / "spool").string() << "\n"
       << "TmpFS=" << (r / "tmp").string()
       << "\n"  // PMIx's server files too
       // Job ids (and the Gloo port derived from them) unlike a concurrent cluster's.
       << "FirstJobId=" << ports[0] << "\n"
       << "SlurmctldPidFile=" << (r / "slurmctld.pid").string() << "\n"
       << "SlurmdPidFile=" << (r / "slurmd.pid").string() << "\n"
       << "SlurmctldLogFile=" << (r / "log/slurmctld.log").string() << "\n"
       << "SlurmdLogFile=" << (r / "log/slurmd.log").string() << "\n"
       << "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
       << "SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n"
       << "MpiDefault=none\n"  // as many clusters: the scripts must name --mpi themselves
       << "JobRequeue=1\nReturnToService=2\n"
       << "SchedulerType=sched/backfill\nSchedulerParameters=bf_interval=1\n"
       << "AccountingStorageType=accounting_storage/none\nJobCompType=jobcomp/none\n"
       << "JobAcctGatherType=jobacct_gather/none\n"
       << "MinJobAge=3600\nKillWait=30\nInactiveLimit=0\n"
       << "NodeName=" << node << " NodeAddr=127.0.0.1" << cpus
       << " State=UNKNOWN\n"
       // Jobs share cores (a coordinator beside worker groups on a 2-core machine).
       << "PartitionName=test Nodes=" << node
       << " Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4\n";
  write_text(r / "slurm.conf", conf.str());
  const auto daemons = run("slurmctld -i && slurmd");
  if (daemons.exit_code != 0) {
    unavailable_ = "slurmctld/slurmd did not start: " + daemons.output + daemon_logs();
    return false;
  }
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    const auto state = run("sinfo -h -o %T");
    if (state.exit_code == 0 && state.output.find("idle") != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  unavailable_ = "the node did not come up within 60 s: " + run("sinfo").output + daemon_logs();
  return false;
}

void SlurmCluster::stop() {
  if (!started_) return;
  started_ = false;
  // Jobs first (their processes belong to slurmstepd, which outlives slurmd), then the daemons.
  run("scancel --user=root");
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    const auto left = run("squeue -h -t RUNNING,COMPLETING -o %i");
    if (left.exit_code != 0 || left.output.find_first_not_of(" \n") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  stop_daemon(root() / "slurmd.pid");
  stop_daemon(root() / "slurmctld.pid");
  stop_daemon(root() / "munge" / "munged.pid");
}

SlurmJob SlurmCluster::job(const std::string& id) const {
  const auto shown = run("scontrol -o show job " + id);
  SlurmJob job;
  if (shown.exit_code != 0) return job;
  const std::string first = shown.output.substr(0, shown.output.find('\n'));
  job.state = field(first, "JobState");
  job.exit_code = field(first, "ExitCode");
  const std::string restarts = field(first, "Restarts");
  job.restarts = restarts.empty() ? 0 : std::stoi(restarts);
  return job;
}

SlurmJob SlurmCluster::wait_for(const std::string& id, const std::string& states,
                                std::chrono::seconds limit) const {
  const auto deadline = Clock::now() + limit;
  SlurmJob last;
  while (true) {
    last = job(id);
    std::istringstream wanted(states);
    for (std::string s; wanted >> s;)
      if (!last.state.empty() && last.state.rfind(s, 0) == 0) return last;
    if (Clock::now() > deadline) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

bool SlurmCluster::wait_for_requeue(const std::string& id, int restarts,
                                    std::chrono::seconds limit) const {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (job(id).restarts >= restarts) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return false;
}

std::string SlurmCluster::daemon_logs() const {
  std::string out;
  for (const char* log : {"log/slurmctld.log", "log/slurmd.log", "log/munged.log"}) {
    std::error_code ec;
    if (!fs::exists(root() / log, ec)) continue;
    std::string text = read_text(root() / log);
    if (text.size() > 3000) text = text.substr(text.size() - 3000);
    out += std::string("\n--- ") + log + " (tail)\n" + text;
  }
  return out;
}

}  // namespace pixelrec::test
