package proxy

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// pypiFeedName is the name under which the PyPI changelog's serial is
// kept in the store.
const pypiFeedName = "pypi-changelog"

// Monitor follows the index's changelog (MonitorConfig.Changes is its
// XML-RPC endpoint) until ctx ends, as Server.Monitor follows npm's
// changes feed: each changed project the filter selects has its page
// fetched afresh and the analysis of every held version queued at feed
// priority, from the bytes the firewall fetched. The changelog's serial
// is stored after each batch, so a restart resumes with no gap; a
// changelog never followed starts at its last serial.
//
// The changelog (changelog_since_serial, the method mirrors replicate
// by) is the index's one feed with a position to resume from: its RSS
// feeds list only the newest few dozen uploads.
func (s *PyPIServer) Monitor(ctx context.Context, cfg MonitorConfig) error {
	return s.monitor(ctx, cfg, pypiFeedName, xmlrpcChangelog{s: s, url: cfg.Changes}, s.docs.refresh, s.docs.sweep)
}

// xmlrpcChangelog is a PyPI index's changelog over XML-RPC:
// changelog_last_serial() and changelog_since_serial(serial), whose
// entries are [name, version, timestamp, action, serial].
type xmlrpcChangelog struct {
	s   *PyPIServer
	url string
}

func (f xmlrpcChangelog) start(ctx context.Context) (string, error) {
	v, err := f.call(ctx, "changelog_last_serial")
	if err != nil {
		return "", err
	}
	n, err := v.int()
	if err != nil {
		return "", fmt.Errorf("changelog_last_serial: %w", err)
	}
	return strconv.FormatInt(n, 10), nil
}

func (f xmlrpcChangelog) next(ctx context.Context, pos string) ([]string, string, bool, error) {
	since, err := strconv.ParseInt(pos, 10, 64)
	if err != nil {
		return nil, "", false, fmt.Errorf("changelog position %q: %w", pos, err)
	}
	v, err := f.call(ctx, "changelog_since_serial", since)
	if err != nil {
		return nil, "", false, err
	}
	if v.Array == nil {
		return nil, "", false, fmt.Errorf("changelog_since_serial: not an array")
	}
	last, seen := since, map[string]bool{}
	var names []string
	for _, e := range v.Array.Values {
		if e.Array == nil || len(e.Array.Values) < 5 {
			return nil, "", false, fmt.Errorf("changelog_since_serial: an entry is not [name, version, time, action, serial]")
		}
		serial, err := e.Array.Values[4].int()
		if err != nil {
			return nil, "", false, fmt.Errorf("changelog_since_serial: serial: %w", err)
		}
		last = max(last, serial)
		name, action := e.Array.Values[0].str(), e.Array.Values[3].str()
		if strings.HasPrefix(action, "remove") || seen[name] {
			continue // nothing new to analyse, or already in this batch
		}
		seen[name] = true
		names = append(names, name)
	}
	// The index answers a bounded batch: one that moved on may have more.
	return names, strconv.FormatInt(last, 10), last != since, nil
}

// xmlValue is an XML-RPC value: a string (typed or bare), an integer or
// an array of values.
type xmlValue struct {
	String *string `xml:"string"`
	Int    *string `xml:"int"`
	I4     *string `xml:"i4"`
	I8     *string `xml:"i8"`
	Array  *struct {
		Values []xmlValue `xml:"data>value"`
	} `xml:"array"`
	Text string `xml:",chardata"`
}

func (v xmlValue) str() string {
	if v.String != nil {
		return *v.String
	}
	return strings.TrimSpace(v.Text)
}

func (v xmlValue) int() (int64, error) {
	for _, s := range []*string{v.Int, v.I4, v.I8} {
		if s != nil {
			return strconv.ParseInt(strings.TrimSpace(*s), 10, 64)
		}
	}
	return 0, fmt.Errorf("not an integer")
}

// call makes an XML-RPC call with integer parameters.
func (f xmlrpcChangelog) call(ctx context.Context, method string, params ...int64) (xmlValue, error) {
	var body bytes.Buffer
	body.WriteString(`<?xml version="1.0"?><methodCall><methodName>` + method + `</methodName><params>`)
	for _, p := range params {
		fmt.Fprintf(&body, "<param><value><int>%d</int></value></param>", p)
	}
	body.WriteString(`</params></methodCall>`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, &body)
	if err != nil {
		return xmlValue{}, err
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := f.s.cfg.Client.Do(req)
	if err != nil {
		return xmlValue{}, fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return xmlValue{}, fmt.Errorf("%s: %s", method, resp.Status)
	}
	var out struct {
		Value *xmlValue `xml:"params>param>value"`
		Fault *xmlValue `xml:"fault>value"`
	}
	if err := xml.NewDecoder(io.LimitReader(resp.Body, maxPackument)).Decode(&out); err != nil {
		return xmlValue{}, fmt.Errorf("%s: %w", method, err)
	}
	switch {
	case out.Fault != nil:
		return xmlValue{}, fmt.Errorf("%s: the index answered a fault", method)
	case out.Value == nil:
		return xmlValue{}, fmt.Errorf("%s: no value in the answer", method)
	}
	return *out.Value, nil
}
