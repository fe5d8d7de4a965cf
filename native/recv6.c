/*
 * hacheck_recv6: the receive side of an IPv6 VRRP socket, read with recvmsg(2) so that the
 * ancillary data comes along. raw-socket (which hacheck uses to send) only has recvfrom(2),
 * and for IPv6 the kernel never hands a raw socket the IP header, so without recvmsg neither
 * the Hop Limit (RFC 5798 §7.1: MUST be 255) nor the destination address can be known.
 *
 *   open(protocol)            → handle: socket(AF_INET6, SOCK_RAW, protocol), non-blocking,
 *                               IPV6_RECVHOPLIMIT and IPV6_RECVPKTINFO on
 *   setsockopt(h, level, name, value)   value: an integer or a Buffer (the option's bytes)
 *   start(h, cb)              polls the socket on Node's event loop (libuv); for every datagram
 *                             cb(null, packet, source, destination, hopLimit, ifindex), with
 *                             destination '' and hopLimit -1 when the kernel sent no cmsg;
 *                             a read error other than EAGAIN/EINTR is cb(error)
 *   close(h)                  idempotent; also done when the handle is garbage-collected
 *
 * Errors thrown here are Errors whose `code` is the errno name, as in packet.c. Nothing here
 * aborts the process.
 */
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include "napi-common.h"
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The largest IPv6 payload without jumbograms; VRRP messages are far smaller. */
#define MAX_DATAGRAM 65535
/* Datagrams read per readable event before yielding to the loop. */
#define BATCH 64

typedef struct {
  int fd;
  int refs;        /* the JS external, and the uv_poll_t while it is open */
  int polling;     /* uv_poll_init done, uv_close not yet called */
  napi_env env;
  napi_ref cb;
  napi_async_context ctx;
  uv_poll_t poll;
} rx_handle;

static const napi_type_tag HANDLE_TAG = {0x6861636865636b5fULL, 0x7265637636303031ULL};
static unsigned char rx_buf[MAX_DATAGRAM];


static rx_handle *get_handle(napi_env env, napi_value v) {
  napi_valuetype t;
  bool tagged = false;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, &HANDLE_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, v, &p) != napi_ok || !p) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "not an IPv6 receive socket handle");
    return NULL;
  }
  return (rx_handle *)p;
}

/* False, with EBADF thrown, once the handle was closed. */
static bool is_open(napi_env env, rx_handle *h) {
  if (h->fd >= 0) return true;
  throw_errno(env, EBADF, "IPv6 receive socket is closed");
  return false;
}

static bool get_int(napi_env env, napi_value v, const char *name, int32_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number ||
      napi_get_value_int32(env, v, out) != napi_ok) {
    char msg[64];
    snprintf(msg, sizeof msg, "%s must be a number", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  return true;
}

static void release(rx_handle *h) {
  if (--h->refs == 0) free(h);
}

static void on_uv_closed(uv_handle_t *p) { release((rx_handle *)p->data); }

/* Stop polling, close the descriptor, drop the callback. libuv wants the poll stopped before
 * its descriptor is closed; the uv_poll_t lives in the handle until uv_close calls back. */
static void shut(napi_env env, rx_handle *h) {
  if (h->polling) {
    uv_poll_stop(&h->poll);
    uv_close((uv_handle_t *)&h->poll, on_uv_closed);
    h->polling = 0;
  }
  if (h->fd >= 0) {
    close(h->fd);
    h->fd = -1;
  }
  if (h->cb) {
    napi_delete_reference(env, h->cb);
    h->cb = NULL;
  }
  if (h->ctx) {
    napi_async_destroy(env, h->ctx);
    h->ctx = NULL;
  }
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)hint;
  rx_handle *h = (rx_handle *)data;
  shut(env, h);
  release(h);
}

/* Calls the JS callback; an exception it throws becomes an uncaught exception, as one thrown
 * by any other I/O callback would. */
static void call_back(rx_handle *h, size_t argc, napi_value *argv) {
  napi_env env = h->env;
  napi_value cb, global, result;
  if (!h->cb || napi_get_reference_value(env, h->cb, &cb) != napi_ok || !cb) return;
  if (napi_get_global(env, &global) != napi_ok) return;
  if (napi_make_callback(env, h->ctx, global, cb, argc, argv, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value exc;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
    }
  }
}

/* One datagram to the callback. Returns false when the handle was closed by the callback. */
static bool deliver(rx_handle *h, size_t len, const struct sockaddr_in6 *from, struct msghdr *msg) {
  napi_env env = h->env;
  int hoplimit = -1;
  int ifindex = 0;
  char to[INET6_ADDRSTRLEN] = "";
  char src[INET6_ADDRSTRLEN] = "";
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != IPPROTO_IPV6) continue;
    if (c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      memcpy(&hoplimit, CMSG_DATA(c), sizeof hoplimit);
    } else if (c->cmsg_type == IPV6_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      inet_ntop(AF_INET6, &pi.ipi6_addr, to, sizeof to);
      ifindex = (int)pi.ipi6_ifindex;
    }
  }
  if (msg->msg_namelen >= sizeof(struct sockaddr_in6)) inet_ntop(AF_INET6, &from->sin6_addr, src, sizeof src);

  napi_value argv[6];
  void *data = NULL;
  if (napi_get_null(env, &argv[0]) != napi_ok ||
      napi_create_buffer_copy(env, len, rx_buf, &data, &argv[1]) != napi_ok ||
      napi_create_string_utf8(env, src, NAPI_AUTO_LENGTH, &argv[2]) != napi_ok ||
      napi_create_string_utf8(env, to, NAPI_AUTO_LENGTH, &argv[3]) != napi_ok ||
      napi_create_int32(env, hoplimit, &argv[4]) != napi_ok ||
      napi_create_int32(env, ifindex, &argv[5]) != napi_ok)
    return h->fd >= 0;
  call_back(h, 6, argv);
  return h->fd >= 0;
}

static void on_readable(uv_poll_t *p, int status, int events) {
  (void)events;
  rx_handle *h = (rx_handle *)p->data;
  napi_env env = h->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (status < 0) {
    napi_value e = make_errno(env, -status, "poll error on IPv6 receive socket");
    if (e) call_back(h, 1, &e);
  }
  for (int i = 0; i < BATCH && h->fd >= 0; i++) {
    struct sockaddr_in6 from;
    union {
      struct cmsghdr align;
      unsigned char b[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo)) + 64];
    } control;
    struct iovec iov = {rx_buf, sizeof rx_buf};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.b;
    msg.msg_controllen = sizeof control.b;
    ssize_t n = recvmsg(h->fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      napi_value e = make_errno(env, errno, "recvmsg on IPv6 receive socket");
      if (e) call_back(h, 1, &e);
      break;
    }
    if (!deliver(h, (size_t)n, &from, &msg)) break;
  }
  napi_close_handle_scope(env, scope);
}

/* open(protocol) → handle */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t protocol;
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], "protocol", &protocol)) return NULL;
  if (protocol < 0 || protocol > 255) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "protocol must be 0 to 255");
    return NULL;
  }
  int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) {
    throw_errno(env, errno, "cannot open raw IPv6 socket");
    return NULL;
  }
  int on = 1;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) < 0 ||
      setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) < 0) {
    int err = errno;
    close(fd);
    throw_errno(env, err, "cannot set IPV6_RECVHOPLIMIT/IPV6_RECVPKTINFO");
    return NULL;
  }
  rx_handle *h = (rx_handle *)calloc(1, sizeof *h);
  if (!h) {
    close(fd);
    throw_errno(env, ENOMEM, "out of memory");
    return NULL;
  }
  h->fd = fd;
  h->refs = 1;
  h->env = env;
  napi_value ext;
  if (napi_create_external(env, h, finalize_handle, NULL, &ext) != napi_ok) {
    close(fd);
    free(h);
    napi_throw_error(env, NULL, "cannot create handle");
    return NULL;
  }
  CHECK(napi_type_tag_object(env, ext, &HANDLE_TAG));
  return ext;
}

/* setsockopt(handle, level, name, value: number | Buffer) */
static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t level, name, ival;
  if (!get_args(env, info, 4, argv)) return NULL;
  rx_handle *h = get_handle(env, argv[0]);
  if (!h || !get_int(env, argv[1], "level", &level) || !get_int(env, argv[2], "name", &name)) return NULL;
  if (!is_open(env, h)) return NULL;
  const void *val;
  socklen_t len;
  bool is_buf = false;
  CHECK(napi_is_buffer(env, argv[3], &is_buf));
  if (is_buf) {
    void *data = NULL;
    size_t blen = 0;
    CHECK(napi_get_buffer_info(env, argv[3], &data, &blen));
    val = data;
    len = (socklen_t)blen;
  } else {
    if (!get_int(env, argv[3], "value", &ival)) return NULL;
    val = &ival;
    len = sizeof ival;
  }
  if (setsockopt(h->fd, level, name, val, len) < 0) {
    char what[64];
    snprintf(what, sizeof what, "setsockopt(%d, %d)", level, name);
    throw_errno(env, errno, what);
    return NULL;
  }
  return NULL;
}

/* start(handle, cb) */
static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  rx_handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[1], &t));
  if (t != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "callback must be a function");
    return NULL;
  }
  if (!is_open(env, h)) return NULL;
  if (h->polling) {
    napi_throw_error(env, "ERR_INVALID_STATE", "already started");
    return NULL;
  }
  uv_loop_t *loop = NULL;
  CHECK(napi_get_uv_event_loop(env, &loop));
  napi_value name;
  CHECK(napi_create_string_utf8(env, "hacheck:recv6", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &h->ctx));
  CHECK(napi_create_reference(env, argv[1], 1, &h->cb));
  int rc = uv_poll_init_socket(loop, &h->poll, h->fd);
  if (rc == 0) {
    h->poll.data = h;
    h->polling = 1;
    h->refs++;
    rc = uv_poll_start(&h->poll, UV_READABLE, on_readable);
  }
  if (rc != 0) {
    throw_errno(env, -rc, "cannot poll IPv6 receive socket");
    return NULL;
  }
  return NULL;
}

/* close(handle): idempotent */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  rx_handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  shut(env, h);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setsockopt", NULL, js_setsockopt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
