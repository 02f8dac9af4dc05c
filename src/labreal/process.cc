// fork/exec helpers for the real-namespace lab runner (process.h).
#include "labreal/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace vnet::labreal {

namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> v;
  v.reserve(argv.size() + 1);
  for (const std::string& a : argv) v.push_back(const_cast<char*>(a.c_str()));
  v.push_back(nullptr);
  return v;
}

}  // namespace

cmd::CmdOutput run_process(const std::vector<std::string>& argv, int timeout_ms) {
  cmd::CmdOutput o;
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      if (fd >= 0) close(fd);
    }
    o.status = 127;
    o.err = std::string("pipe: ") + std::strerror(errno) + "\n";
    return o;
  }
  std::vector<char*> args = c_argv(argv);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup2(devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execvp(args[0], args.data());
    dprintf(2, "%s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    o.status = 127;
    o.err = std::string("fork: ") + std::strerror(errno) + "\n";
    return o;
  }
  for (int fd : {out_pipe[0], err_pipe[0]}) fcntl(fd, F_SETFL, O_NONBLOCK);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  bool timed_out = false, exited = false;
  int status = 0;
  char buf[65536];
  auto drain = [&]() {
    for (int i = 0; i < 2; ++i) {
      while (fds[i].fd >= 0) {
        ssize_t r = read(fds[i].fd, buf, sizeof(buf));
        if (r > 0) {
          (i == 0 ? o.out : o.err).append(buf, static_cast<size_t>(r));
          continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
        }
        break;  // EAGAIN: nothing more for now
      }
    }
  };
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    poll(fds, 2, static_cast<int>(std::min<long long>(left, 50)));
    drain();
    // The command itself has finished: what it started in the background (`server &`) may
    // keep the pipes open, but the answer is complete.
    if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      drain();
      break;
    }
  }
  for (pollfd& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  if (!exited) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (timed_out) {
    o.status = 124;
    o.err += "vnet: timed out\n";
  } else if (WIFEXITED(status)) {
    o.status = WEXITSTATUS(status);
  } else {
    o.status = 128 + WTERMSIG(status);
  }
  return o;
}

int spawn_detached(const std::vector<std::string>& argv, const std::string& log_path,
                   std::string* error) {
  int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) {
    *error = log_path + ": " + std::strerror(errno);
    return -1;
  }
  std::vector<char*> args = c_argv(argv);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup2(devnull, 0);
    dup2(log, 1);
    dup2(log, 2);
    execvp(args[0], args.data());
    dprintf(2, "%s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(log);
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    return -1;
  }
  return pid;
}

}  // namespace vnet::labreal
