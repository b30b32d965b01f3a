package sinkhole

import (
	"os"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestRulesKnowTheSinkholeAddresses checks that the rules' list of the
// addresses the sandbox resolves every name to (honeytoken-own-service
// tells a request to a name from one to an address the package chose by
// it) is this sinkhole's.
func TestRulesKnowTheSinkholeAddresses(t *testing.T) {
	b, err := os.ReadFile("../../rules/builtin/lists.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Lists []struct {
			Name  string   `yaml:"name"`
			Items []string `yaml:"items"`
		} `yaml:"lists"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range doc.Lists {
		if l.Name == "sinkhole_addresses" {
			got = l.Items
		}
	}
	want := []string{sinkV4.Addr().String(), sinkV6.Addr().String()}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("rules list sinkhole_addresses = %q, want the sinkhole's %q", got, want)
	}
}
