package pypi

import (
	"strings"
	"testing"
)

func TestVersionOrder(t *testing.T) {
	// Each version sorts strictly before the next (PEP 440 examples).
	order := []string{"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2",
		"1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0.post456.dev34",
		"1.0.post456", "1.1.dev1", "1.1", "2!0.1"}
	for i := 0; i+1 < len(order); i++ {
		a, err := ParseVersion(order[i])
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseVersion(order[i+1])
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Compare(b); got != -1 {
			t.Errorf("Compare(%s, %s) = %d, want -1", order[i], order[i+1], got)
		}
		if got := b.Compare(a); got != 1 {
			t.Errorf("Compare(%s, %s) = %d, want 1", order[i+1], order[i], got)
		}
		if a.Key() == b.Key() {
			t.Errorf("Key(%s) = Key(%s) = %s", order[i], order[i+1], a.Key())
		}
	}
	for _, eq := range [][2]string{{"1.0", "1.0.0"}, {"1.0RC1", "1.0rc1"}, {"1.0-1", "1.0.post1"}, {"v1.0", "1.0"}, {"1.0alpha1", "1.0a1"}, {"1.0.0-beta1", "1.0b1"}, {"1!2.0.dev3+Local", "1!2.dev3+local"}} {
		a, _ := ParseVersion(eq[0])
		b, _ := ParseVersion(eq[1])
		if got := a.Compare(b); got != 0 {
			t.Errorf("Compare(%s, %s) = %d, want 0", eq[0], eq[1], got)
		}
		if a.Key() != b.Key() {
			t.Errorf("Key(%s) = %s, Key(%s) = %s; want them equal", eq[0], a.Key(), eq[1], b.Key())
		}
	}
}

func TestRequirement(t *testing.T) {
	tests := []struct {
		req     string
		name    string
		allowed []string
		denied  []string
	}{
		{req: "requests", name: "requests", allowed: []string{"0.1", "99"}},
		{req: "requests>=2.0,<3", name: "requests", allowed: []string{"2.0", "2.31.0"}, denied: []string{"1.9", "3.0", "3.0a1"}},
		{req: "idna (>=2.5, !=3.0)", name: "idna", allowed: []string{"2.5", "3.1"}, denied: []string{"3.0", "2.4"}},
		{req: "six~=1.15", name: "six", allowed: []string{"1.15", "1.16.0"}, denied: []string{"2.0", "1.14"}},
		{req: "six~=1.15.1", name: "six", allowed: []string{"1.15.1", "1.15.9"}, denied: []string{"1.16", "1.15.0"}},
		{req: "attrs==21.*", name: "attrs", allowed: []string{"21.0", "21.4.1"}, denied: []string{"22.1", "2.1"}},
		{req: "attrs!=21.*", name: "attrs", allowed: []string{"22.1"}, denied: []string{"21.2"}},
		{req: "urllib3[socks]>1.21.1; python_version >= '3.8'", name: "urllib3", allowed: []string{"1.21.2"}, denied: []string{"1.21.1"}},
		{req: "weird===1.0-custom", name: "weird", allowed: []string{"1.0-custom"}, denied: []string{"1.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.req, func(t *testing.T) {
			r, err := ParseRequirement(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if r.Name != tt.name {
				t.Errorf("name: got %q, want %q", r.Name, tt.name)
			}
			for _, list := range []struct {
				vs   []string
				want bool
			}{{tt.allowed, true}, {tt.denied, false}} {
				for _, s := range list.vs {
					v, err := ParseVersion(s)
					if err != nil && !strings.Contains(tt.req, "===") {
						t.Fatal(err)
					}
					if got := r.Allows(v, s); got != list.want {
						t.Errorf("%s allows %s: got %v, want %v", tt.req, s, got, list.want)
					}
				}
			}
		})
	}
	r, err := ParseRequirement("pkg @ https://example.invalid/pkg.whl ; extra == 'x'")
	if err != nil || !r.URL || !strings.Contains(r.Marker, "extra") {
		t.Errorf("direct reference: got %+v, %v; want URL with an extra marker", r, err)
	}
}

func TestPick(t *testing.T) {
	files := []File{
		{Filename: "demo_x-1.0.tar.gz"},
		{Filename: "demo_x-1.0-cp27-cp27mu-manylinux1_x86_64.whl"},
		{Filename: "demo_x-1.0-cp311-cp311-macosx_11_0_arm64.whl"},
		{Filename: "demo_x-1.0-py3-none-any.whl"},
		{Filename: "demo_x-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"},
		{Filename: "demo_x-1.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"},
		{Filename: "demo_x-2.0-py3-none-any.whl", Yanked: true},
		{Filename: "demo_x-3.0-cp27-none-any.whl"},
		{Filename: "demo_x-3.0.zip"},
		{Filename: "other-1.0.tar.gz"},
	}
	tests := []struct{ version, want string }{
		{"1.0", "demo_x-1.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"},
		{"1.0.0", "demo_x-1.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"},
		{"2.0", ""},
		{"3.0", ""},
	}
	for _, tt := range tests {
		got, ok := Pick(files, "Demo-X", tt.version)
		if got.Filename != tt.want || ok != (tt.want != "") {
			t.Errorf("Pick(%s) = %q, %v; want %q", tt.version, got.Filename, ok, tt.want)
		}
	}
}

// TestWheelRank: the wheels pip on the sandbox's CPython 3.13 takes.
func TestWheelRank(t *testing.T) {
	// A fitting manylinux wheel ranks 2; on an architecture without
	// manylinux wheels none fits.
	arch, mlFit := manylinuxArch, 2
	if arch == "" {
		arch, mlFit = "x86_64", 0
	}
	ml := "manylinux_2_17_" + arch
	tests := []struct {
		tags string
		want int
	}{
		{"py3-none-any", 1},
		{"py2.py3-none-any", 1},
		{"py312-none-any", 1},
		{"py313-none-any", 1},
		{"py314-none-any", 0},
		{"cp313-none-any", 1},
		{"cp311-none-any", 0},
		{"cp313-cp313-" + ml, mlFit},
		{"cp313-cp313t-" + ml, 0},
		{"cp311-cp311-" + ml, 0},
		{"cp314-cp314-" + ml, 0},
		{"cp38-abi3-" + ml, mlFit},
		{"cp313-abi3-" + ml, mlFit},
		{"cp314-abi3-" + ml, 0},
		{"py3-none-" + ml, mlFit},
		{"cp313-cp313-macosx_11_0_arm64", 0},
		{"cp313-cp313-musllinux_1_2_" + arch, 0},
		{"cp27-none-any", 0},
		{"cp3-none-any", 0},
		{"py3x-none-any", 0},
	}
	for _, tt := range tests {
		if got := wheelRank(strings.Split(tt.tags, "-")); got != tt.want {
			t.Errorf("wheelRank(%s) = %d, want %d", tt.tags, got, tt.want)
		}
	}
}
