// SPDX-License-Identifier: GPL-3.0-or-later
// One Tox node for the capture lab (pcaps/tox/make-pcaps.sh), built against Debian's
// libtoxcore.  It writes DIR/NAME.info ("PORT DHT_KEY_HEX TOX_ADDRESS_HEX IP"), bootstraps
// from the nodes named after `bootstrap`, sends a friend request to the node named after
// `friend`, accepts every friend request, and sends one message per friend once the friend
// connection is up.  It exits one second after it has both sent and received a message, or
// after SECS seconds.
//
//   tox_node NAME IP PORT DIR SECS [bootstrap PEER]... [friend PEER]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tox/tox.h>

static void hex(const uint8_t* b, size_t n, char* out) {
  for (size_t i = 0; i < n; ++i) sprintf(out + 2 * i, "%02X", b[i]);
  out[2 * n] = 0;
}

static int unhex(const char* s, uint8_t* b, size_t n) {
  if (strlen(s) != 2 * n) return -1;
  for (size_t i = 0; i < n; ++i) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
    b[i] = (uint8_t)v;
  }
  return 0;
}

struct Peer {
  char ip[64];
  unsigned port;
  uint8_t dht[TOX_PUBLIC_KEY_SIZE];
  uint8_t addr[TOX_ADDRESS_SIZE];
};

static int read_peer(const char* dir, const char* name, struct Peer* p, int wait_secs) {
  char path[512], dht[128], addr[128];
  snprintf(path, sizeof path, "%s/%s.info", dir, name);
  for (int i = 0; i < wait_secs * 10; ++i) {
    FILE* f = fopen(path, "r");
    if (f) {
      int n = fscanf(f, "%u %127s %127s %63s", &p->port, dht, addr, p->ip);
      fclose(f);
      if (n == 4 && unhex(dht, p->dht, sizeof p->dht) == 0 &&
          unhex(addr, p->addr, sizeof p->addr) == 0) {
        return 0;
      }
    }
    usleep(100000);
  }
  return -1;
}

static const char* g_name;
static int g_sent[64];
static int g_any_sent, g_received;

static void on_request(Tox* tox, const uint8_t* pk, const uint8_t* msg, size_t len, void* ud) {
  (void)ud;
  Tox_Err_Friend_Add err;
  uint32_t f = tox_friend_add_norequest(tox, pk, &err);
  fprintf(stderr, "%s: friend request \"%.*s\" -> friend %u (err %d)\n", g_name, (int)len,
          (const char*)msg, f, err);
}

static void on_message(Tox* tox, uint32_t f, TOX_MESSAGE_TYPE type, const uint8_t* msg,
                       size_t len, void* ud) {
  (void)tox; (void)type; (void)ud;
  g_received = 1;
  fprintf(stderr, "%s: message from friend %u: \"%.*s\"\n", g_name, f, (int)len, (const char*)msg);
}

static void on_self(Tox* tox, TOX_CONNECTION c, void* ud) {
  (void)tox; (void)ud;
  fprintf(stderr, "%s: self connection %d\n", g_name, c);
}

static void on_friend(Tox* tox, uint32_t f, TOX_CONNECTION c, void* ud) {
  (void)ud;
  fprintf(stderr, "%s: friend %u connection %d\n", g_name, f, c);
  if (c != TOX_CONNECTION_NONE && f < 64 && !g_sent[f]) {
    char text[128];
    snprintf(text, sizeof text, "hello from %s", g_name);
    Tox_Err_Friend_Send_Message err;
    tox_friend_send_message(tox, f, TOX_MESSAGE_TYPE_NORMAL, (const uint8_t*)text, strlen(text), &err);
    g_sent[f] = 1;
    g_any_sent = 1;
  }
}

int main(int argc, char** argv) {
  if (argc < 6 || (argc - 6) % 2 != 0) {
    fprintf(stderr, "usage: %s NAME IP PORT DIR SECS [bootstrap PEER]... [friend PEER]\n", argv[0]);
    return 2;
  }
  g_name = argv[1];
  const char* ip = argv[2];
  const unsigned port = (unsigned)atoi(argv[3]);
  const char* dir = argv[4];
  const int secs = atoi(argv[5]);

  struct Tox_Options* opt = tox_options_new(NULL);
  tox_options_set_ipv6_enabled(opt, false);
  tox_options_set_udp_enabled(opt, true);
  tox_options_set_local_discovery_enabled(opt, false);
  tox_options_set_start_port(opt, (uint16_t)port);
  tox_options_set_end_port(opt, (uint16_t)port);
  tox_options_set_tcp_port(opt, 0);
  Tox_Err_New err_new;
  Tox* tox = tox_new(opt, &err_new);
  tox_options_free(opt);
  if (!tox) {
    fprintf(stderr, "%s: tox_new failed (%d)\n", g_name, err_new);
    return 1;
  }
  tox_callback_friend_request(tox, on_request);
  tox_callback_friend_message(tox, on_message);
  tox_callback_self_connection_status(tox, on_self);
  tox_callback_friend_connection_status(tox, on_friend);
  tox_self_set_name(tox, (const uint8_t*)g_name, strlen(g_name), NULL);

  uint8_t dht[TOX_PUBLIC_KEY_SIZE], addr[TOX_ADDRESS_SIZE];
  char dht_hex[2 * TOX_PUBLIC_KEY_SIZE + 1], addr_hex[2 * TOX_ADDRESS_SIZE + 1];
  tox_self_get_dht_id(tox, dht);
  tox_self_get_address(tox, addr);
  hex(dht, sizeof dht, dht_hex);
  hex(addr, sizeof addr, addr_hex);
  char path[512], tmp[520];
  snprintf(path, sizeof path, "%s/%s.info", dir, g_name);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE* f = fopen(tmp, "w");
  if (!f) return 1;
  fprintf(f, "%u %s %s %s\n", port, dht_hex, addr_hex, ip);
  fclose(f);
  rename(tmp, path);

  for (int i = 6; i + 1 < argc; i += 2) {
    struct Peer p;
    if (read_peer(dir, argv[i + 1], &p, 10) != 0) {
      fprintf(stderr, "%s: no info for %s\n", g_name, argv[i + 1]);
      return 1;
    }
    if (strcmp(argv[i], "bootstrap") == 0) {
      Tox_Err_Bootstrap eb;
      tox_bootstrap(tox, p.ip, (uint16_t)p.port, p.dht, &eb);
      fprintf(stderr, "%s: bootstrap %s:%u (err %d)\n", g_name, p.ip, p.port, eb);
    } else if (strcmp(argv[i], "friend") == 0) {
      Tox_Err_Friend_Add ef;
      const char* hello = "friend request from the capture lab";
      tox_friend_add(tox, p.addr, (const uint8_t*)hello, strlen(hello), &ef);
      fprintf(stderr, "%s: friend request to %s (err %d)\n", g_name, argv[i + 1], ef);
    }
  }

  time_t end = time(NULL) + secs;
  int done = 0;
  while (time(NULL) < end) {
    if (!done && g_any_sent && g_received) {
      done = 1;
      end = time(NULL) + 1;
    }
    tox_iterate(tox, NULL);
    usleep(tox_iteration_interval(tox) * 1000);
  }
  tox_kill(tox);
  return 0;
}
