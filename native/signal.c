/*
 * Real-time signals for Node: process.on() cannot catch them (libuv only knows the classic
 * set), but keepalived is driven by SIGRTMIN+2 (JSON dump) and SIGRTMIN+29 (stats + clear).
 * watch(signum) installs a sigaction handler that writes one byte to a pipe, the only kind
 * of work a handler may do (write(2) is async-signal-safe), and returns the pipe's read end;
 * JavaScript reads it on the event loop and does the real work there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>
#include <pthread.h>
#include <node_api.h>

#define CHECK(call)                                                                   \
  do {                                                                                \
    if ((call) != napi_ok) {                                                          \
      napi_throw_error(env, NULL, "N-API call failed: " #call);                       \
      return NULL;                                                                    \
    }                                                                                 \
  } while (0)

/* Write ends per signal number; -1 = not watched. Read by the handler only. */
static volatile sig_atomic_t write_fd[_NSIG];
static int read_fd[_NSIG];
static int initialised;

static void on_signal(int sig) {
  int saved = errno;
  if (sig > 0 && sig < _NSIG && write_fd[sig] >= 0) {
    char b = (char)sig;
    /* A full pipe means a dump is already pending: dropping the byte is what we want. */
    ssize_t r = write(write_fd[sig], &b, 1);
    (void)r;
  }
  errno = saved;
}

static void throw_errno(napi_env env, int err, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, text, e;
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, NULL, text, &e);
  napi_value jerrno;
  napi_create_int32(env, err, &jerrno);
  napi_set_named_property(env, e, "errno", jerrno);
  napi_throw(env, e);
}

/* watch(signum) -> read fd (non-blocking, close-on-exec). Idempotent per signal. */
static napi_value js_watch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t sig = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &sig) != napi_ok) {
    napi_throw_type_error(env, NULL, "watch(signum): signum must be a number");
    return NULL;
  }
  if (!initialised) {
    for (int i = 0; i < _NSIG; i++) {
      write_fd[i] = -1;
      read_fd[i] = -1;
    }
    initialised = 1;
  }
  /* Only signals that are safe to take over: no SIGKILL/SIGSTOP, nothing the runtime needs. */
  if (sig <= 0 || sig >= _NSIG || sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV || sig == SIGBUS ||
      sig == SIGFPE || sig == SIGILL || sig == SIGPROF) {
    napi_throw_range_error(env, NULL, "watch(signum): signal cannot be watched");
    return NULL;
  }
  if (read_fd[sig] >= 0) {
    CHECK(napi_create_int32(env, read_fd[sig], &result));
    return result;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
    throw_errno(env, errno, "pipe2");
    return NULL;
  }
  write_fd[sig] = p[1];
  read_fd[sig] = p[0];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(sig, &sa, NULL) < 0) {
    int err = errno;
    write_fd[sig] = -1;
    read_fd[sig] = -1;
    close(p[0]);
    close(p[1]);
    throw_errno(env, err, "sigaction");
    return NULL;
  }
  /* The signal may be blocked in this thread (inherited mask): let it through. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  CHECK(napi_create_int32(env, p[0], &result));
  return result;
}

/* rtmin() -> SIGRTMIN as the C library defines it (34 on glibc: it keeps two for threads). */
static napi_value js_rtmin(napi_env env, napi_callback_info info) {
  napi_value result;
  CHECK(napi_create_int32(env, SIGRTMIN, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"watch", NULL, js_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rtmin", NULL, js_rtmin, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
