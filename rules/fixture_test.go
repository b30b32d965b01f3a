package rules

import "testing"

func TestBuiltinFixtures(t *testing.T) {
	s, err := Builtin()
	if err != nil {
		t.Fatalf("Builtin() error: %v", err)
	}
	results := s.Test()
	if got, want := len(results), 2*len(s.Rules()); got < want {
		t.Errorf("Test() returned %d results, want at least %d (a hit and a miss per rule)", got, want)
	}
	for _, r := range results {
		t.Run(r.Rule+"/"+r.Fixture, func(t *testing.T) {
			if r.Err != nil {
				t.Fatalf("fixture error: %v", r.Err)
			}
			if r.Got != r.Want {
				t.Errorf("rule hit = %v, want %v", r.Got, r.Want)
			}
		})
	}
}
