package trace

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	json "github.com/goccy/go-json"
)

// MaxLine is the longest event line Decode accepts; a record line (the
// process table of a large build holds thousands of processes) may be up
// to MaxRecord.
const (
	MaxLine   = 1 << 20
	MaxRecord = 256 << 20
)

// A stored trace is JSONL: one event a line, and records that are not
// events, each a line starting with recordPrefix: the phase metadata
// before the events, the process table after them.
const recordPrefix = `{"record":`

// Record names.
const (
	recordPhases    = "phases"
	recordProcesses = "processes"
	recordPrevious  = "previous"
)

// maxPresized bounds the events Decode allocates up front for the count a
// phases record gives, whatever a corrupt record claims.
const maxPresized = 1 << 20

// record is a line of a stored trace that is not an event.
type record struct {
	Record    string      `json:"record"`
	Phases    []PhaseInfo `json:"phases,omitempty"`
	Processes []*Process  `json:"processes,omitempty"`
	Previous  *Previous   `json:"previous,omitempty"`
	// Events is, in the phases record, the number of events in the
	// trace, so that Decode allocates them once.
	Events int `json:"events,omitempty"`
}

// IsRecord reports whether a line of a stored trace is a record (phase
// metadata, the process table) rather than an event.
func IsRecord(line []byte) bool { return bytes.HasPrefix(line, []byte(recordPrefix)) }

// Encode writes t to w as JSONL: its phase metadata record (with the
// number of events), its previous version record, one event a line, and
// its process table record; records t lacks are left out, so a trace of
// events alone is written as events alone.
func Encode(w io.Writer, t *Trace) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if len(t.Phases) > 0 {
		if err := enc.Encode(record{Record: recordPhases, Phases: t.Phases, Events: len(t.Events)}); err != nil {
			return fmt.Errorf("encode phases: %w", err)
		}
	}
	if t.Previous != nil {
		if err := enc.Encode(record{Record: recordPrevious, Previous: t.Previous}); err != nil {
			return fmt.Errorf("encode previous: %w", err)
		}
	}
	for i := range t.Events {
		if err := enc.Encode(&t.Events[i]); err != nil {
			return fmt.Errorf("encode event %d: %w", t.Events[i].Seq, err)
		}
	}
	if len(t.Processes) > 0 {
		if err := enc.Encode(record{Record: recordProcesses, Processes: t.Processes}); err != nil {
			return fmt.Errorf("encode processes: %w", err)
		}
	}
	return bw.Flush()
}

// What decode reads of a stored trace.
type decodeMode uint8

const (
	decodeAll    decodeMode = iota // records and events
	decodeEvents                   // without the process table
	decodePlants                   // records and the plant events that open the trace
)

// Decode reads a JSONL trace written by Encode.
func Decode(r io.Reader) (*Trace, error) { return decode(r, decodeAll) }

// DecodeEvents is Decode without the stored process table, which judging
// builds afresh from the events: re-judging a trace skips decoding it.
func DecodeEvents(r io.Reader) (*Trace, error) { return decode(r, decodeEvents) }

// DecodePlants reads the records before the events and the plant events
// that open the trace (what the sandbox planted before the package ran),
// and stops at the first other event: what comparing a later version's
// scripts with this one needs of it (the planted values), without the
// cost of the rest.
func DecodePlants(r io.Reader) (*Trace, error) { return decode(r, decodePlants) }

// tableRecord starts the line of the process table record.
var tableRecord = []byte(recordPrefix + `"` + recordProcesses + `"`)

func decode(r io.Reader, mode decodeMode) (*Trace, error) {
	lr := NewLineReader(r)
	t := &Trace{}
	dec := newEventDecoder()
	line := 0
	for {
		b, err := lr.Next()
		if err == io.EOF {
			return t, nil
		}
		line++
		if err != nil {
			return nil, fmt.Errorf("trace line %d: %w", line, err)
		}
		if len(b) == 0 {
			continue
		}
		if IsRecord(b) {
			if mode != decodeAll && bytes.HasPrefix(b, tableRecord) {
				continue
			}
			if err := t.decodeRecord(b, mode != decodePlants); err != nil {
				return nil, fmt.Errorf("trace line %d: %w", line, err)
			}
			continue
		}
		t.Events = append(t.Events, Event{})
		e := &t.Events[len(t.Events)-1]
		if !dec.decode(b, e) {
			*e = Event{}
			if err := json.Unmarshal(b, e); err != nil {
				return nil, fmt.Errorf("trace line %d: %w", line, err)
			}
		}
		if mode == decodePlants && e.Kind != KindPlant {
			t.Events = t.Events[:len(t.Events)-1]
			return t, nil
		}
	}
}

// errLineTooLong is a line past MaxLine (an event) or MaxRecord (a record).
var errLineTooLong = errors.New("line too long")

// LineReader reads the lines of a stored trace: events up to MaxLine,
// records up to MaxRecord.
type LineReader struct {
	br  *bufio.Reader
	buf []byte
}

// NewLineReader returns a LineReader reading r.
func NewLineReader(r io.Reader) *LineReader {
	return &LineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next line without its newline, valid until the next
// call; io.EOF after the last.
func (lr *LineReader) Next() ([]byte, error) {
	b, err := lr.br.ReadSlice('\n')
	if err == nil || err == io.EOF && len(b) > 0 {
		b = bytes.TrimSuffix(b, []byte("\n"))
		return b, lr.check(b)
	}
	if err != bufio.ErrBufferFull {
		return nil, err
	}
	lr.buf = append(lr.buf[:0], b...)
	for {
		if err := lr.check(lr.buf); err != nil {
			return nil, err
		}
		b, err = lr.br.ReadSlice('\n')
		lr.buf = append(lr.buf, b...)
		switch {
		case err == nil || err == io.EOF:
			b = bytes.TrimSuffix(lr.buf, []byte("\n"))
			return b, lr.check(b)
		case err != bufio.ErrBufferFull:
			return nil, err
		}
	}
}

// check fails a line, or the start of one, past its kind's limit.
func (lr *LineReader) check(b []byte) error {
	if len(b) > MaxLine && (len(b) > MaxRecord || !IsRecord(b)) {
		return errLineTooLong
	}
	return nil
}

// decodeRecord reads the record b into t; presize allocates the events
// the phases record counts.
func (t *Trace) decodeRecord(b []byte, presize bool) error {
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return err
	}
	switch rec.Record {
	case recordPhases:
		t.Phases = rec.Phases
		if presize && len(t.Events) == 0 && rec.Events > 0 {
			t.Events = make([]Event, 0, min(rec.Events, maxPresized))
		}
	case recordProcesses:
		t.Processes = rec.Processes
	case recordPrevious:
		t.Previous = rec.Previous
	}
	return nil // a record of a newer writer is skipped
}
