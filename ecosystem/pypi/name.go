package pypi

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	// nameRE is the PEP 508 distribution name.
	nameRE    = regexp.MustCompile(`(?i)^([a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)
	normRE    = regexp.MustCompile(`[-_.]+`)
	versionRE = regexp.MustCompile(`(?i)^v?(?:([0-9]+)!)?([0-9]+(?:\.[0-9]+)*)` +
		`(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?([0-9]+)?)?` +
		`(?:-([0-9]+)|[-_.]?(post|rev|r)[-_.]?([0-9]+)?)?` +
		`(?:[-_.]?(dev)[-_.]?([0-9]+)?)?` +
		`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`)
)

// ValidName checks name against PEP 508.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("distribution name %q: only letters, digits, - _ . allowed, starting and ending with a letter or digit (PEP 508)", name)
	}
	return nil
}

// Normalize returns the PEP 503 normalized name.
func Normalize(name string) string {
	return strings.ToLower(normRE.ReplaceAllString(name, "-"))
}

// ValidVersion checks that v is one exact PEP 440 version.
func ValidVersion(v string) error {
	if v == "" {
		return errors.New("missing version: an exact version is required (NAME==1.2.3)")
	}
	if strings.ContainsAny(v, "*<>=~,; ") || strings.Contains(v, "!=") {
		return fmt.Errorf("version %q: ranges and wildcards are not accepted, give an exact version such as 1.2.3", v)
	}
	if !versionRE.MatchString(v) {
		return fmt.Errorf("version %q: not a PEP 440 version such as 1.2.3", v)
	}
	return nil
}

// Version is a parsed PEP 440 version, comparable with Compare.
type Version struct {
	epoch   int
	release []int
	pre     [2]int // kind (-3 dev-only, -2 a, -1 b, 0 rc, 1 none) and number
	post    int    // -1 none
	dev     int    // max int none
	local   string
}

// ParseVersion parses a PEP 440 version.
func ParseVersion(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Version{}, fmt.Errorf("version %q: not PEP 440", s)
	}
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	v := Version{epoch: num(m[1]), pre: [2]int{1, 0}, post: -1, dev: int(^uint(0) >> 1), local: strings.ToLower(m[10])}
	for _, p := range strings.Split(m[2], ".") {
		v.release = append(v.release, num(p))
	}
	for len(v.release) > 1 && v.release[len(v.release)-1] == 0 {
		v.release = v.release[:len(v.release)-1]
	}
	switch strings.ToLower(m[3]) {
	case "a", "alpha":
		v.pre = [2]int{-2, num(m[4])}
	case "b", "beta":
		v.pre = [2]int{-1, num(m[4])}
	case "c", "rc", "pre", "preview":
		v.pre = [2]int{0, num(m[4])}
	}
	if m[5] != "" {
		v.post = num(m[5])
	} else if m[6] != "" {
		v.post = num(m[7])
	}
	if m[8] != "" {
		v.dev = num(m[9])
		if m[3] == "" && m[6] == "" && m[5] == "" {
			v.pre = [2]int{-3, 0}
		}
	}
	return v, nil
}

// Key is a string equal for versions that compare equal (1.0 and 1.0.0,
// 1.0b1 and 1.0.0-beta1), for maps keyed by version.
func (v Version) Key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d!", v.epoch)
	for i, n := range v.release {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	if v.pre[0] > -3 && v.pre[0] < 1 {
		fmt.Fprintf(&b, "%s%d", [...]string{"a", "b", "rc"}[v.pre[0]+2], v.pre[1])
	}
	if v.post >= 0 {
		fmt.Fprintf(&b, ".post%d", v.post)
	}
	if v.dev != int(^uint(0)>>1) {
		fmt.Fprintf(&b, ".dev%d", v.dev)
	}
	if v.local != "" {
		b.WriteString("+" + v.local)
	}
	return b.String()
}

// Prerelease reports whether v is a pre- or development release.
func (v Version) Prerelease() bool { return v.pre[0] < 1 || v.dev != int(^uint(0)>>1) }

// Compare returns -1, 0 or 1 as v sorts before, with or after w (local
// labels compare as strings, which is enough to order equal releases).
func (v Version) Compare(w Version) int {
	c := func(a, b int) int {
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	}
	if r := c(v.epoch, w.epoch); r != 0 {
		return r
	}
	for i := 0; i < max(len(v.release), len(w.release)); i++ {
		var a, b int
		if i < len(v.release) {
			a = v.release[i]
		}
		if i < len(w.release) {
			b = w.release[i]
		}
		if r := c(a, b); r != 0 {
			return r
		}
	}
	for _, p := range [][2]int{{v.pre[0], w.pre[0]}, {v.pre[1], w.pre[1]}, {v.post, w.post}, {v.dev, w.dev}} {
		if r := c(p[0], p[1]); r != 0 {
			return r
		}
	}
	return strings.Compare(v.local, w.local)
}
