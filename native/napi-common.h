/*
 * What hacheck's N-API addons (packet.c, recv6.c) share: N-API call checking, errors that
 * carry the errno name as `code` (as Node's own system errors do), argument-count checks.
 */
#ifndef HACHECK_NAPI_COMMON_H
#define HACHECK_NAPI_COMMON_H

#include <node_api.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Return NULL from the calling N-API function with a pending exception when `call` fails. */
#define CHECK(call)                                                           \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      const napi_extended_error_info *info_ = NULL;                           \
      napi_get_last_error_info(env, &info_);                                  \
      bool pending_ = false;                                                  \
      napi_is_exception_pending(env, &pending_);                              \
      if (!pending_)                                                          \
        napi_throw_error(env, NULL,                                           \
                         info_ && info_->error_message ? info_->error_message \
                                                       : "N-API call failed"); \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

static inline const char *errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char *n = strerrorname_np(err);
  if (n) return n;
#endif
  switch (err) {
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENETDOWN: return "ENETDOWN";
    case EAGAIN: return "EAGAIN";
    case ENOBUFS: return "ENOBUFS";
    case EMSGSIZE: return "EMSGSIZE";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    default: return "EIO";
  }
}

/* `Error("<ECODE>: <what> (<strerror>)")` with `code` and `errno` properties; NULL when it
 * cannot be built. */
static inline napi_value make_errno(napi_env env, int err, const char *what) {
  char msg[256];
  const char *code = errno_name(err);
  snprintf(msg, sizeof msg, "%s: %s (%s)", code, what, strerror(err));
  napi_value jmsg, jcode, jerr, jno;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jmsg) != napi_ok ||
      napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jcode) != napi_ok ||
      napi_create_error(env, jcode, jmsg, &jerr) != napi_ok)
    return NULL;
  if (napi_create_int32(env, -err, &jno) == napi_ok) napi_set_named_property(env, jerr, "errno", jno);
  return jerr;
}

/* Throw make_errno(err, what). */
static inline void throw_errno(napi_env env, int err, const char *what) {
  napi_value e = make_errno(env, err, what);
  if (e) napi_throw(env, e);
  else napi_throw_error(env, errno_name(err), what);
}

/* The first `want` arguments into argv; false with a TypeError pending when fewer came. */
static inline bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc < want) {
    char msg[64];
    snprintf(msg, sizeof msg, "expected %zu argument(s), got %zu", want, argc);
    napi_throw_type_error(env, "ERR_MISSING_ARGS", msg);
    return false;
  }
  return true;
}

#endif
