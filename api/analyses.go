package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/internal/netpolicy"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/trace"
)

// SubmitRequest is the JSON body of POST /v1/analyses.
type SubmitRequest struct {
	Spec    string `json:"spec"`
	Force   bool   `json:"force,omitempty"`
	Webhook string `json:"webhook,omitempty"`
}

// SubmitResponse answers POST /v1/analyses (202).
type SubmitResponse struct {
	ID        string `json:"id"`
	StatusURL string `json:"status_url"`
	Existing  bool   `json:"existing"`
}

// ListResponse answers GET /v1/analyses.
type ListResponse struct {
	Analyses []*store.Record `json:"analyses"`
	Next     string          `json:"next"`
}

// TraceResponse answers GET /v1/analyses/{id}/trace.
type TraceResponse struct {
	Events []trace.Event `json:"events"`
	Next   string        `json:"next"`
}

// ProcessesResponse answers GET /v1/analyses/{id}/processes: every
// process of the trace with its parent and its role (see trace.Table).
type ProcessesResponse struct {
	Processes []*trace.Process `json:"processes"`
}

// Version is one analysed version in a package's history.
type Version struct {
	ID        string           `json:"id"`
	Version   string           `json:"version"`
	Digest    string           `json:"digest,omitempty"`
	Status    store.Status     `json:"status"`
	Verdict   analysis.Verdict `json:"verdict,omitempty"`
	Score     int              `json:"score"`
	Rules     string           `json:"rules_version,omitempty"`
	Submitted time.Time        `json:"submitted"`
}

// PackageResponse answers GET /v1/packages/{eco}/{name}.
type PackageResponse struct {
	Ecosystem string    `json:"ecosystem"`
	Name      string    `json:"name"`
	Versions  []Version `json:"versions"`
}

// StatusURL is the path of an analysis.
func StatusURL(id string) string { return "/v1/analyses/" + url.PathEscape(id) }

func (s *server) submit(w http.ResponseWriter, r *http.Request) {
	sub, cleanup, err := s.readSubmission(w, r)
	defer cleanup()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rec, existing, err := s.Scheduler.Submit(r.Context(), sub)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", StatusURL(rec.ID))
	writeJSON(w, http.StatusAccepted, SubmitResponse{ID: rec.ID, StatusURL: StatusURL(rec.ID), Existing: existing})
}

// readSubmission reads a JSON spec submission or a multipart upload
// (fields artifact, ecosystem, and optionally force, webhook).
func (s *server) readSubmission(w http.ResponseWriter, r *http.Request) (Submission, func(), error) {
	nop := func() {}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil && r.Header.Get("Content-Type") != "" {
		return Submission{}, nop, badRequest("content type: %v", err)
	}
	switch mt {
	case "application/json", "":
		var req SubmitRequest
		if err := s.decodeJSON(w, r, &req); err != nil {
			return Submission{}, nop, err
		}
		if strings.TrimSpace(req.Spec) == "" {
			return Submission{}, nop, badRequest("spec is required (npm:NAME@VERSION or pypi:NAME==VERSION)")
		}
		if !strings.HasPrefix(req.Spec, "npm:") && !strings.HasPrefix(req.Spec, "pypi:") {
			// A path would name a file on the server.
			return Submission{}, nop, badRequest("spec must be npm:NAME@VERSION or pypi:NAME==VERSION; upload files as multipart")
		}
		if err := checkWebhook(req.Webhook); err != nil {
			return Submission{}, nop, err
		}
		return Submission{Spec: req.Spec, Force: req.Force, Webhook: req.Webhook}, nop, nil
	case "multipart/form-data":
		form, err := s.readMultipart(w, r, s.MaxUpload, "artifact", "ecosystem", "force", "webhook")
		if err != nil {
			return Submission{}, nop, err
		}
		cleanup := func() { form.RemoveAll() }
		files := form.File["artifact"]
		if len(files) != 1 {
			return Submission{}, cleanup, badRequest("multipart upload needs exactly one file field artifact")
		}
		eco := formValue(form.Value, "ecosystem")
		if eco != "npm" && eco != "pypi" {
			return Submission{}, cleanup, badRequest("multipart field ecosystem must be npm or pypi")
		}
		force, err := formBool(form.Value, "force")
		if err != nil {
			return Submission{}, cleanup, err
		}
		hook := formValue(form.Value, "webhook")
		if err := checkWebhook(hook); err != nil {
			return Submission{}, cleanup, err
		}
		f, err := files[0].Open()
		if err != nil {
			return Submission{}, cleanup, fmt.Errorf("open upload: %w", err)
		}
		name := path.Base(strings.ReplaceAll(files[0].Filename, `\`, "/"))
		if name == "." || name == "/" || name == "" {
			name = "artifact"
		}
		return Submission{Ecosystem: eco, FileName: name, Upload: f, Force: force, Webhook: hook},
			func() { f.Close(); form.RemoveAll() }, nil
	default:
		return Submission{}, nop, badRequest("content type must be application/json or multipart/form-data")
	}
}

func (s *server) get(w http.ResponseWriter, r *http.Request) {
	if err := noParams(r); err != nil {
		s.fail(w, r, err)
		return
	}
	rec, err := s.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	q, err := ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	recs, next, err := s.Store.List(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if recs == nil {
		recs = []*store.Record{}
	}
	writeJSON(w, http.StatusOK, ListResponse{Analyses: recs, Next: next})
}

func (s *server) versions(w http.ResponseWriter, r *http.Request) {
	if err := noParams(r); err != nil {
		s.fail(w, r, err)
		return
	}
	eco, name := r.PathValue("eco"), r.PathValue("name")
	if eco != "npm" && eco != "pypi" {
		s.fail(w, r, badRequest("ecosystem must be npm or pypi"))
		return
	}
	if name == "" || len(name) > maxParamLen {
		s.fail(w, r, badRequest("package name must be 1 to %d bytes", maxParamLen))
		return
	}
	name = ecosystem.CanonicalName(eco, name)
	recs, err := s.Store.Versions(r.Context(), eco, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := PackageResponse{Ecosystem: eco, Name: name, Versions: []Version{}}
	for _, rec := range recs {
		resp.Versions = append(resp.Versions, Version{
			ID: rec.ID, Version: rec.Package.Version, Digest: rec.Package.Digest, Status: rec.Status,
			Verdict: rec.Verdict, Score: rec.Score, Rules: rec.Rules, Submitted: rec.Submitted,
		})
	}
	writeJSON(w, http.StatusOK, resp)
}

// trace pages through a stored trace, reading the JSONL stream only as far
// as the page needs.
func (s *server) trace(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q, err := s.parseTraceQuery(id, r.URL.RawQuery)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rc, err := s.openTrace(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
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
			s.fail(w, r, fmt.Errorf("trace of %s: %w", id, err))
			return
		}
		if e.Seq <= q.After || (q.Kind != "" && e.Kind != q.Kind) || (q.PID != 0 && e.TGID != q.PID && e.PID != q.PID) {
			continue
		}
		if len(resp.Events) == q.Limit {
			resp.Next = s.traceCursor(id, q, resp.Events[len(resp.Events)-1].Seq)
			break
		}
		resp.Events = append(resp.Events, e)
	}
	if err := sc.Err(); err != nil {
		s.fail(w, r, fmt.Errorf("trace of %s: %w", id, err))
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// processes answers with the process table stored with the trace, or,
// for a trace stored before the table was, one built from its events
// with the default role policy.
func (s *server) processes(w http.ResponseWriter, r *http.Request) {
	if err := noParams(r); err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	rc, err := s.openTrace(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rc.Close()
	tr, err := trace.Decode(rc)
	if err != nil {
		s.fail(w, r, fmt.Errorf("trace of %s: %w", id, err))
		return
	}
	if tr.Processes == nil {
		tr.Processes = trace.BuildTable(tr, s.Rules.Policy()).Processes()
	}
	resp := ProcessesResponse{Processes: tr.Processes}
	if resp.Processes == nil {
		resp.Processes = []*trace.Process{}
	}
	writeJSON(w, http.StatusOK, resp)
}

// openTrace opens the stored trace of analysis id.
func (s *server) openTrace(r *http.Request, id string) (io.ReadCloser, error) {
	rec, err := s.Store.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if rec.TraceDigest == "" {
		return nil, fmt.Errorf("analysis %s has no trace (status %s): %w", id, rec.Status, store.ErrNotFound)
	}
	rc, err := s.Blobs.Get(r.Context(), rec.TraceDigest)
	if err != nil {
		return nil, fmt.Errorf("trace of %s: %w", id, err)
	}
	return rc, nil
}

// checkWebhook accepts "" or a well-formed receiver URL; the scheduler
// judges its address.
func checkWebhook(hook string) error {
	if hook == "" {
		return nil
	}
	if _, err := netpolicy.ParseURL(hook); err != nil {
		return badRequest("webhook: %v", err)
	}
	return nil
}

func formValue(v map[string][]string, k string) string {
	if vs := v[k]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func formBool(v map[string][]string, k string) (bool, error) {
	s := formValue(v, k)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badRequest("field %s must be true or false", k)
	}
	return b, nil
}
