package ecosystem

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Line is one entry of a list file and its line number.
type Line struct {
	N    int
	Text string
}

// ReadList reads a list file of one entry per line (spec lists, watch
// lists): blank lines are skipped, and "#" starts a comment.
func ReadList(r io.Reader) ([]Line, error) {
	var out []Line
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, Line{N: n, Text: line})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read list: %w", err)
	}
	return out, nil
}
