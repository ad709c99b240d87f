/* LD_PRELOAD probe for the durability tests: logs the path of every fsync'd descriptor to
 * $PIXELREC_PROBE_LOG, in order with every "unlink PATH" and "rename FROM -> TO", and makes fsync
 * fail with EIO for paths containing $PIXELREC_PROBE_FAIL_FSYNC, so the tests see what the real
 * binary flushes (and when, relative to deletions) and how it reports a failing disk. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void log_line(const char* what, const char* a, const char* b) {
  const char* log = getenv("PIXELREC_PROBE_LOG");
  if (log == NULL) return;
  const int saved = errno;
  FILE* f = fopen(log, "a");
  if (f != NULL) {
    if (b != NULL)
      fprintf(f, "%s%s -> %s\n", what, a, b);
    else
      fprintf(f, "%s%s\n", what, a);
    fclose(f);
  }
  errno = saved;
}

/* The path `name` relative to `dirfd` (AT_FDCWD or an open directory), for the log. */
static void resolve(int dirfd, const char* name, char* out, size_t size) {
  if (name[0] == '/' || dirfd == AT_FDCWD) {
    snprintf(out, size, "%s", name);
    return;
  }
  char link[64], dir[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
  ssize_t n = readlink(link, dir, sizeof dir - 1);
  dir[n > 0 ? n : 0] = '\0';
  snprintf(out, size, "%s/%s", dir, name);
}

#define REAL(name, ret, params) \
  static ret(*real_##name) params = NULL; \
  if (real_##name == NULL) *(void**)&real_##name = dlsym(RTLD_NEXT, #name) /* POSIX idiom */

int fsync(int fd) {
  REAL(fsync, int, (int));
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  path[n > 0 ? n : 0] = '\0';
  log_line("", path, NULL);
  const char* fail = getenv("PIXELREC_PROBE_FAIL_FSYNC");
  if (fail != NULL && *fail != '\0' && strstr(path, fail) != NULL) {
    errno = EIO;
    return -1;
  }
  return real_fsync(fd);
}

int unlink(const char* path) {
  REAL(unlink, int, (const char*));
  log_line("unlink ", path, NULL);
  return real_unlink(path);
}

int unlinkat(int dirfd, const char* name, int flags) {
  REAL(unlinkat, int, (int, const char*, int));
  char path[8192];
  resolve(dirfd, name, path, sizeof path);
  log_line("unlink ", path, NULL);
  return real_unlinkat(dirfd, name, flags);
}

int remove(const char* path) {
  REAL(remove, int, (const char*));
  log_line("unlink ", path, NULL);
  return real_remove(path);
}

int rename(const char* from, const char* to) {
  REAL(rename, int, (const char*, const char*));
  log_line("rename ", from, to);
  return real_rename(from, to);
}
