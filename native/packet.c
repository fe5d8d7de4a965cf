/*
 * hacheck_packet: the few AF_PACKET calls hacheck needs to put whole Ethernet frames on a
 * link (gratuitous ARP, RFC 5227 §3 / RFC 5798 §6.4.2, and unsolicited Neighbor
 * Advertisements, RFC 4861 §7.2.6). Frames are built in TypeScript (src/vrrp/garp.ts); this
 * file only opens a send-only packet socket on one interface, sends a buffer, closes, and
 * reads an interface's index and hardware address.
 *
 * Every argument is validated: a wrong type is a TypeError, a system error is an Error whose
 * `code` is the errno name and whose message starts with it ("ENODEV: no interface eth9").
 * Nothing here aborts the process.
 */
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include "napi-common.h"

#include <errno.h>
#include <fcntl.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/if_packet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Largest frame we agree to hand to the kernel: a jumbo frame. The kernel still checks the
 * real MTU (EMSGSIZE). */
#define MAX_FRAME 65535

/* One open packet socket, held by a JS external; the finalizer closes a socket the JS side
 * forgot to close so a lost handle does not leak a descriptor. */
typedef struct {
  int fd;
  int ifindex;
} packet_handle;

/* Tags the externals this addon creates, so a foreign object passed as a handle is refused
 * instead of being dereferenced. */
static const napi_type_tag HANDLE_TAG = {0x6861636865636b5fULL, 0x7061636b65743031ULL};


/* Reads argument `i` as an interface name into `out` (IFNAMSIZ bytes). Returns false with a
 * pending exception when it is not a non-empty string shorter than IFNAMSIZ. */
static bool get_ifname(napi_env env, napi_value v, char out[IFNAMSIZ]) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "interface name must be a string");
    return false;
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return false;
  if (len == 0 || len >= IFNAMSIZ) {
    char msg[96];
    snprintf(msg, sizeof msg, "interface name must be 1 to %d bytes, got %zu", IFNAMSIZ - 1, len);
    napi_throw_range_error(env, "ERR_INVALID_ARG_VALUE", msg);
    return false;
  }
  if (napi_get_value_string_utf8(env, v, out, IFNAMSIZ, &len) != napi_ok) return false;
  if (strlen(out) != len) { /* embedded NUL */
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "interface name contains a NUL byte");
    return false;
  }
  return true;
}

static unsigned name_to_index(napi_env env, const char *ifname) {
  errno = 0;
  unsigned idx = if_nametoindex(ifname);
  if (idx == 0) {
    int err = errno ? errno : ENODEV;
    char what[64];
    snprintf(what, sizeof what, "no interface %s", ifname);
    throw_errno(env, err, what);
  }
  return idx;
}

/* Returns the handle held by `v`, or NULL with a pending exception. A closed handle has fd -1. */
static packet_handle *get_handle(napi_env env, napi_value v) {
  napi_valuetype t;
  bool tagged = false;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, &HANDLE_TAG, &tagged) != napi_ok || !tagged) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "not a packet socket handle");
    return NULL;
  }
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "not a packet socket handle");
    return NULL;
  }
  return (packet_handle *)p;
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  packet_handle *h = (packet_handle *)data;
  if (h->fd >= 0) close(h->fd);
  free(h);
}

/* open(ifname) → handle. A send-only socket: protocol 0 means the kernel delivers no
 * received frames to it, so it never needs draining. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char ifname[IFNAMSIZ];
  if (!get_args(env, info, 1, argv) || !get_ifname(env, argv[0], ifname)) return NULL;
  unsigned idx = name_to_index(env, ifname);
  if (idx == 0) return NULL;

  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, errno, "cannot open AF_PACKET socket");
    return NULL;
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = 0;
  sll.sll_ifindex = (int)idx;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int err = errno;
    close(fd);
    char what[64];
    snprintf(what, sizeof what, "cannot bind AF_PACKET socket to %s", ifname);
    throw_errno(env, err, what);
    return NULL;
  }

  packet_handle *h = (packet_handle *)malloc(sizeof *h);
  if (!h) {
    close(fd);
    throw_errno(env, ENOMEM, "out of memory");
    return NULL;
  }
  h->fd = fd;
  h->ifindex = (int)idx;
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

/* send(handle, frame) → bytes sent. The frame is a whole Ethernet frame (destination,
 * source, EtherType, payload); the EtherType also becomes the socket address protocol so
 * the kernel tags the skb as it would for its own ARP/IPv6 output. Non-blocking: a full
 * queue is EAGAIN/ENOBUFS, left to the caller (keepalived logs and carries on). */
static napi_value js_send(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  packet_handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  if (h->fd < 0) {
    throw_errno(env, EBADF, "packet socket is closed");
    return NULL;
  }
  bool is_buf = false;
  if (napi_is_buffer(env, argv[1], &is_buf) != napi_ok || !is_buf) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "frame must be a Buffer");
    return NULL;
  }
  void *data = NULL;
  size_t len = 0;
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  if (len < ETH_HLEN || len > MAX_FRAME) {
    char msg[80];
    snprintf(msg, sizeof msg, "frame must be %d to %d bytes, got %zu", ETH_HLEN, MAX_FRAME, len);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return NULL;
  }
  const uint8_t *f = (const uint8_t *)data;
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = h->ifindex;
  /* Bytes 12-13 of the frame are the EtherType, already in network order. */
  memcpy(&sll.sll_protocol, f + 12, sizeof sll.sll_protocol);
  sll.sll_halen = ETH_ALEN;
  memcpy(sll.sll_addr, f, ETH_ALEN);

  ssize_t n;
  do {
    n = sendto(h->fd, data, len, 0, (struct sockaddr *)&sll, sizeof sll);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    char what[64];
    char name[IFNAMSIZ] = "?";
    if_indextoname((unsigned)h->ifindex, name);
    snprintf(what, sizeof what, "cannot send on %s", name);
    throw_errno(env, err, what);
    return NULL;
  }
  napi_value out;
  CHECK(napi_create_int64(env, (int64_t)n, &out));
  return out;
}

/* close(handle): idempotent. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  packet_handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  if (h->fd >= 0) {
    close(h->fd);
    h->fd = -1;
  }
  return NULL;
}

/* interfaceInfo(ifname) → { ifindex, hwType, mac: Buffer } via if_nametoindex and
 * SIOCGIFHWADDR (hwType is the ARPHRD_* value, 1 for Ethernet). */
static napi_value js_interface_info(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char ifname[IFNAMSIZ];
  if (!get_args(env, info, 1, argv) || !get_ifname(env, argv[0], ifname)) return NULL;
  unsigned idx = name_to_index(env, ifname);
  if (idx == 0) return NULL;

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, errno, "cannot open a socket for SIOCGIFHWADDR");
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, strlen(ifname));
  int rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
  int err = errno;
  close(fd);
  if (rc < 0) {
    char what[64];
    snprintf(what, sizeof what, "cannot read hardware address of %s", ifname);
    throw_errno(env, err, what);
    return NULL;
  }

  /* SIOCGIFHWADDR returns at most sizeof(sa_data) (14) bytes; Ethernet uses 6. Other link
   * types are reported with their type so the caller can refuse them. */
  size_t alen = ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER ? ETH_ALEN : sizeof ifr.ifr_hwaddr.sa_data;
  napi_value obj, jidx, jtype, jmac;
  void *macp = NULL;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_uint32(env, idx, &jidx));
  CHECK(napi_create_uint32(env, ifr.ifr_hwaddr.sa_family, &jtype));
  CHECK(napi_create_buffer_copy(env, alen, ifr.ifr_hwaddr.sa_data, &macp, &jmac));
  CHECK(napi_set_named_property(env, obj, "ifindex", jidx));
  CHECK(napi_set_named_property(env, obj, "hwType", jtype));
  CHECK(napi_set_named_property(env, obj, "mac", jmac));
  return obj;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"interfaceInfo", NULL, js_interface_info, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
