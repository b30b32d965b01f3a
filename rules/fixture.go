package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/trace"
)

// FixtureResult is the outcome of one rule fixture: a trace on which the
// rule must hit (files hit*.jsonl) or must not (miss*.jsonl).
type FixtureResult struct {
	Rule    string `json:"rule"`
	Fixture string `json:"fixture"` // path in the rule file system
	Want    bool   `json:"want"`    // the rule should hit
	Got     bool   `json:"got"`
	Err     error  `json:"-"`
}

// OK reports whether the fixture passed.
func (r FixtureResult) OK() bool { return r.Err == nil && r.Got == r.Want }

// ErrNoFixture is reported for a rule without a hit or a miss fixture.
var ErrNoFixture = errors.New("missing fixture")

// Test runs every rule's fixtures, found in fixtures/<rule-id>/ beside the
// rule's file, and returns one result per fixture. Each fixture is judged by
// its rule alone. A rule lacking a hit or a miss fixture gets a result with
// ErrNoFixture.
func (s *Set) Test() []FixtureResult {
	var out []FixtureResult
	for i, c := range s.rules {
		dir := fixtureDir(c.File, c.ID)
		entries, err := fs.ReadDir(c.fsys, dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			out = append(out, FixtureResult{Rule: c.ID, Fixture: dir, Err: fmt.Errorf("read fixtures: %w", err)})
			continue
		}
		one := s.only(i)
		var hasHit, hasMiss bool
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".jsonl") {
				continue
			}
			r := FixtureResult{Rule: c.ID, Fixture: path.Join(dir, name)}
			switch {
			case strings.HasPrefix(name, "hit"):
				r.Want, hasHit = true, true
			case strings.HasPrefix(name, "miss"):
				hasMiss = true
			default:
				continue
			}
			r.Got, r.Err = one.fires(r.Fixture)
			out = append(out, r)
		}
		for _, m := range []struct {
			have bool
			name string
			want bool
		}{{hasHit, "hit.jsonl", true}, {hasMiss, "miss.jsonl", false}} {
			if !m.have {
				out = append(out, FixtureResult{Rule: c.ID, Fixture: path.Join(dir, m.name), Want: m.want,
					Err: fmt.Errorf("rule %s: %w %s", c.ID, ErrNoFixture, m.name)})
			}
		}
	}
	return out
}

// fires judges the fixture at p with s and reports whether any rule hit.
func (s *Set) fires(p string) (bool, error) {
	f, err := s.rules[0].fsys.Open(p)
	if err != nil {
		return false, fmt.Errorf("open fixture: %w", err)
	}
	defer f.Close()
	t, err := trace.Decode(f)
	if err != nil {
		return false, fmt.Errorf("fixture %s: %w", p, err)
	}
	j := s.Judge(t)
	return slices.ContainsFunc(j.Hits, func(h analysis.Hit) bool { return h.Rule == s.rules[0].ID }), nil
}
