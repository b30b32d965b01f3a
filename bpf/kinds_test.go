package bpf

import (
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/fumehood/fumehood/trace"
)

// probeEnum returns the members of the C enum name of c/probes.c, as the
// compiled object's BTF describes them.
func probeEnum(t *testing.T, name string) []btf.EnumValue {
	t.Helper()
	spec, err := loadProbes()
	if err != nil {
		t.Fatal(err)
	}
	var e *btf.Enum
	if err := spec.Types.TypeByName(name, &e); err != nil {
		t.Fatalf("enum %s: %v", name, err)
	}
	return e.Values
}

// TestKindsMatchProbes checks the decoder's table against enum kind of the
// probes (KIND_EXEC = 1 is trace.KindExec at index 1) and against the probe
// kinds trace declares: each is defined once, in its own language.
func TestKindsMatchProbes(t *testing.T) {
	inC := make(map[trace.Kind]bool)
	for _, v := range probeEnum(t, "kind") {
		want := trace.Kind(strings.ToLower(strings.TrimPrefix(v.Name, "KIND_")))
		inC[want] = true
		if !want.Probe() {
			t.Errorf("%s: trace declares no probe kind %q", v.Name, want)
		}
		if v.Value >= uint64(len(kinds)) || kinds[v.Value] != want {
			t.Errorf("%s = %d: decoder table has no %q there", v.Name, v.Value, want)
		}
	}
	for i, k := range kinds {
		if k != "" && !inC[k] {
			t.Errorf("decoder table: kinds[%d] = %q is not in enum kind", i, k)
		}
	}
	for _, k := range trace.Kinds() {
		if k.Probe() && !inC[k] {
			t.Errorf("trace kind %q is a probe kind, but enum kind has no KIND_%s", k, strings.ToUpper(string(k)))
		}
	}
}

// TestCallsMatchProbes checks the names the decoder gives enum call
// members: each named one is its C name in lower case.
func TestCallsMatchProbes(t *testing.T) {
	for _, v := range probeEnum(t, "call") {
		if v.Value >= uint64(len(calls)) || calls[v.Value] == "" {
			continue // unnamed on purpose (send variants, openat)
		}
		if got, want := calls[v.Value], strings.ToLower(strings.TrimPrefix(v.Name, "CALL_")); got != want {
			t.Errorf("%s = %d: got name %q, want %q", v.Name, v.Value, got, want)
		}
	}
}

// TestFDTypesMatchProbes checks the decoder's table against enum fdtype of
// the probes: FDT_INET is trace's descriptor type named "inet", and every
// member of the table is in the enum.
func TestFDTypesMatchProbes(t *testing.T) {
	values := probeEnum(t, "fdtype")
	for _, v := range values {
		want := strings.ToLower(strings.TrimPrefix(v.Name, "FDT_"))
		if v.Value >= uint64(len(fdTypes)) || fdTypes[v.Value].String() != want {
			t.Errorf("%s = %d: decoder table has no descriptor type %q there", v.Name, v.Value, want)
		}
	}
	for i, ft := range fdTypes {
		if ft != trace.FDUnknown && !slices.ContainsFunc(values, func(v btf.EnumValue) bool { return v.Value == uint64(i) }) {
			t.Errorf("decoder table: fdTypes[%d] = %q is not in enum fdtype", i, ft)
		}
	}
}
