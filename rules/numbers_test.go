package rules

import (
	"math/rand/v2"
	"testing"
)

func TestCorrelated(t *testing.T) {
	const token = "ghp_Zt7Kq2Wm9Lp4Xr8Nv3Bc6Hd1Jf5Gs0Ty2Ua"
	const key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu7Zq9f2Lw8Xk3VbN5mR1tJc0yHd4GsPa6Qe2Wn7Ko"
	affine := func(v string, a, b float64, noise func(i int) float64) []float64 {
		out := []float64{1, 0, 0, 24, 22} // numbers before the channel starts
		for i := range len(v) {
			out = append(out, a*float64(v[i])+b+noise(i))
		}
		return out
	}
	none := func(int) float64 { return 0 }
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]float64, 64)
	for i := range random {
		random[i] = float64(300 + r.IntN(128))
	}
	tests := []struct {
		name   string
		series []float64
		want   int // index of the value followed; -1: none
	}{
		{"body lengths 300+b", affine(token, 1, 300, none), 0},
		{"timings 250+7b plus noise", affine(token, 7, 250, func(i int) float64 { return float64(i % 5) }), 0},
		{"decreasing 2000-3b", affine(token, -3, 2000, none), 0},
		{"a key's random part", affine(key[32:], 1, 1024, none), 1},
		{"fifteen numbers", affine(token[:15], 1, 300, none)[5:], -1},
		{"random numbers", random, -1},
		// a fixed head has a shape harmless numbers could follow
		{"a key's PEM header", affine(key[:20], 1, 300, none)[5:], -1},
	}
	for _, tt := range tests {
		got, _ := correlated([][]float64{tt.series}, []string{token, key})
		if got != tt.want {
			t.Errorf("%s: correlated = %d, want %d", tt.name, got, tt.want)
		}
	}
}
