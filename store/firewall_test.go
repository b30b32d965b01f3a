package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestFirewallTarballs(t *testing.T) { forEachStore(t, testFirewallTarballs) }

func testFirewallTarballs(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	fw := openTest(t).(Firewall)
	first := Tarball{Ecosystem: "npm", Name: "@s/x", Version: "1.0.0", Digest: "sha256:aa", Integrity: "sha512-a", FirstSeen: base}
	tests := []struct {
		name string
		see  Tarball
		want Tarball
	}{
		{"first sight is recorded", first, first},
		{"later bytes do not replace it", Tarball{Ecosystem: "npm", Name: "@s/x", Version: "1.0.0", Digest: "sha256:bb", Integrity: "sha512-b"}, first},
		{"another version", Tarball{Ecosystem: "npm", Name: "@s/x", Version: "2.0.0", Digest: "sha256:cc", Integrity: "sha512-c", FirstSeen: base}, Tarball{Ecosystem: "npm", Name: "@s/x", Version: "2.0.0", Digest: "sha256:cc", Integrity: "sha512-c", FirstSeen: base}},
	}
	for _, tt := range tests {
		got, err := fw.SeeTarball(ctx, tt.see)
		if err != nil || got != tt.want {
			t.Errorf("%s: SeeTarball = %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
	ts, err := fw.Tarballs(ctx, "npm", "@s/x")
	if err != nil || len(ts) != 2 {
		t.Fatalf("Tarballs = %+v, %v; want 2", ts, err)
	}
	if ts, _ := fw.Tarballs(ctx, "pypi", "@s/x"); len(ts) != 0 {
		t.Errorf("Tarballs of another ecosystem = %+v, want none", ts)
	}
}

func TestFirewallRegistryRecords(t *testing.T) { forEachStore(t, testFirewallRegistryRecords) }

func testFirewallRegistryRecords(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	st := openTest(t)
	up := newRecord("up", "npm", "x", "1.0.0")
	up.Source, up.Artifact = FromUpload, "sha256:aa"
	failed := newRecord("failed", "npm", "x", "1.0.0")
	failed.Status, failed.Submitted = Failed, base.Add(time.Hour)
	mustCreate(t, st, newRecord("reg", "npm", "x", "1.0.0"), up, failed, newRecord("other", "npm", "y", "1.0.0"))
	rs, err := st.(Firewall).RegistryRecords(ctx, "npm", "x")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.ID)
	}
	if want := []string{"failed", "reg"}; !slices.Equal(got, want) {
		t.Errorf("RegistryRecords = %v, want %v (no uploads, no other package)", got, want)
	}
}

func TestFirewallOverrides(t *testing.T) { forEachStore(t, testFirewallOverrides) }

func testFirewallOverrides(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	fw := openTest(t).(Firewall)
	a := &Override{Ecosystem: "npm", Name: "x", Versions: "^1", Action: Allow, Reason: "vetted by hand", Who: "alice"}
	b := &Override{Ecosystem: "npm", Name: "y", Action: Deny, Reason: "typosquat", Who: "bob"}
	for _, o := range []*Override{a, b} {
		if err := fw.AddOverride(ctx, o); err != nil || o.ID == "" || o.Created.IsZero() {
			t.Fatalf("AddOverride(%+v): %v", o, err)
		}
	}
	for _, bad := range []*Override{{Ecosystem: "npm", Name: "x", Action: "maybe"}, {Ecosystem: "npm", Action: Deny}} {
		if err := fw.AddOverride(ctx, bad); err == nil {
			t.Errorf("AddOverride(%+v): no error", bad)
		}
	}
	os, err := fw.Overrides(ctx, "npm", "x")
	if err != nil || len(os) != 1 || os[0] != *a {
		t.Errorf("Overrides(x) = %+v, %v; want %+v", os, err, *a)
	}
	if all, _ := fw.Overrides(ctx, "", ""); len(all) != 2 {
		t.Errorf("Overrides() = %d, want 2", len(all))
	}
	if err := fw.DeleteOverride(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := fw.DeleteOverride(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteOverride: %v, want ErrNotFound", err)
	}
	if os, _ := fw.Overrides(ctx, "npm", "x"); len(os) != 0 {
		t.Errorf("Overrides(x) after delete = %+v", os)
	}
}

func TestFirewallAudit(t *testing.T) { forEachStore(t, testFirewallAudit) }

func testFirewallAudit(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	fw := openTest(t).(Firewall)
	es := []AuditEntry{
		{At: base, Who: "10.0.0.1", Ecosystem: "npm", Name: "x", Version: "1.0.0", Request: "tarball", State: "admitted", Reason: "analysed benign", Analysis: "a1"},
		{At: base.Add(time.Minute), Who: "10.0.0.1", Ecosystem: "npm", Name: "x", Version: "1.1.0", Request: "tarball", State: "blocked", Reason: "judged malicious", Analysis: "a2"},
		{At: base.Add(2 * time.Minute), Who: "10.0.0.2", Ecosystem: "npm", Name: "y", Request: "packument", State: "held", Reason: "1 version held"},
	}
	if err := fw.AppendAudit(ctx, es); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		q    AuditQuery
		want []string // versions+names, newest first
	}{
		{AuditQuery{}, []string{"y@", "x@1.1.0", "x@1.0.0"}},
		{AuditQuery{Name: "x", Ecosystem: "npm"}, []string{"x@1.1.0", "x@1.0.0"}},
		{AuditQuery{State: "blocked"}, []string{"x@1.1.0"}},
		{AuditQuery{Since: base.Add(time.Minute)}, []string{"y@", "x@1.1.0"}},
		{AuditQuery{Limit: 1}, []string{"y@"}},
	}
	for _, tt := range tests {
		got, err := fw.Audit(ctx, tt.q)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range got {
			names = append(names, e.Name+"@"+e.Version)
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("Audit(%+v) = %v, want %v", tt.q, names, tt.want)
		}
	}
	got, _ := fw.Audit(ctx, AuditQuery{State: "blocked"})
	if e := got[0]; e.ID == "" || e.Reason != "judged malicious" || e.Analysis != "a2" || !e.At.Equal(base.Add(time.Minute)) {
		t.Errorf("blocked entry = %+v", e)
	}
}

func TestFirewallFeedSeq(t *testing.T) { forEachStore(t, testFirewallFeedSeq) }

func testFirewallFeedSeq(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	fw := openTest(t).(Firewall)
	if seq, err := fw.FeedSeq(ctx, "npm"); err != nil || seq != "" {
		t.Errorf("FeedSeq of a new feed = %q, %v; want empty", seq, err)
	}
	for _, seq := range []string{"41", `"42-g1AAAA"`} {
		if err := fw.SetFeedSeq(ctx, "npm", seq); err != nil {
			t.Fatal(err)
		}
		if got, err := fw.FeedSeq(ctx, "npm"); err != nil || got != seq {
			t.Errorf("FeedSeq = %q, %v; want %q", got, err, seq)
		}
	}
	if got, _ := fw.FeedSeq(ctx, "other"); got != "" {
		t.Errorf("FeedSeq of another feed = %q", got)
	}
}

func TestFirewallInLockfile(t *testing.T) { forEachStore(t, testFirewallInLockfile) }

// testFirewallInLockfile: a package is in a lockfile when an analysis of
// it is an item of a lockfile batch; other batch kinds and other
// ecosystems do not count.
func testFirewallInLockfile(t *testing.T, openTest func(testing.TB) Store) {
	ctx := context.Background()
	st := openTest(t)
	mustCreate(t, st, newRecord("locked", "npm", "locked-pkg", "1.0.0"), newRecord("rejudged", "npm", "rejudged-pkg", "1.0.0"),
		newRecord("py", "pypi", "locked-pkg", "1.0.0"))
	if err := st.CreateBatch(ctx, &Batch{ID: "b-lock", Kind: "lockfile", Source: "package-lock.json"}, []string{"locked"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBatch(ctx, &Batch{ID: "b-rejudge", Kind: "rejudge"}, []string{"rejudged", "py"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		eco, name string
		want      bool
	}{
		{"npm", "locked-pkg", true},
		{"npm", "rejudged-pkg", false},
		{"pypi", "locked-pkg", false},
		{"npm", "absent", false},
	} {
		got, err := st.(Firewall).InLockfile(ctx, tt.eco, tt.name)
		if err != nil || got != tt.want {
			t.Errorf("InLockfile(%s, %s) = %v, %v; want %v", tt.eco, tt.name, got, err, tt.want)
		}
	}
}
