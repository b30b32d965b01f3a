package proxy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/ecosystem/pypi"
	"github.com/fumehood/fumehood/store"
)

// State is what the firewall does with a version.
type State string

// States.
const (
	Admitted State = "admitted" // listed and served
	Held     State = "held"     // hidden and refused until it is decided
	Blocked  State = "blocked"  // hidden and refused
)

// Policy decides versions. The zero Quarantine admits every version not
// judged malicious.
type Policy struct {
	// Quarantine is how long after its publication a version that was
	// not analysed benign stays held.
	Quarantine time.Duration
	// BlockSuspicious blocks versions judged suspicious too (otherwise
	// they are held like unanalysed ones).
	BlockSuspicious bool
	// Rules is the rule set version in force: only a benign verdict
	// under it admits a version before the window ends.
	Rules string
}

// Facts are what a version's decision rests on.
type Facts struct {
	Version   string
	Published time.Time // zero when the registry does not date it
	// Integrity is the registry's integrity of the version's bytes now.
	Integrity string
	// Seen is the tarball as the firewall first saw it, nil before.
	Seen *store.Tarball
	// Records are the farm's registry records of the version, newest
	// first (store.Firewall.RegistryRecords).
	Records []*store.Record
}

// Decision is the state of one version and why.
type Decision struct {
	State  State
	Reason string
	// Analysis is the record the decision rests on, or, for a held
	// version, the analysis under way; nil when there is none.
	Analysis *store.Record
	// Override is the admin's override that decided, if one did.
	Override *store.Override
	// DecidedBy is, for a held version, when the quarantine window ends
	// (zero when the registry gave no publication time).
	DecidedBy time.Time
	// Queue says a held version needs an analysis under the current
	// rules: none is queued, running or done for its bytes.
	Queue bool
}

// bad reports whether v blocks a version under p.
func (p Policy) bad(v analysis.Verdict) bool {
	return v == analysis.Malicious || (p.BlockSuspicious && v == analysis.Suspicious)
}

// Decide returns the state of a version. In order: bytes that the
// registry changed after the firewall first saw them are blocked; the
// newest override that matches decides; a verdict on the version's bytes
// (the current rules' if there is one, else the newest) that is malicious
// (or, by policy, suspicious) blocks; a benign verdict under the current
// rules with some of the package's code run admits; a version older than
// the quarantine window is admitted; any other is held.
func (p Policy) Decide(f Facts, overrides []store.Override, now time.Time) Decision {
	if f.Seen != nil && f.Integrity != "" && f.Seen.Integrity != f.Integrity {
		return Decision{State: Blocked, Reason: fmt.Sprintf("the registry's bytes changed after the firewall first saw them on %s (digest %s)",
			f.Seen.FirstSeen.Format(time.RFC3339), f.Seen.Digest)}
	}
	for i := range overrides {
		o := &overrides[i]
		if !covers(*o, f.Version) {
			continue
		}
		d := Decision{State: Admitted, Reason: fmt.Sprintf("allowed by %s: %s", o.Who, o.Reason), Override: o}
		if o.Action == store.Deny {
			d.State, d.Reason = Blocked, fmt.Sprintf("denied by %s: %s", o.Who, o.Reason)
		}
		return d
	}
	var current, newest, pending, failed *store.Record
	for _, r := range f.Records {
		if f.Seen != nil && r.Package.Digest != "" && r.Package.Digest != f.Seen.Digest {
			continue // an analysis of other bytes
		}
		switch {
		case r.Status == store.Done && newest == nil:
			newest = r
			if r.Rules == p.Rules {
				current = r
			}
		case r.Status == store.Done && r.Rules == p.Rules && current == nil:
			current = r
		case (r.Status == store.Queued || r.Status == store.Running) && r.Rules == p.Rules && pending == nil:
			pending = r
		case r.Status == store.Failed && r.Rules == p.Rules && failed == nil:
			failed = r
		}
	}
	judged := current
	if judged == nil {
		judged = newest
	}
	if judged != nil && p.bad(judged.Verdict) {
		return Decision{State: Blocked, Reason: fmt.Sprintf("judged %s by rule set %s", judged.Verdict, judged.Rules), Analysis: judged}
	}
	if current != nil && current.ExitCode() == 0 {
		return Decision{State: Admitted, Reason: "analysed benign", Analysis: current}
	}
	window := time.Time{}
	if !f.Published.IsZero() {
		window = f.Published.Add(p.Quarantine)
		if !now.Before(window) {
			return Decision{State: Admitted, Reason: "published before the quarantine window and not judged malicious", Analysis: judged}
		}
	}
	d := Decision{State: Held, DecidedBy: window}
	switch {
	case current != nil:
		d.Reason, d.Analysis = fmt.Sprintf("analysed %s, not benign enough to admit before the window ends", current.Verdict), current
		if current.Verdict == analysis.Benign {
			d.Reason = "analysed benign, but none of its code ran"
		}
	case pending != nil:
		d.Reason, d.Analysis = "analysis "+string(pending.Status), pending
	case failed != nil:
		d.Reason, d.Analysis = "its analysis failed: "+failed.Error, failed
	default:
		d.Reason, d.Queue = "not analysed yet", true
	}
	if f.Published.IsZero() {
		d.Reason += "; the registry gives no publication time"
	}
	return d
}

// covers reports whether o covers version v: every version when it names
// none, that version exactly (PEP 440 equality for PyPI), or, for npm,
// the versions its semver range admits.
func covers(o store.Override, v string) bool {
	if o.Versions == "" || o.Versions == v {
		return true
	}
	if o.Ecosystem == ecosystem.PyPI {
		want, err1 := pypi.ParseVersion(o.Versions)
		got, err2 := pypi.ParseVersion(v)
		return err1 == nil && err2 == nil && want.Compare(got) == 0
	}
	c, err := semver.NewConstraint(o.Versions)
	if err != nil {
		return false
	}
	sv, err := semver.StrictNewVersion(v)
	return err == nil && c.Check(sv)
}

// ValidateOverride checks an override an admin asks for: a known action,
// a valid package name, a version or semver range for npm, an exact
// version for PyPI (or none), a reason and who asks.
func ValidateOverride(o store.Override) error {
	var errs []error
	if o.Action != store.Allow && o.Action != store.Deny {
		errs = append(errs, fmt.Errorf("action %q: want allow or deny", o.Action))
	}
	if o.Ecosystem != ecosystem.NPM && o.Ecosystem != ecosystem.PyPI {
		errs = append(errs, fmt.Errorf("ecosystem %q: the firewall serves npm and pypi", o.Ecosystem))
	} else if err := ecosystem.ValidName(o.Ecosystem, o.Name); err != nil {
		errs = append(errs, err)
	}
	switch {
	case o.Versions == "":
	case o.Ecosystem == ecosystem.PyPI:
		if err := pypi.ValidVersion(o.Versions); err != nil {
			errs = append(errs, fmt.Errorf("versions: %w", err))
		}
	default:
		if _, err := semver.NewConstraint(o.Versions); err != nil {
			errs = append(errs, fmt.Errorf("versions %q: not a version or semver range: %v", o.Versions, err))
		}
	}
	if strings.TrimSpace(o.Reason) == "" {
		errs = append(errs, errors.New("a reason is required"))
	}
	if o.Who == "" {
		errs = append(errs, errors.New("who sets it is required"))
	}
	return errors.Join(errs...)
}
