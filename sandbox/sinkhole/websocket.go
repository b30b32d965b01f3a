package sinkhole

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

const (
	// wsGUID is the constant RFC 6455 hashes with the client's key.
	wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	// maxFrames bounds the frames read from one WebSocket connection.
	maxFrames = 1000
	wsClose   = 0x8
)

var errFrameTooLong = errors.New("websocket frame too long")

// webSocket reports whether r asks to switch to the WebSocket protocol.
func (r *request) webSocket() bool {
	return r.wsKey != "" && strings.EqualFold(r.upgrade, "websocket")
}

// serveWebSocket accepts a WebSocket upgrade whose key is key and reads
// the client's frames until a close frame, the end of the connection or
// maxFrames, returning the first max bytes of their payloads. A client
// masks every frame with a 4-byte key carried in the frame itself (RFC
// 6455 5.3); the sinkhole removes it, as it terminates TLS, so that what
// the package sent is recorded as it was sent.
func serveWebSocket(w io.Writer, br *bufio.Reader, key string, max int) []byte {
	sum := sha1.Sum([]byte(key + wsGUID))
	accept := base64.StdEncoding.EncodeToString(sum[:])
	if _, err := fmt.Fprintf(w, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept); err != nil {
		return nil
	}
	var out bytes.Buffer
	for range maxFrames {
		opcode, payload, err := readFrame(br, max-out.Len())
		out.Write(payload)
		if err != nil || opcode == wsClose {
			break
		}
	}
	return out.Bytes()
}

// readFrame reads one frame from br and returns its opcode and the first
// keep bytes of its payload, unmasked; the rest of the payload is read and
// dropped (up to maxDrain).
func readFrame(br *bufio.Reader, keep int) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	opcode, masked := h[0]&0x0f, h[1]&0x80 != 0
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > maxDrain {
		return 0, nil, errFrameTooLong
	}
	var mask [4]byte
	if masked {
		if _, err := io.ReadFull(br, mask[:]); err != nil {
			return 0, nil, err
		}
	}
	keep = max(0, min(keep, int(n)))
	payload := make([]byte, keep)
	if _, err := io.ReadFull(br, payload); err != nil {
		return 0, nil, err
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i&3]
		}
	}
	if _, err := io.CopyN(io.Discard, br, int64(n)-int64(keep)); err != nil {
		return opcode, payload, err
	}
	return opcode, payload, nil
}
