package api

import (
	"cmp"
	"context"
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
			ID: rec.ID, Version: rec.Package.Version, Source: rec.Source, UploadedBy: rec.UploadedBy,
			ClaimsRegistry: rec.ClaimsRegistry, Digest: rec.Package.Digest, Status: rec.Status,
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
// stored before the process table gets one built with the rules' policy.
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
		tr.Processes = trace.BuildTable(tr, s.Rules.Policy()).Processes()
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
	er, err := trace.NewEventReader(rc)
	if err != nil {
		return TraceResponse{}, q, fmt.Errorf("trace of %s: %w", id, err)
	}
	for {
		var e trace.Event
		err := er.Next(&e)
		if err == io.EOF {
			break
		}
		if err != nil {
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
	return resp, q, nil
}

// diff compares the behaviour of analysis from with that of to.
func (s *server) diff(ctx context.Context, from, to string) (analysis.Changes, error) {
	var bs [2]report.Behaviour
	for i, id := range []string{from, to} {
		rec, tr, err := s.loadTrace(ctx, id)
		if err != nil {
			return analysis.Changes{}, err
		}
		bs[i] = report.Summarise(&rec.Analysis, tr, report.Build(&rec.Analysis, tr))
	}
	return report.Diff(from, bs[0], to, bs[1]), nil
}

// diffQuery reads the two analyses a diff compares: from and to as
// analysis ids, or with ecosystem and name as versions of that package
// (its newest done analysis of each).
func (s *server) diffQuery(ctx context.Context, raw string) (from, to string, err error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return "", "", badRequest("query string: %v", err)
	}
	if err := checkParams(v, "from", "to", "ecosystem", "name"); err != nil {
		return "", "", err
	}
	from, to = v.Get("from"), v.Get("to")
	if from == "" || to == "" {
		return "", "", badRequest("from and to are required: analysis ids, or versions with ecosystem and name")
	}
	eco, name := v.Get("ecosystem"), v.Get("name")
	if eco == "" && name == "" {
		return from, to, nil
	}
	pkg, err := s.packageHistory(ctx, eco, name)
	if err != nil {
		return "", "", err
	}
	ids := map[string]string{}
	for _, ver := range pkg.Versions {
		if ver.Status == store.Done && ids[ver.Version] == "" {
			ids[ver.Version] = ver.ID
		}
	}
	for _, ver := range []*string{&from, &to} {
		id := ids[*ver]
		if id == "" {
			return "", "", fmt.Errorf("no finished analysis of %s:%s version %q: %w", eco, pkg.Name, *ver, store.ErrNotFound)
		}
		*ver = id
	}
	return from, to, nil
}

// previous returns the analysis a record's changes_from_previous compares
// against: the finished analysis of the highest version of its package
// below its own (report.Earlier, as the farm's rules see it), or "" when
// there is none.
func (s *server) previous(ctx context.Context, rec *store.Record) (string, error) {
	if rec.Status != store.Done || rec.Package.Name == "" || rec.Package.Version == "" {
		return "", nil
	}
	recs, err := s.Store.Versions(ctx, rec.Package.Ecosystem, rec.Package.Name)
	if err != nil {
		return "", err
	}
	if r := report.Earlier(recs, rec.Package.Ecosystem, rec.Package.Version); r != nil {
		return r.ID, nil
	}
	return "", nil
}

// AnalysisResponse answers GET /v1/analyses/{id}: the record and, when an
// earlier version of the package was analysed, how this one behaves
// differently from the newest such.
type AnalysisResponse struct {
	*store.Record
	ChangesFromPrevious *analysis.Changes `json:"changes_from_previous,omitempty"`
}

// analysisDocument returns the record of id with its changes from the
// previous version.
func (s *server) analysisDocument(ctx context.Context, id string) (AnalysisResponse, error) {
	rec, err := s.Store.Get(ctx, id)
	if err != nil {
		return AnalysisResponse{}, err
	}
	resp := AnalysisResponse{Record: rec}
	prev, err := s.previous(ctx, rec)
	if err != nil || prev == "" {
		return resp, err
	}
	c, err := s.diff(ctx, prev, rec.ID)
	if err != nil {
		return AnalysisResponse{}, err
	}
	resp.ChangesFromPrevious = &c
	return resp, nil
}
