package api

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/report"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/trace"
)

// The queries below answer both the JSON endpoints and the analyst pages:
// a page shows what its endpoint returns.

// listAnalyses runs a list query (the parameters of ParseQuery, since
// also as a duration back from now, and full=1 for whole records); base
// is the path its next_url starts with.
func (s *server) listAnalyses(ctx context.Context, raw, base string) (ListResponse, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return ListResponse{}, badRequest("query string: %v", err)
	}
	if err := checkParams(v, append(listParams, "full")...); err != nil {
		return ListResponse{}, err
	}
	full := false
	switch v.Get("full") {
	case "", "0":
	case "1":
		full = true
	default:
		return ListResponse{}, badRequest("full must be 1 or 0")
	}
	now := time.Now()
	q, err := parseQuery(v, func(s string) (time.Time, error) { return ParseSince(s, now) })
	if err != nil {
		return ListResponse{}, err
	}
	recs, next, err := s.Store.List(ctx, q)
	if err != nil {
		return ListResponse{}, err
	}
	resp := ListResponse{Analyses: []Summary{}, Next: next}
	for _, r := range recs {
		resp.Analyses = append(resp.Analyses, Summarize(r))
	}
	if full {
		resp.Full = recs
		if resp.Full == nil {
			resp.Full = []*store.Record{}
		}
	}
	if next != "" {
		q.Cursor = next
		nv := encodeQuery(q)
		if full {
			nv.Set("full", "1")
		}
		resp.NextURL = base + "?" + nv.Encode()
	}
	return resp, nil
}

// packageHistory returns every analysed version of a package.
func (s *server) packageHistory(ctx context.Context, eco, name string) (PackageResponse, error) {
	if eco != "npm" && eco != "pypi" {
		return PackageResponse{}, badRequest("ecosystem must be npm or pypi")
	}
	if name == "" || len(name) > maxParamLen {
		return PackageResponse{}, badRequest("package name must be 1 to %d bytes", maxParamLen)
	}
	name = ecosystem.CanonicalName(eco, name)
	recs, err := s.Store.Versions(ctx, eco, name)
	if err != nil {
		return PackageResponse{}, err
	}
	resp := PackageResponse{Ecosystem: eco, Name: name, Versions: []Version{}}
	for _, rec := range recs {
		resp.Versions = append(resp.Versions, Version{
			ID: rec.ID, Version: rec.Package.Version, Digest: rec.Package.Digest, Status: rec.Status,
			Verdict: rec.Verdict, Score: rec.Score, Rules: rec.Rules, Submitted: rec.Submitted,
		})
	}
	return resp, nil
}

// batchView returns a batch, its progress and its members, worst first.
func (s *server) batchView(ctx context.Context, id string) (BatchResponse, error) {
	b, p, err := s.Store.GetBatch(ctx, id)
	if err != nil {
		return BatchResponse{}, err
	}
	resp := BatchResponse{Batch: *b, Progress: p, Members: []Summary{}}
	q := store.Query{Batch: id, Limit: store.MaxLimit}
	for {
		recs, next, err := s.Store.List(ctx, q)
		if err != nil {
			return BatchResponse{}, err
		}
		for _, r := range recs {
			resp.Members = append(resp.Members, Summarize(r))
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	slices.SortStableFunc(resp.Members, func(a, b Summary) int {
		if c := cmp.Compare(severity(b), severity(a)); c != 0 {
			return c
		}
		return cmp.Compare(b.Score, a.Score)
	})
	return resp, nil
}

// severity orders members worst first: malicious, suspicious, failed,
// benign without coverage, benign, then those still pending.
func severity(s Summary) int {
	switch {
	case s.Status == store.Done && s.Verdict == analysis.Malicious:
		return 6
	case s.Status == store.Done && s.Verdict == analysis.Suspicious:
		return 5
	case s.Status == store.Failed:
		return 4
	case s.Status == store.Done && s.Coverage == analysis.CoverageNone:
		return 3
	case s.Status == store.Done:
		return 2
	}
	return 1
}

// loadTrace reads the record and the stored trace of analysis id; a trace
// stored before the process table gets one built with the default policy.
func (s *server) loadTrace(ctx context.Context, id string) (*store.Record, *trace.Trace, error) {
	rec, rc, err := s.openTrace(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	tr, err := trace.Decode(rc)
	if err != nil {
		return nil, nil, fmt.Errorf("trace of %s: %w", id, err)
	}
	if tr.Processes == nil {
		tr.Processes = trace.BuildTable(tr, trace.DefaultPolicy()).Processes()
	}
	return rec, tr, nil
}

// analysisReport returns the record of analysis id and its report.
func (s *server) analysisReport(ctx context.Context, id string) (*store.Record, *report.Report, error) {
	rec, tr, err := s.loadTrace(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return rec, report.Build(&rec.Analysis, tr), nil
}

// openTrace opens the stored trace of analysis id.
func (s *server) openTrace(ctx context.Context, id string) (*store.Record, io.ReadCloser, error) {
	rec, err := s.Store.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if rec.TraceDigest == "" {
		return nil, nil, fmt.Errorf("analysis %s has no trace (status %s): %w", id, rec.Status, store.ErrNotFound)
	}
	rc, err := s.Blobs.Get(ctx, rec.TraceDigest)
	if err != nil {
		return nil, nil, fmt.Errorf("trace of %s: %w", id, err)
	}
	return rec, rc, nil
}

// tracePage reads one page of a stored trace, decoding the JSONL stream
// only as far as the page needs. It also returns the query it read.
func (s *server) tracePage(ctx context.Context, id, raw string) (TraceResponse, traceQuery, error) {
	q, err := s.parseTraceQuery(ctx, id, raw)
	if err != nil {
		return TraceResponse{}, q, err
	}
	_, rc, err := s.openTrace(ctx, id)
	if err != nil {
		return TraceResponse{}, q, err
	}
	defer rc.Close()
	resp := TraceResponse{Events: []trace.Event{}}
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), trace.MaxLine)
	for sc.Scan() {
		b := sc.Bytes()
		if len(b) == 0 || trace.IsRecord(b) {
			continue
		}
		var e trace.Event
		if err := json.Unmarshal(b, &e); err != nil {
			return TraceResponse{}, q, fmt.Errorf("trace of %s: %w", id, err)
		}
		if e.Seq <= q.After || e.Seq < q.From || !q.match(&e) {
			continue
		}
		if len(resp.Events) == q.Limit {
			key, err := s.key(ctx, cursorKeyName)
			if err != nil {
				return TraceResponse{}, q, err
			}
			resp.Next = traceCursor(key, id, q, resp.Events[len(resp.Events)-1].Seq)
			break
		}
		resp.Events = append(resp.Events, e)
	}
	if err := sc.Err(); err != nil {
		return TraceResponse{}, q, fmt.Errorf("trace of %s: %w", id, err)
	}
	return resp, q, nil
}
