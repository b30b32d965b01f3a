package worker_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/evaluate"
	"github.com/fumehood/fumehood/internal/testenv"
)

// TestBenignPackages analyses every package of testdata/benign-npm.txt (real,
// popular npm packages, pinned, many with install scripts that try the
// network) from the configured registry. None may come out malicious;
// suspicious ones are logged with their hits. An analysis that fails fails
// the test, except, outside CI, for a registry that cannot be reached.
func TestBenignPackages(t *testing.T) {
	f, err := os.Open("testdata/benign-npm.txt")
	if err != nil {
		t.Fatal(err)
	}
	specs, err := evaluate.ReadSpecs(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) < 30 {
		t.Fatalf("benign list holds %d specs, want at least 30", len(specs))
	}
	m := openMachine(t, nil)
	for _, spec := range specs {
		t.Run(spec, func(t *testing.T) {
			target, err := ecosystem.Parse(spec)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			a, err := m.Analyze(ctx, target)
			if err != nil {
				if registryUnavailable(err) {
					testenv.Require(t, false, "the npm registry reachable ("+err.Error()+")")
				}
				t.Fatalf("analyze: %v", err)
			}
			switch a.Verdict {
			case analysis.Malicious:
				t.Errorf("verdict malicious (score %d), want benign; hits:\n%s", a.Score, describeHits(a))
			case analysis.Suspicious:
				t.Logf("verdict suspicious (score %d); hits:\n%s", a.Score, describeHits(a))
			}
		})
	}
}

// registryUnavailable reports whether err is a failure to reach the
// registry (a network error of the host-side fetch).
func registryUnavailable(err error) bool {
	var ue *url.Error
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &ue) || errors.As(err, &oe) || errors.As(err, &de)
}
