/* LD_PRELOAD probe for the durability tests: logs the path of every fsync'd descriptor to
 * $PIXELREC_PROBE_LOG and makes fsync fail with EIO for paths containing
 * $PIXELREC_PROBE_FAIL_FSYNC, so the tests see what the real binary flushes and how it reports a
 * failing disk. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fsync(int fd) {
  static int (*real_fsync)(int) = NULL;
  if (real_fsync == NULL) *(void**)&real_fsync = dlsym(RTLD_NEXT, "fsync");  /* POSIX idiom */
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  path[n > 0 ? n : 0] = '\0';
  const char* log = getenv("PIXELREC_PROBE_LOG");
  if (log != NULL) {
    FILE* f = fopen(log, "a");
    if (f != NULL) {
      fprintf(f, "%s\n", path);
      fclose(f);
    }
  }
  const char* fail = getenv("PIXELREC_PROBE_FAIL_FSYNC");
  if (fail != NULL && *fail != '\0' && strstr(path, fail) != NULL) {
    errno = EIO;
    return -1;
  }
  return real_fsync(fd);
}
