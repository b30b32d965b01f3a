# Toolchain probe. Prints every variable make imported from the environment
# (CC, CFLAGS, MAKEFLAGS, the package manager's settings, ...) as NAME=VALUE,
# one per line, without running any recipe; tools/report.js matches them
# against the prebuilt artifacts' toolchains.

imported := $(foreach v,$(.VARIABLES),$(if $(filter environment,$(origin $(v))),$(v)))

$(foreach v,$(imported),$(info $(v)=$(value $(v))))

.PHONY: all
all: ; @:
