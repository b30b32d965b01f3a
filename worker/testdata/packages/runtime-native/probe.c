/* A Node-API addon that links zlib, found with pkg-config. */
#include <node_api.h>
#include <zlib.h>

static napi_value version(napi_env env, napi_callback_info info) {
	napi_value s;
	napi_create_string_utf8(env, zlibVersion(), NAPI_AUTO_LENGTH, &s);
	return s;
}

NAPI_MODULE_INIT() {
	napi_value fn;
	napi_create_function(env, "zlibVersion", NAPI_AUTO_LENGTH, version, NULL, &fn);
	napi_set_named_property(env, exports, "zlibVersion", fn);
	return exports;
}
