package npm

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

var (
	partial  = regexp.MustCompile(`^v?\d+(\.\d+)?$`)
	namePart = regexp.MustCompile(`^[a-z0-9-][a-z0-9._-]*$`)
	// semver is the SemVer 2.0.0 grammar (semver.org), exact versions only.
	semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
		`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
		`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
)

// ValidName checks name against the rules npm applies to new package
// names: at most 214 characters, lower case, URL-safe characters without
// npm's "special characters" (~'!()*, refused in new names), not starting
// with "." or "_", optionally scoped as "@scope/name".
func ValidName(name string) error {
	if name == "" {
		return errors.New("empty package name")
	}
	if len(name) > 214 {
		return fmt.Errorf("package name %q: longer than 214 characters", name)
	}
	base := name
	if strings.HasPrefix(name, "@") {
		scope, rest, ok := strings.Cut(name[1:], "/")
		if !ok || scope == "" || rest == "" {
			return fmt.Errorf("package name %q: a scoped name is @scope/name", name)
		}
		if !namePart.MatchString(scope) {
			return fmt.Errorf("package name %q: scope %q has characters npm does not allow", name, scope)
		}
		base = rest
	}
	switch {
	case strings.ToLower(base) != base:
		return fmt.Errorf("package name %q: must be lower case", name)
	case !namePart.MatchString(base):
		return fmt.Errorf("package name %q: only a-z 0-9 - . _ allowed, not starting with . or _", name)
	case base == "node_modules" || base == "favicon.ico":
		return fmt.Errorf("package name %q: reserved", name)
	}
	return nil
}

// ValidVersion checks that v is one exact SemVer version, not a range
// or a dist-tag.
func ValidVersion(v string) error {
	if v == "" {
		return errors.New("missing version: an exact version is required (NAME@1.2.3)")
	}
	if semver.MatchString(v) {
		return nil
	}
	if strings.ContainsAny(v, "^~<>=*| xX") || isTag(v) || partial.MatchString(v) {
		return fmt.Errorf("version %q: ranges and dist-tags are not accepted, give an exact version such as 1.2.3", v)
	}
	return fmt.Errorf("version %q: not a SemVer version such as 1.2.3", v)
}

func isTag(v string) bool {
	for _, r := range v {
		if r >= '0' && r <= '9' || r == '.' {
			continue
		}
		return true
	}
	return false
}
