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
	return encode(t, enc.w, enc.record, func(e *Event) error { enc.event(e); return nil })
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
	enc.buf = binary.AppendUvarint(append(enc.buf[:0], frameRecord), uint64(len(b)))
	enc.w.Write(enc.buf)
	enc.w.Write(b)
	return nil
}

// appendString appends the reference to s, and s itself when it is new
// to the table.
func (enc *binaryEncoder) appendString(b []byte, s string) []byte {
	if n, ok := enc.table[s]; ok {
		return binary.AppendUvarint(b, n)
	}
	if len(enc.table) < maxTableStrings {
		enc.table[s] = uint64(len(enc.table) + 1)
	}
	return append(binary.AppendUvarint(append(b, 0), uint64(len(s))), s...)
}

// event writes e's frame: the fields are appended to the frame's body as
// they are found present, then the mask they set goes before them.
func (enc *binaryEncoder) event(e *Event) {
	var m uint64
	b := enc.buf[:0]
	u := func(bit, v uint64) {
		if v != 0 {
			m |= bit
			b = binary.AppendUvarint(b, v)
		}
	}
	i := func(bit uint64, v int64) {
		if v != 0 {
			m |= bit
			b = binary.AppendVarint(b, v)
		}
	}
	str := func(bit uint64, s string) {
		if s != "" {
			m |= bit
			b = enc.appendString(b, s)
		}
	}
	strs := func(bit uint64, ss []string) {
		if len(ss) > 0 {
			m |= bit
			b = binary.AppendUvarint(b, uint64(len(ss)))
			for _, s := range ss {
				b = enc.appendString(b, s)
			}
		}
	}
	u(fSeq, e.Seq)
	if !e.Time.IsZero() {
		m |= fTime
		b = binary.AppendUvarint(binary.AppendVarint(b, e.Time.Unix()), uint64(e.Time.Nanosecond()))
	}
	str(fPhase, e.Phase)
	str(fKind, string(e.Kind))
	u(fPID, uint64(e.PID))
	u(fTGID, uint64(e.TGID))
	u(fPPID, uint64(e.PPID))
	u(fUID, uint64(e.UID))
	str(fComm, e.Comm)
	u(fCgroupID, e.CgroupID)
	u(fStart, e.Start)
	str(fPath, e.Path)
	str(fPath2, e.Path2)
	strs(fArgv, e.Argv)
	str(fCwd, e.Cwd)
	u(fStdio, uint64(e.Stdio))
	i(fFlags, e.Flags)
	u(fMode, uint64(e.Mode))
	i(fRet, e.Ret)
	u(fDev, e.Dev)
	u(fIno, e.Ino)
	if e.PathUnread {
		m |= fPathUnread
	}
	u(fChildPID, uint64(e.ChildPID))
	u(fChildStart, e.ChildStart)
	i(fExitCode, int64(e.ExitCode))
	i(fSignal, int64(e.Signal))
	u(fFamily, uint64(e.Family))
	str(fAddr, e.Addr)
	u(fPort, uint64(e.Port))
	u(fCount, e.Count)
	i(fArg, e.Arg)
	u(fTargetPID, uint64(e.TargetPID))
	str(fName, e.Name)
	str(fQType, e.QType)
	str(fMethod, e.Method)
	str(fURI, e.URI)
	strs(fHeaders, e.Headers)
	if len(e.Data) > 0 {
		m |= fData
		b = append(binary.AppendUvarint(b, uint64(len(e.Data))), e.Data...)
	}
	enc.buf = b
	var head [1 + binary.MaxVarintLen64]byte
	head[0] = frameEvent
	enc.w.Write(binary.AppendUvarint(head[:1], m))
	enc.w.Write(b)
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
