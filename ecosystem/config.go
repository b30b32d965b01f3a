package ecosystem

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/fumehood/fumehood/ecosystem/internal/archive"
	"github.com/fumehood/fumehood/ecosystem/npm"
)

// Defaults of Config.
const (
	DefaultMaxArtifact = 64 << 20
	DefaultMaxFiles    = 200000
)

// Config says where packages come from and how big they may be. The zero
// value is usable: every empty field takes its default.
type Config struct {
	// NPMRegistry is the npm registry base URL; default
	// FUMEHOOD_NPM_REGISTRY, else `npm config get registry`.
	NPMRegistry string
	// NPM is the node and npm that resolve and download npm
	// dependencies on the host (see npm.Prepare): the worker sets the
	// sandbox image's own. Zero: the host's npm on PATH.
	NPM npm.Runtime
	// PyPIIndex is the simple-API (PEP 503/691) base URL; default
	// FUMEHOOD_PYPI_INDEX. Empty: pypi specs are unsupported.
	PyPIIndex string
	// MaxArtifact bounds an artifact's size in bytes (default 64 MiB);
	// its uncompressed content may be 8 times that.
	MaxArtifact int64
	// MaxFiles bounds an artifact's entries (default 200000).
	MaxFiles int
	// HTTPClient talks to the registries (default: a client with a
	// 10-minute timeout).
	HTTPClient *http.Client
}

// LogValue logs the configuration (registry URLs without credentials).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("npm_registry", redact(c.NPMRegistry)),
		slog.String("pypi_index", redact(c.PyPIIndex)),
		slog.String("npm_runtime", c.NPM.Prefix),
		slog.Int64("max_artifact", c.MaxArtifact),
		slog.Int("max_files", c.MaxFiles),
	)
}

func redact(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if at := strings.LastIndex(rest, "@"); ok && at >= 0 && at < strings.IndexAny(rest+"/", "/") {
		return scheme + "://REDACTED@" + rest[at+1:]
	}
	return u
}

// HasPyPI reports whether the configuration names a PyPI index (its own
// or FUMEHOOD_PYPI_INDEX): without one no pypi: spec can be fetched.
func (c Config) HasPyPI() bool { return c.withDefaults().PyPIIndex != "" }

// withDefaults fills empty fields except NPMRegistry, which npmRegistry
// resolves only when needed (it may run npm).
func (c Config) withDefaults() Config {
	if c.PyPIIndex == "" {
		c.PyPIIndex = os.Getenv("FUMEHOOD_PYPI_INDEX")
	}
	if c.MaxArtifact <= 0 {
		c.MaxArtifact = DefaultMaxArtifact
	}
	if c.MaxFiles <= 0 {
		c.MaxFiles = DefaultMaxFiles
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Minute}
	}
	return c
}

func (c Config) limits() archive.Limits {
	return archive.Limits{MaxBytes: c.MaxArtifact, MaxFiles: c.MaxFiles}
}

// npmRegistry returns the configured npm registry URL.
func (c Config) npmRegistry(ctx context.Context) (string, error) {
	if c.NPMRegistry != "" {
		return c.NPMRegistry, nil
	}
	if r := os.Getenv("FUMEHOOD_NPM_REGISTRY"); r != "" {
		return r, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "npm", "config", "get", "registry")
	cmd.Stdout = &out
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm registry: set FUMEHOOD_NPM_REGISTRY or make `npm config get registry` work: %w", err)
	}
	r := strings.TrimSpace(out.String())
	if r == "" || r == "undefined" {
		return "", fmt.Errorf("npm registry: `npm config get registry` printed nothing; set FUMEHOOD_NPM_REGISTRY")
	}
	return r, nil
}

// DefaultConfig returns a Config with every default resolved, the npm
// registry included (FUMEHOOD_NPM_REGISTRY, else the host npm's).
func DefaultConfig(ctx context.Context) (Config, error) {
	c := Config{}.withDefaults()
	reg, err := c.npmRegistry(ctx)
	if err != nil {
		return Config{}, err
	}
	c.NPMRegistry = reg
	return c, nil
}
