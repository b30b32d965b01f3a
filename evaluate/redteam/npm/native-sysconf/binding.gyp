{
  "targets": [
    {
      "target_name": "native_sysconf",
      "sources": ["src/sysconf.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
