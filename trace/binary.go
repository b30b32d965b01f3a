package trace

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	json "github.com/goccy/go-json"
)

// The binary form of a stored trace is what the farm keeps: a re-judge
// decodes every event of a trace, and reading JSON is most of its cost.
// It starts with binaryMagic (a NUL, which no JSONL line starts with) and
// is a sequence of frames, each a type byte and its body:
//
//	'R' uvarint length, then a record as JSON (the same records as JSONL)
//	'E' an event: a uvarint mask of the fields present (bit i for field i
//	    in the order of Event's declaration, zero fields left out), then
//	    each present field: integers as uvarints (signed ones zigzagged),
//	    Time as Unix seconds (zigzag) and nanoseconds, strings as a
//	    reference to the trace's string table, Argv and Headers as a count
//	    and that many strings, Data as a length and its bytes.
//
// A string reference is a uvarint: 0 for a new string (its length and
// bytes follow), which joins the table while it has fewer than
// maxTableStrings entries; n for the table's entry n-1. Phases, kinds,
// commands, working directories and repeated paths then cost a byte or
// two each. Decode, DecodeEvents, DecodePlants and EventReader read both
// forms; Encode writes JSONL (the CLI's -trace file, for people),
// EncodeBinary the binary form.
const binaryMagic = "\x00fumehood-trace-1\n"

// maxTableStrings bounds a binary trace's string table.
const maxTableStrings = 1 << 20

const (
	frameRecord = 'R'
	frameEvent  = 'E'
)

// Bits of an event's field mask, in the order of Event's fields.
const (
	fSeq = 1 << iota
	fTime
	fPhase
	fKind
	fPID
	fTGID
	fPPID
	fUID
	fComm
	fCgroupID
	fStart
	fPath
	fPath2
	fArgv
	fCwd
	fStdio
	fFlags
	fMode
	fRet
	fDev
	fIno
	fPathUnread
	fChildPID
	fChildStart
	fExitCode
	fSignal
	fFamily
	fAddr
	fPort
	fCount
	fArg
	fTargetPID
	fName
	fQType
	fMethod
	fURI
	fHeaders
	fData
)

// EncodeBinary writes t to w in the binary form: the same records as
// Encode, in the same places, and the events.
func EncodeBinary(w io.Writer, t *Trace) error {
	enc := binaryEncoder{w: bufio.NewWriter(w), table: make(map[string]uint64)}
	enc.w.WriteString(binaryMagic)
	if len(t.Phases) > 0 {
		if err := enc.record(record{Record: recordPhases, Phases: t.Phases, Events: len(t.Events)}); err != nil {
			return fmt.Errorf("encode phases: %w", err)
		}
	}
	if t.Previous != nil {
		if err := enc.record(record{Record: recordPrevious, Previous: t.Previous}); err != nil {
			return fmt.Errorf("encode previous: %w", err)
		}
	}
	for i := range t.Events {
		enc.event(&t.Events[i])
	}
	if len(t.Processes) > 0 {
		if err := enc.record(record{Record: recordProcesses, Processes: t.Processes}); err != nil {
			return fmt.Errorf("encode processes: %w", err)
		}
	}
	return enc.w.Flush()
}

type binaryEncoder struct {
	w     *bufio.Writer
	buf   []byte
	table map[string]uint64
}

func (enc *binaryEncoder) record(r record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	enc.w.WriteByte(frameRecord)
	enc.uint(uint64(len(b)))
	enc.w.Write(b)
	return nil
}

func (enc *binaryEncoder) uint(n uint64) {
	enc.buf = binary.AppendUvarint(enc.buf[:0], n)
	enc.w.Write(enc.buf)
}

func (enc *binaryEncoder) int(n int64) {
	enc.buf = binary.AppendVarint(enc.buf[:0], n)
	enc.w.Write(enc.buf)
}

func (enc *binaryEncoder) string(s string) {
	if n, ok := enc.table[s]; ok {
		enc.uint(n)
		return
	}
	enc.uint(0)
	enc.uint(uint64(len(s)))
	enc.w.WriteString(s)
	if len(enc.table) < maxTableStrings {
		enc.table[s] = uint64(len(enc.table) + 1)
	}
}

func (enc *binaryEncoder) strings(ss []string) {
	enc.uint(uint64(len(ss)))
	for _, s := range ss {
		enc.string(s)
	}
}

func (enc *binaryEncoder) event(e *Event) {
	var m uint64
	set := func(bit uint64, present bool) {
		if present {
			m |= bit
		}
	}
	set(fSeq, e.Seq != 0)
	set(fTime, !e.Time.IsZero())
	set(fPhase, e.Phase != "")
	set(fKind, e.Kind != "")
	set(fPID, e.PID != 0)
	set(fTGID, e.TGID != 0)
	set(fPPID, e.PPID != 0)
	set(fUID, e.UID != 0)
	set(fComm, e.Comm != "")
	set(fCgroupID, e.CgroupID != 0)
	set(fStart, e.Start != 0)
	set(fPath, e.Path != "")
	set(fPath2, e.Path2 != "")
	set(fArgv, len(e.Argv) > 0)
	set(fCwd, e.Cwd != "")
	set(fStdio, e.Stdio != 0)
	set(fFlags, e.Flags != 0)
	set(fMode, e.Mode != 0)
	set(fRet, e.Ret != 0)
	set(fDev, e.Dev != 0)
	set(fIno, e.Ino != 0)
	set(fPathUnread, e.PathUnread)
	set(fChildPID, e.ChildPID != 0)
	set(fChildStart, e.ChildStart != 0)
	set(fExitCode, e.ExitCode != 0)
	set(fSignal, e.Signal != 0)
	set(fFamily, e.Family != 0)
	set(fAddr, e.Addr != "")
	set(fPort, e.Port != 0)
	set(fCount, e.Count != 0)
	set(fArg, e.Arg != 0)
	set(fTargetPID, e.TargetPID != 0)
	set(fName, e.Name != "")
	set(fQType, e.QType != "")
	set(fMethod, e.Method != "")
	set(fURI, e.URI != "")
	set(fHeaders, len(e.Headers) > 0)
	set(fData, len(e.Data) > 0)

	enc.w.WriteByte(frameEvent)
	enc.uint(m)
	has := func(bit uint64) bool { return m&bit != 0 }
	if has(fSeq) {
		enc.uint(e.Seq)
	}
	if has(fTime) {
		enc.int(e.Time.Unix())
		enc.uint(uint64(e.Time.Nanosecond()))
	}
	if has(fPhase) {
		enc.string(e.Phase)
	}
	if has(fKind) {
		enc.string(string(e.Kind))
	}
	for _, f := range []struct {
		bit uint64
		v   uint64
	}{{fPID, uint64(e.PID)}, {fTGID, uint64(e.TGID)}, {fPPID, uint64(e.PPID)}, {fUID, uint64(e.UID)}} {
		if has(f.bit) {
			enc.uint(f.v)
		}
	}
	if has(fComm) {
		enc.string(e.Comm)
	}
	if has(fCgroupID) {
		enc.uint(e.CgroupID)
	}
	if has(fStart) {
		enc.uint(e.Start)
	}
	if has(fPath) {
		enc.string(e.Path)
	}
	if has(fPath2) {
		enc.string(e.Path2)
	}
	if has(fArgv) {
		enc.strings(e.Argv)
	}
	if has(fCwd) {
		enc.string(e.Cwd)
	}
	if has(fStdio) {
		enc.uint(uint64(e.Stdio))
	}
	if has(fFlags) {
		enc.int(e.Flags)
	}
	if has(fMode) {
		enc.uint(uint64(e.Mode))
	}
	if has(fRet) {
		enc.int(e.Ret)
	}
	if has(fDev) {
		enc.uint(e.Dev)
	}
	if has(fIno) {
		enc.uint(e.Ino)
	}
	if has(fChildPID) {
		enc.uint(uint64(e.ChildPID))
	}
	if has(fChildStart) {
		enc.uint(e.ChildStart)
	}
	if has(fExitCode) {
		enc.int(int64(e.ExitCode))
	}
	if has(fSignal) {
		enc.int(int64(e.Signal))
	}
	if has(fFamily) {
		enc.uint(uint64(e.Family))
	}
	if has(fAddr) {
		enc.string(e.Addr)
	}
	if has(fPort) {
		enc.uint(uint64(e.Port))
	}
	if has(fCount) {
		enc.uint(e.Count)
	}
	if has(fArg) {
		enc.int(e.Arg)
	}
	if has(fTargetPID) {
		enc.uint(uint64(e.TargetPID))
	}
	for _, f := range []struct {
		bit uint64
		s   string
	}{{fName, e.Name}, {fQType, e.QType}, {fMethod, e.Method}, {fURI, e.URI}} {
		if has(f.bit) {
			enc.string(f.s)
		}
	}
	if has(fHeaders) {
		enc.strings(e.Headers)
	}
	if has(fData) {
		enc.uint(uint64(len(e.Data)))
		enc.w.Write(e.Data)
	}
}

// errCorrupt is a binary trace that does not decode.
var errCorrupt = errors.New("corrupt binary trace")

// binaryDecoder reads the frames of a binary trace, held in memory,
// after its magic. Its readers panic with errCorrupt, which next
// recovers.
type binaryDecoder struct {
	b     []byte
	i     int
	table []string
	frame int // frames read, for errors
}

func (d *binaryDecoder) uint() uint64 {
	n, k := binary.Uvarint(d.b[d.i:])
	if k <= 0 {
		panic(errCorrupt)
	}
	d.i += k
	return n
}

func (d *binaryDecoder) int() int64 {
	n, k := binary.Varint(d.b[d.i:])
	if k <= 0 {
		panic(errCorrupt)
	}
	d.i += k
	return n
}

func (d *binaryDecoder) uint32() uint32 {
	n := d.uint()
	if n > math.MaxUint32 {
		panic(errCorrupt)
	}
	return uint32(n)
}

func (d *binaryDecoder) int32() int32 {
	n := d.int()
	if n < math.MinInt32 || n > math.MaxInt32 {
		panic(errCorrupt)
	}
	return int32(n)
}

func (d *binaryDecoder) uint16() uint16 {
	n := d.uint()
	if n > math.MaxUint16 {
		panic(errCorrupt)
	}
	return uint16(n)
}

// raw reads a length and returns that many bytes, which alias the trace.
func (d *binaryDecoder) raw() []byte {
	n := d.uint()
	if n > uint64(len(d.b)-d.i) {
		panic(errCorrupt)
	}
	b := d.b[d.i : d.i+int(n)]
	d.i += int(n)
	return b
}

func (d *binaryDecoder) string() string {
	ref := d.uint()
	if ref > 0 {
		if ref > uint64(len(d.table)) {
			panic(errCorrupt)
		}
		return d.table[ref-1]
	}
	s := string(d.raw())
	if len(d.table) < maxTableStrings {
		d.table = append(d.table, s)
	}
	return s
}

func (d *binaryDecoder) strings() []string {
	n := d.uint()
	if n == 0 || n > uint64(len(d.b)-d.i) {
		panic(errCorrupt) // each string takes a byte at least
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.string()
	}
	return out
}

// event decodes the body of an event frame into e, a zero Event.
func (d *binaryDecoder) event(e *Event) {
	m := d.uint()
	if m >= fData<<1 {
		panic(errCorrupt) // a field this version does not know
	}
	has := func(bit uint64) bool { return m&bit != 0 }
	if has(fSeq) {
		e.Seq = d.uint()
	}
	if has(fTime) {
		sec, nsec := d.int(), d.uint()
		if nsec >= 1e9 {
			panic(errCorrupt)
		}
		e.Time = time.Unix(sec, int64(nsec)).UTC()
	}
	if has(fPhase) {
		e.Phase = d.string()
	}
	if has(fKind) {
		e.Kind = Kind(d.string())
	}
	for _, f := range []struct {
		bit uint64
		dst *uint32
	}{{fPID, &e.PID}, {fTGID, &e.TGID}, {fPPID, &e.PPID}, {fUID, &e.UID}} {
		if has(f.bit) {
			*f.dst = d.uint32()
		}
	}
	if has(fComm) {
		e.Comm = d.string()
	}
	if has(fCgroupID) {
		e.CgroupID = d.uint()
	}
	if has(fStart) {
		e.Start = d.uint()
	}
	if has(fPath) {
		e.Path = d.string()
	}
	if has(fPath2) {
		e.Path2 = d.string()
	}
	if has(fArgv) {
		e.Argv = d.strings()
	}
	if has(fCwd) {
		e.Cwd = d.string()
	}
	if has(fStdio) {
		e.Stdio = Stdio(d.uint16())
	}
	if has(fFlags) {
		e.Flags = d.int()
	}
	if has(fMode) {
		e.Mode = d.uint32()
	}
	if has(fRet) {
		e.Ret = d.int()
	}
	if has(fDev) {
		e.Dev = d.uint()
	}
	if has(fIno) {
		e.Ino = d.uint()
	}
	e.PathUnread = has(fPathUnread)
	if has(fChildPID) {
		e.ChildPID = d.uint32()
	}
	if has(fChildStart) {
		e.ChildStart = d.uint()
	}
	if has(fExitCode) {
		e.ExitCode = d.int32()
	}
	if has(fSignal) {
		e.Signal = d.int32()
	}
	if has(fFamily) {
		e.Family = d.uint16()
	}
	if has(fAddr) {
		e.Addr = d.string()
	}
	if has(fPort) {
		e.Port = d.uint16()
	}
	if has(fCount) {
		e.Count = d.uint()
	}
	if has(fArg) {
		e.Arg = d.int()
	}
	if has(fTargetPID) {
		e.TargetPID = d.uint32()
	}
	for _, f := range []struct {
		bit uint64
		dst *string
	}{{fName, &e.Name}, {fQType, &e.QType}, {fMethod, &e.Method}, {fURI, &e.URI}} {
		if has(f.bit) {
			*f.dst = d.string()
		}
	}
	if has(fHeaders) {
		e.Headers = d.strings()
	}
	if has(fData) {
		e.Data = bytes.Clone(d.raw())
	}
}

func (d *binaryDecoder) where() string { return fmt.Sprintf("trace frame %d", d.frame) }

// next reads the next frame: a record (rec, aliasing the trace) or an
// event (into e, a zero Event); io.EOF after the last.
func (d *binaryDecoder) next(e *Event) (rec []byte, err error) {
	if d.i == len(d.b) {
		return nil, io.EOF
	}
	d.frame++
	defer func() {
		if p := recover(); p != nil {
			if p != errCorrupt { //nolint:errorlint // the sentinel itself is panicked
				panic(p)
			}
			rec, err = nil, fmt.Errorf("%s: %w", d.where(), errCorrupt)
		}
	}()
	c := d.b[d.i]
	d.i++
	switch c {
	case frameRecord:
		return d.raw(), nil
	case frameEvent:
		d.event(e)
		return nil, nil
	}
	panic(errCorrupt)
}

// isBinary reports whether br starts with the binary form's magic.
func isBinary(br *bufio.Reader) bool {
	b, _ := br.Peek(len(binaryMagic))
	return bytes.Equal(b, []byte(binaryMagic))
}
