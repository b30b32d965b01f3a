{
  "targets": [{
    "target_name": "probe",
    "sources": ["probe.c"],
    "cflags": ["<!@(pkg-config --cflags zlib)"],
    "libraries": ["<!@(pkg-config --libs zlib)"]
  }]
}
