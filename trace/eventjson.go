package trace

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// A re-judge decodes every event of a stored trace, thousands of them, and
// a general JSON decoder spends most of that time matching keys by
// reflection and allocating the same few strings (kinds, phases, commands,
// working directories) again and again. eventDecoder reads the one shape
// Encode writes: an object of known keys, no whitespace, strings without
// escapes, integers. On anything else it gives up and Decode hands the line
// to the general decoder, so what a line decodes to does not depend on which
// decoder read it (FuzzEventDecoder checks this).
type eventDecoder struct {
	b   []byte
	i   int
	str map[string]string // strings seen in this trace, to share one copy
}

// maxInterned bounds the strings an eventDecoder shares.
const maxInterned = 4096

func newEventDecoder() *eventDecoder { return &eventDecoder{str: make(map[string]string)} }

// decode fills e, a zero Event, from line; false when line is not of the
// shape it reads (e is then partly filled).
func (d *eventDecoder) decode(line []byte, e *Event) bool {
	d.b, d.i = line, 0
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return d.i == len(d.b)
	}
	for {
		key, ok := d.raw()
		if !ok || !d.next(':') || !d.field(key, e) {
			return false
		}
		if d.next(',') {
			continue
		}
		return d.next('}') && d.i == len(d.b)
	}
}

func (d *eventDecoder) field(key []byte, e *Event) bool {
	var ok bool
	switch string(key) {
	case "seq":
		e.Seq, ok = d.uint(math.MaxUint64)
	case "time":
		var b []byte
		if b, ok = d.raw(); ok {
			ok = e.Time.UnmarshalText(b) == nil
		}
	case "phase":
		e.Phase, ok = d.shared()
	case "kind":
		var s string
		s, ok = d.shared()
		e.Kind = Kind(s)
	case "pid":
		e.PID, ok = d.uint32()
	case "tgid":
		e.TGID, ok = d.uint32()
	case "ppid":
		e.PPID, ok = d.uint32()
	case "uid":
		e.UID, ok = d.uint32()
	case "comm":
		e.Comm, ok = d.shared()
	case "cgroup":
		e.CgroupID, ok = d.uint(math.MaxUint64)
	case "start":
		e.Start, ok = d.uint(math.MaxUint64)
	case "path":
		e.Path, ok = d.string()
	case "path2":
		e.Path2, ok = d.string()
	case "argv":
		e.Argv, ok = d.strings()
	case "cwd":
		e.Cwd, ok = d.shared()
	case "stdio":
		var b []byte
		if b, ok = d.raw(); ok {
			ok = e.Stdio.UnmarshalText(b) == nil
		}
	case "flags":
		e.Flags, ok = d.int(math.MinInt64, math.MaxInt64)
	case "mode":
		e.Mode, ok = d.uint32()
	case "ret":
		e.Ret, ok = d.int(math.MinInt64, math.MaxInt64)
	case "dev":
		e.Dev, ok = d.uint(math.MaxUint64)
	case "ino":
		e.Ino, ok = d.uint(math.MaxUint64)
	case "path_unread":
		e.PathUnread, ok = d.bool()
	case "child_pid":
		e.ChildPID, ok = d.uint32()
	case "child_start":
		e.ChildStart, ok = d.uint(math.MaxUint64)
	case "exit_code":
		var n int64
		n, ok = d.int(math.MinInt32, math.MaxInt32)
		e.ExitCode = int32(n)
	case "signal":
		var n int64
		n, ok = d.int(math.MinInt32, math.MaxInt32)
		e.Signal = int32(n)
	case "family":
		var n uint64
		n, ok = d.uint(math.MaxUint16)
		e.Family = uint16(n)
	case "addr":
		e.Addr, ok = d.shared()
	case "port":
		var n uint64
		n, ok = d.uint(math.MaxUint16)
		e.Port = uint16(n)
	case "count":
		e.Count, ok = d.uint(math.MaxUint64)
	case "arg":
		e.Arg, ok = d.int(math.MinInt64, math.MaxInt64)
	case "target_pid":
		e.TargetPID, ok = d.uint32()
	case "name":
		e.Name, ok = d.string()
	case "qtype":
		e.QType, ok = d.shared()
	case "method":
		e.Method, ok = d.shared()
	case "uri":
		e.URI, ok = d.string()
	case "headers":
		e.Headers, ok = d.strings()
	case "data":
		var b []byte
		if b, ok = d.raw(); ok {
			data := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
			n, err := base64.StdEncoding.Decode(data, b)
			e.Data, ok = data[:n], err == nil
		}
	}
	return ok
}

// next consumes c when it comes next.
func (d *eventDecoder) next(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// raw reads a string and returns its bytes, which alias the line; false
// for a string with an escape, a control character or invalid UTF-8.
func (d *eventDecoder) raw() ([]byte, bool) {
	if !d.next('"') {
		return nil, false
	}
	n := bytes.IndexByte(d.b[d.i:], '"')
	if n < 0 {
		return nil, false
	}
	s := d.b[d.i : d.i+n]
	d.i += n + 1
	if bytes.IndexByte(s, '\\') >= 0 {
		return nil, false
	}
	if printableASCII(s) {
		return s, true
	}
	for _, c := range s {
		if c < 0x20 {
			return nil, false
		}
	}
	return s, utf8.Valid(s)
}

// printableASCII reports whether every byte of s is in 0x20-0x7f, eight
// bytes at a time.
func printableASCII(s []byte) bool {
	const lows, highs = 0x2020202020202020, 0x8080808080808080
	for ; len(s) >= 8; s = s[8:] {
		w := binary.LittleEndian.Uint64(s)
		// a byte below 0x20 borrows into its high bit; a byte from 0x80 has it
		if ((w-lows)|w)&highs != 0 {
			return false
		}
	}
	for _, c := range s {
		if c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}

func (d *eventDecoder) string() (string, bool) {
	b, ok := d.raw()
	return string(b), ok
}

// shared reads a string that recurs through a trace and returns the copy
// seen first.
func (d *eventDecoder) shared() (string, bool) {
	b, ok := d.raw()
	if !ok {
		return "", false
	}
	if s, ok := d.str[string(b)]; ok {
		return s, true
	}
	s := string(b)
	if len(d.str) < maxInterned {
		d.str[s] = s
	}
	return s, true
}

func (d *eventDecoder) strings() ([]string, bool) {
	if !d.next('[') {
		return nil, false
	}
	out := []string{}
	if d.next(']') {
		return out, true
	}
	for {
		s, ok := d.string()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if d.next(',') {
			continue
		}
		return out, d.next(']')
	}
}

func (d *eventDecoder) bool() (bool, bool) {
	for _, lit := range []string{"true", "false"} {
		if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
			d.i += len(lit)
			return lit == "true", true
		}
	}
	return false, false
}

// uint reads a JSON integer of at most max; false for a sign, fraction,
// exponent, leading zero or overflow.
func (d *eventDecoder) uint(max uint64) (uint64, bool) {
	start := d.i
	var n uint64
	for ; d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9'; d.i++ {
		digit := uint64(d.b[d.i] - '0')
		if n > (max-digit)/10 {
			return 0, false
		}
		n = n*10 + digit
	}
	switch {
	case d.i == start, d.b[start] == '0' && d.i-start > 1:
		return 0, false
	case d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E'):
		return 0, false
	}
	return n, true
}

func (d *eventDecoder) uint32() (uint32, bool) {
	n, ok := d.uint(math.MaxUint32)
	return uint32(n), ok
}

func (d *eventDecoder) int(min, max int64) (int64, bool) {
	if d.next('-') {
		n, ok := d.uint(uint64(-(min + 1)) + 1)
		return -int64(n-1) - 1, ok && n > 0
	}
	n, ok := d.uint(uint64(max))
	return int64(n), ok
}
