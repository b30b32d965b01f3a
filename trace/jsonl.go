package trace

import (
	"bufio"
	"fmt"
	json "github.com/goccy/go-json"
	"io"
)

// MaxLine is the longest JSONL line Decode accepts.
const MaxLine = 1 << 20

// Encode writes events to w as JSONL: one JSON object a line.
func Encode(w io.Writer, events []Event) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range events {
		if err := enc.Encode(&events[i]); err != nil {
			return fmt.Errorf("encode event %d: %w", events[i].Seq, err)
		}
	}
	return bw.Flush()
}

// Decode reads a JSONL trace written by Encode.
func Decode(r io.Reader) (*Trace, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	t := &Trace{}
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		t.Events = append(t.Events, Event{})
		if err := json.Unmarshal(b, &t.Events[len(t.Events)-1]); err != nil {
			return nil, fmt.Errorf("trace line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("trace line %d: %w", line+1, err)
	}
	return t, nil
}
