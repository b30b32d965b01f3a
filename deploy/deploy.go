// Package deploy holds what installs and runs fumehood on a machine: the
// sandbox image recipe (embedded, so the binary can build its image), the
// set-up scripts (setup.sh, services.sh for a farm's PostgreSQL and S3
// server), systemd units (systemd/), Kubernetes manifests (kubernetes/)
// and a Grafana dashboard (grafana/); its tests check the last three.
package deploy

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ImageRecipe is the script that builds the sandbox image's root
// filesystem: `recipe.sh ROOTFS DOWNLOADS MIRROR REGISTRY` (the Debian
// mirror and the npm registry URLs), with the source of the containers'
// init (image/init.c) spliced into the here-document that compiles it, so
// that the recipe's digest (the image's tag) covers both.
var ImageRecipe = bytes.Replace(recipeScript, []byte(initPlaceholder), initSource, 1)

// initPlaceholder is the line of recipe.sh that init.c replaces.
const initPlaceholder = "@INIT_C@\n"

var (
	//go:embed image/recipe.sh
	recipeScript []byte
	//go:embed image/init.c
	initSource []byte
)

// ErrNoMirror is returned when no Debian mirror is configured.
var ErrNoMirror = errors.New("no Debian mirror configured")

// DebianMirror returns the Debian mirror to build the image from:
// FUMEHOOD_DEBIAN_MIRROR, else the first main-archive mirror of the host's
// apt sources (deb822 .sources files, then sources.list).
func DebianMirror() (string, error) {
	if m := os.Getenv("FUMEHOOD_DEBIAN_MIRROR"); m != "" {
		return m, nil
	}
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	files = append(files, "/etc/apt/sources.list")
	for _, f := range files {
		if m := mirrorIn(f); m != "" {
			return m, nil
		}
	}
	return "", fmt.Errorf("%w: set FUMEHOOD_DEBIAN_MIRROR or configure apt", ErrNoMirror)
}

// mirrorIn returns the first mirror of file that serves the main archive
// (not the security archive).
func mirrorIn(file string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		var uri string
		switch {
		case strings.HasPrefix(line, "URIs:"):
			uri = strings.Fields(strings.TrimPrefix(line, "URIs:") + " ")[0]
		case strings.HasPrefix(line, "deb "):
			for _, f := range strings.Fields(line)[1:] {
				if strings.Contains(f, "://") {
					uri = f
					break
				}
			}
		}
		if uri != "" && !strings.Contains(uri, "security") {
			return uri
		}
	}
	return ""
}
