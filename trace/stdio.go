package trace

import (
	"errors"
	"fmt"
	"strings"
)

// ErrStdio means a stdio text form could not be parsed.
var ErrStdio = errors.New("trace: bad stdio")

// FDType is what a standard descriptor of an exec'd program refers to.
// Its names are those of enum fdtype of bpf/c/probes.c in lower case
// (FDT_INET is "inet"; a test of package bpf checks them).
type FDType uint8

// Descriptor types. FDUnknown means not recorded (a failed exec attempt,
// a trace from before the probes recorded stdio).
const (
	FDUnknown FDType = iota
	FDClosed         // no file at that descriptor
	FDFile           // a regular file
	FDPipe           // a pipe or FIFO
	FDChar           // a character device: a tty, /dev/null
	FDUnix           // an AF_UNIX socket; libuv (node) gives children socketpairs, not pipes
	FDInet           // an AF_INET or AF_INET6 socket: a network connection
	FDSocket         // a socket of another family (netlink, packet, vsock, ...)
	FDOther          // a directory, block device or anonymous inode
)

var fdTypeNames = [...]string{
	FDUnknown: "", FDClosed: "closed", FDFile: "file", FDPipe: "pipe", FDChar: "char",
	FDUnix: "unix", FDInet: "inet", FDSocket: "socket", FDOther: "other",
}

// String returns the type's name ("inet"); "" for FDUnknown.
func (t FDType) String() string {
	if int(t) < len(fdTypeNames) {
		return fdTypeNames[t]
	}
	return fmt.Sprintf("fdtype(%d)", uint8(t))
}

// parseFDType is the inverse of FDType.String for known types.
func parseFDType(s string) (FDType, error) {
	for t, name := range fdTypeNames {
		if name == s && name != "" {
			return FDType(t), nil
		}
	}
	return FDUnknown, fmt.Errorf("descriptor type %q: %w", s, ErrStdio)
}

// Stdio is what descriptors 0, 1 and 2 of a program referred to when it
// was exec'd: their FDTypes packed four bits each, fd 0 lowest. The zero
// Stdio is "not recorded". Its text (and JSON) form is the three type
// names joined by commas: "inet,inet,char".
type Stdio uint16

// NewStdio packs the types of stdin, stdout and stderr.
func NewStdio(in, out, err FDType) Stdio {
	return Stdio(in&0xf) | Stdio(out&0xf)<<4 | Stdio(err&0xf)<<8
}

// FD returns the type of descriptor fd (0, 1 or 2).
func (s Stdio) FD(fd int) FDType { return FDType(s >> (4 * fd) & 0xf) }

// String returns the text form; "" for the zero Stdio.
func (s Stdio) String() string {
	if s == 0 {
		return ""
	}
	return s.FD(0).String() + "," + s.FD(1).String() + "," + s.FD(2).String()
}

// MarshalText returns the text form.
func (s Stdio) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the text form; "" is the zero Stdio.
func (s *Stdio) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = 0
		return nil
	}
	names := strings.Split(string(b), ",")
	if len(names) != 3 {
		return fmt.Errorf("%q is not three descriptor types: %w", b, ErrStdio)
	}
	var t [3]FDType
	for i, name := range names {
		var err error
		if t[i], err = parseFDType(name); err != nil {
			return err
		}
	}
	*s = NewStdio(t[0], t[1], t[2])
	return nil
}
