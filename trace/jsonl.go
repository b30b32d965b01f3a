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
	return encode(t, bw, func(r record) error { return enc.Encode(r) }, func(e *Event) error { return enc.Encode(e) })
}

// encode writes t's records before its events, its events and its
// records after them, in the order both forms keep, then flushes bw.
func encode(t *Trace, bw *bufio.Writer, rec func(record) error, event func(*Event) error) error {
	var head, tail []record
	if len(t.Phases) > 0 {
		head = append(head, record{Record: recordPhases, Phases: t.Phases, Events: len(t.Events)})
	}
	if t.Previous != nil {
		head = append(head, record{Record: recordPrevious, Previous: t.Previous})
	}
	if len(t.Processes) > 0 {
		tail = append(tail, record{Record: recordProcesses, Processes: t.Processes})
	}
	for _, r := range head {
		if err := rec(r); err != nil {
			return fmt.Errorf("encode %s: %w", r.Record, err)
		}
	}
	for i := range t.Events {
		if err := event(&t.Events[i]); err != nil {
			return fmt.Errorf("encode event %d: %w", t.Events[i].Seq, err)
		}
	}
	for _, r := range tail {
		if err := rec(r); err != nil {
			return fmt.Errorf("encode %s: %w", r.Record, err)
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
	src, err := newSource(r)
	if err != nil {
		return nil, err
	}
	t := &Trace{}
	var scratch Event
	for {
		// Decode in place while the events presized for the phases
		// record's count have room, so that an event is not copied.
		e, inPlace := &scratch, len(t.Events) < cap(t.Events)
		if inPlace {
			t.Events = t.Events[:len(t.Events)+1]
			e = &t.Events[len(t.Events)-1]
		} else {
			scratch = Event{}
		}
		rec, err := src.next(e)
		keep := err == nil && rec == nil && !(mode == decodePlants && e.Kind != KindPlant)
		if inPlace && !keep {
			*e = Event{}
			t.Events = t.Events[:len(t.Events)-1]
		}
		switch {
		case err == io.EOF:
			return t, nil
		case err != nil:
			return nil, err
		case rec != nil:
			if mode != decodeAll && bytes.HasPrefix(rec, tableRecord) {
				continue
			}
			if err := t.decodeRecord(rec, mode != decodePlants); err != nil {
				return nil, fmt.Errorf("%s: %w", src.where(), err)
			}
		case !keep:
			return t, nil // the first event after the plants
		case !inPlace:
			t.Events = append(t.Events, scratch)
		}
	}
}

// frames yields the records and events of a stored trace, of either
// form.
type frames interface {
	// next returns a record (its JSON, valid until the next call) or
	// decodes an event into e, a zero Event; io.EOF after the last.
	next(e *Event) (rec []byte, err error)
	// where names the position of the last frame, for errors.
	where() string
}

// newSource reads r as a binary trace when it starts with the binary
// form's magic (held in memory, where it decodes fastest), else as JSONL.
func newSource(r io.Reader) (frames, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if !isBinary(br) {
		return &lineSource{lr: lineReader{br: br}, dec: newEventDecoder()}, nil
	}
	b, err := io.ReadAll(br)
	if err != nil {
		return nil, err
	}
	return &binaryDecoder{b: b, i: len(binaryMagic)}, nil
}

// EventReader reads the events of a stored trace of either form one at a
// time, passing its records over.
type EventReader struct{ src frames }

// NewEventReader returns an EventReader reading r.
func NewEventReader(r io.Reader) (*EventReader, error) {
	src, err := newSource(r)
	if err != nil {
		return nil, err
	}
	return &EventReader{src: src}, nil
}

// Next decodes the next event into e; io.EOF after the last.
func (er *EventReader) Next(e *Event) error {
	for {
		*e = Event{}
		rec, err := er.src.next(e)
		if err != nil || rec == nil {
			return err
		}
	}
}

// lineSource reads JSONL.
type lineSource struct {
	lr   lineReader
	dec  *eventDecoder
	line int
}

func (s *lineSource) where() string { return fmt.Sprintf("trace line %d", s.line) }

func (s *lineSource) next(e *Event) ([]byte, error) {
	for {
		b, err := s.lr.next()
		if err == io.EOF {
			return nil, err
		}
		s.line++
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s: %w", s.where(), err)
		case len(b) == 0:
			continue
		case IsRecord(b):
			return b, nil
		}
		if !s.dec.decode(b, e) {
			*e = Event{}
			if err := json.Unmarshal(b, e); err != nil {
				return nil, fmt.Errorf("%s: %w", s.where(), err)
			}
		}
		return nil, nil
	}
}

// errLineTooLong is a line past MaxLine (an event) or MaxRecord (a record).
var errLineTooLong = errors.New("line too long")

// lineReader reads the lines of a stored trace: events up to MaxLine,
// records up to MaxRecord.
type lineReader struct {
	br  *bufio.Reader
	buf []byte
}

// next returns the next line without its newline, valid until the next
// call; io.EOF after the last.
func (lr *lineReader) next() ([]byte, error) {
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
func (lr *lineReader) check(b []byte) error {
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
