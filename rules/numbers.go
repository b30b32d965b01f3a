package rules

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/fumehood/fumehood/trace"
)

// Numeric channels: a secret carried in the numbers of harmless-looking
// captures rather than in their text. Two shapes are read back, per
// destination, from the digit runs of every capture (its request target,
// headers, Content-Length included, and payload or query name):
//
//   - one byte a number, through any affine map (a padded body length of
//     300+b, a timing of 250+7b plus noise, a port of 1024+b, 2000-3b):
//     the numbers correlate with the bytes of a planted value, or against
//     them. The runs are read in capture order, and also by their
//     position within each capture (the Content-Length of every request).
//   - a big decimal number cut into groups (cookies, file names): the runs
//     of at least minGroup digits a phase sent to the destination, each
//     once, but those in most of its captures (a timestamp, a constant),
//     joined in order, read as an integer whose bytes are searched like
//     any capture.

const (
	// minSeries is the fewest numbers a correlation is computed over.
	minSeries = 16
	// minCorrelation is the Pearson correlation with a value's bytes that
	// counts as carrying them: random numbers reach it over minSeries
	// points with a probability far below one in a billion.
	minCorrelation = 0.97
	// maxSeriesStart is the furthest into a value a series may begin, and
	// minSeriesEntropy the entropy (bits a byte) of the first minSeries
	// bytes it begins with: sixteen distinct bytes have 4, a token's about
	// 3.8, "-----BEGIN RSA P" 3.1.
	maxSeriesStart   = 64
	minSeriesEntropy = 3.5
	// maxSeries bounds the numbers kept per destination, maxTraceNumbers
	// those kept over a trace, and maxCorrelated the bytes of a value a
	// series is compared with: a hostile package's numbers cost at most a
	// fraction of a second to judge.
	maxSeries       = 4096
	maxTraceNumbers = 1 << 15
	maxCorrelated   = 64
	// positions is how many positions within a capture get a series.
	positions = 8
	// minGroup is the shortest digit run joined into a big number, and
	// maxBigDigits bounds that number.
	minGroup     = 4
	maxBigDigits = 4096
)

// numbers is what the captures to one destination carried as digits.
type numbers struct {
	runs   [][]string     // per capture, its digit runs
	phases []string       // per capture, its phase
	count  int            // runs kept
	seen   map[string]int // captures of its phase each run occurred in, by phase and run
}

// add records the digit runs of one capture, made in phase, unless they
// would take the destination past maxSeries; it returns how many it kept.
func (n *numbers) add(phase, text string) int {
	var runs []string
	for i := 0; i < len(text); {
		if text[i] < '0' || text[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(text) && text[j] >= '0' && text[j] <= '9' {
			j++
		}
		runs = append(runs, text[i:j])
		i = j
	}
	if len(runs) == 0 || n.count+len(runs) > maxSeries {
		return 0
	}
	if n.seen == nil {
		n.seen = make(map[string]int)
	}
	once := make(map[string]bool, len(runs))
	for _, r := range runs {
		if !once[r] {
			once[r] = true
			n.seen[phase+" "+r]++
		}
	}
	n.runs = append(n.runs, runs)
	n.phases = append(n.phases, phase)
	n.count += len(runs)
	return len(runs)
}

// series returns the numeric series the runs form: all of them in order,
// and the run at each of the first positions of every capture that has
// one.
func (n *numbers) series() [][]float64 {
	all := make([]float64, 0, n.count)
	at := make([][]float64, positions)
	for _, runs := range n.runs {
		for i, r := range runs {
			v, err := strconv.ParseUint(r, 10, 32)
			if err != nil {
				v = math.MaxUint32 // too long for a byte's image; keeps the order
			}
			all = append(all, float64(v))
			if i < positions {
				at[i] = append(at[i], float64(v))
			}
		}
	}
	return append([][]float64{all}, at...)
}

// bigNumbers returns, per phase, the bytes of the big number spelt by the
// runs of at least minGroup digits of the phase's captures, each run once
// (a package may send its number twice: the import phase loads it by
// require and by import), leaving out those found in more than half of the
// phase's captures (a timestamp or a constant). The last group of such a
// number may be shorter than minGroup and left out, so each number is also
// read as if up to minGroup-1 digits followed: its leading bytes, where a
// secret begins, are the same. None for a phase with too few digits.
func (n *numbers) bigNumbers() []string {
	captures := map[string]int{}
	for _, phase := range n.phases {
		captures[phase]++
	}
	var out []string
	done := map[string]bool{}
	for _, phase := range n.phases {
		if done[phase] {
			continue
		}
		done[phase] = true
		var digits strings.Builder
		used := map[string]bool{}
		for i, runs := range n.runs {
			for _, r := range runs {
				seen := n.seen[phase+" "+r]
				if n.phases[i] != phase || len(r) < minGroup || used[r] || seen > 1 && 2*seen > captures[phase] ||
					digits.Len()+len(r) > maxBigDigits {
					continue
				}
				used[r] = true
				digits.WriteString(r)
			}
		}
		v, ok := new(big.Int).SetString(digits.String(), 10)
		if digits.Len() < 3*minGroup || !ok {
			continue
		}
		out = append(out, string(v.Bytes()))
		ten := big.NewInt(10)
		for range minGroup - 1 {
			v.Mul(v, ten)
			out = append(out, string(v.Bytes()))
		}
	}
	return out
}

// carried returns what the numbers carry: what search finds in the big
// number they spell, or the name of the planted value (of values, named
// by names) a series follows; "" for neither.
func (n *numbers) carried(search func(string) string, values, names []string) string {
	for _, b := range n.bigNumbers() {
		if f := search(b); f != "" {
			return f + ", as a decimal number"
		}
	}
	if v, r := correlated(n.series(), values); v >= 0 {
		return names[v] + " one byte a number (correlation " + strconv.FormatFloat(r, 'f', 3, 64) + ")"
	}
	return ""
}

// correlated returns the index of the first value whose bytes a series
// follows, and the correlation; -1 when none does. A value is followed
// from its start or from one of its first few multiples of minSeries (the
// token after a file's fixed head), and only from where its bytes look
// random: a fixed text (a PEM header, a host name) has a shape a series
// of harmless numbers could follow.
func correlated(series [][]float64, values []string) (int, float64) {
	for _, s := range series {
		if len(s) < minSeries {
			continue
		}
		for vi, v := range values {
			for start := 0; start+minSeries <= len(v) && start <= maxSeriesStart; start += minSeries {
				w := v[start:]
				if entropy(w[:minSeries]) < minSeriesEntropy {
					continue
				}
				for off := 0; off+minSeries <= len(s); off++ {
					m := min(len(w), len(s)-off, maxCorrelated)
					if r := pearson(s[off:off+m], w[:m]); math.Abs(r) >= minCorrelation {
						return vi, r
					}
				}
			}
		}
	}
	return -1, 0
}

// pearson returns the correlation of x with the bytes of v (same length);
// 0 when either is constant.
func pearson(x []float64, v string) float64 {
	n := float64(len(x))
	var sx, sy, sxx, syy, sxy float64
	for i, a := range x {
		b := float64(v[i])
		sx += a
		sy += b
		sxx += a * a
		syy += b * b
		sxy += a * b
	}
	cov := sxy - sx*sy/n
	vx, vy := sxx-sx*sx/n, syy-sy*sy/n
	if vx <= 0 || vy <= 0 {
		return 0
	}
	return cov / math.Sqrt(vx*vy)
}

// numberText returns the text of a capture whose digits are read: its
// request target, headers but Host, and payload; a query name.
func numberText(e *trace.Event) string {
	if _, name := joinKey(e); name != "" {
		return name
	}
	var b strings.Builder
	b.WriteString(e.URI)
	for _, h := range e.Headers {
		if k, _, _ := strings.Cut(h, ":"); !strings.EqualFold(strings.TrimSpace(k), "host") {
			b.WriteString("\n" + h)
		}
	}
	b.WriteString("\n")
	b.Write(e.Data)
	return b.String()
}
