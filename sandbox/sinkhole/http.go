package sinkhole

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"github.com/fumehood/fumehood/trace"
)

const (
	maxHeaders     = 100     // header lines kept per request
	maxRequests    = 100     // requests served per connection
	maxDrain       = 8 << 20 // body bytes read (and dropped) past the head
	responseBody   = "<!DOCTYPE html>\n<html><head><title>OK</title></head><body>OK</body></html>\n"
	responseServer = "nginx"
)

var (
	errLineTooLong = errors.New("http line too long")
	errBadRequest  = errors.New("malformed http request")
)

// request is what the sinkhole keeps of one HTTP request.
type request struct {
	method, target, proto string
	headers               []string // "Key: value", in the order sent
	host                  string
	body                  []byte // the first headMax bytes
	close                 bool   // the connection ends after the response
	expect100             bool
	bodyLen               int64  // -1: chunked
	upgrade, wsKey        string // Upgrade and Sec-WebSocket-Key
}

func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errLineTooLong
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// readHead parses a request line and headers from br; lines longer than
// br's buffer are refused.
func readHead(br *bufio.Reader) (*request, error) {
	line, err := readLine(br)
	if err != nil {
		return nil, err
	}
	parts := strings.SplitN(line, " ", 3)
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "HTTP/") {
		return nil, fmt.Errorf("%w: request line %q", errBadRequest, line)
	}
	r := &request{method: parts[0], target: parts[1], proto: parts[2]}
	keepAlive := r.proto == "HTTP/1.1"
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(r.headers) < maxHeaders {
			r.headers = append(r.headers, k+": "+v)
		}
		switch strings.ToLower(k) {
		case "host":
			r.host = v
		case "content-length":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%w: content-length %q", errBadRequest, v)
			}
			r.bodyLen = n
		case "transfer-encoding":
			if strings.Contains(strings.ToLower(v), "chunked") {
				r.bodyLen = -1
			}
		case "connection":
			switch strings.ToLower(v) {
			case "close":
				keepAlive = false
			case "keep-alive":
				keepAlive = true
			}
		case "expect":
			r.expect100 = strings.EqualFold(v, "100-continue")
		case "upgrade":
			r.upgrade = v
		case "sec-websocket-key":
			r.wsKey = v
		}
	}
	r.close = !keepAlive
	return r, nil
}

// readBody keeps the first headMax bytes of the body and drains the rest
// up to maxDrain; past that the connection is closed after the response.
func (r *request) readBody(br *bufio.Reader) error {
	var body io.Reader
	switch {
	case r.bodyLen == 0:
		return nil
	case r.bodyLen < 0:
		body = httputil.NewChunkedReader(br)
	default:
		body = io.LimitReader(br, r.bodyLen)
	}
	var b bytes.Buffer
	if _, err := io.CopyN(&b, body, headMax); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	r.body = b.Bytes()
	n, err := io.CopyN(io.Discard, body, maxDrain)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if n == maxDrain {
		r.close = true
	}
	return nil
}

// serveHTTP records and answers the requests on one connection. sni names
// a request without a Host header inside TLS.
func (s *Sinkhole) serveHTTP(w io.Writer, br *bufio.Reader, f flow, sni string) {
	for range maxRequests {
		r, err := readHead(br)
		if err != nil {
			return
		}
		if r.expect100 && r.bodyLen != 0 {
			if _, err := io.WriteString(w, "HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
				return
			}
		}
		bodyErr := r.readBody(br)
		ws := bodyErr == nil && r.webSocket()
		if ws {
			// What the package sends after the upgrade is the body.
			r.body = append(r.body, serveWebSocket(w, br, r.wsKey, headMax-len(r.body))...)
		}
		name := r.host
		if name == "" {
			name = sni
		}
		s.rec.add(f, trace.Event{
			Kind:    trace.KindHTTP,
			Addr:    f.dst.Addr().String(),
			Port:    f.dst.Port(),
			Method:  r.method,
			Name:    name,
			URI:     r.target,
			Headers: r.headers,
			Data:    r.body,
		})
		if bodyErr != nil || ws {
			return
		}
		if _, err := io.WriteString(w, response(r, time.Now())); err != nil || r.close {
			return
		}
		// Like a web server, close a kept-alive connection that stays idle:
		// a client that never reads its answer (Node's keep-alive agent
		// with an unconsumed response) would otherwise keep its process
		// alive until the phase's time limit.
		if d, ok := w.(interface{ SetReadDeadline(time.Time) error }); ok {
			d.SetReadDeadline(time.Now().Add(idleTimeout)) //nolint:errcheck // best effort
		}
	}
}

// response renders the 200 OK answer to r.
func response(r *request, now time.Time) string {
	var b strings.Builder
	b.WriteString("HTTP/1.1 200 OK\r\n")
	fmt.Fprintf(&b, "Server: %s\r\n", responseServer)
	fmt.Fprintf(&b, "Date: %s\r\n", now.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT"))
	b.WriteString("Content-Type: text/html; charset=utf-8\r\n")
	fmt.Fprintf(&b, "Content-Length: %d\r\n", len(responseBody))
	if r.close {
		b.WriteString("Connection: close\r\n")
	} else {
		b.WriteString("Connection: keep-alive\r\n")
	}
	b.WriteString("\r\n")
	if r.method != "HEAD" {
		b.WriteString(responseBody)
	}
	return b.String()
}
