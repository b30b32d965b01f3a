package api

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/internal/netpolicy"
	"github.com/fumehood/fumehood/osv"
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

// ListResponse answers GET /v1/analyses: summaries, or with full=1 the
// whole records. Next is the cursor of the next page ("" at the end);
// NextURL is that page's path and query, with a since duration resolved
// to the time it meant for the first page.
type ListResponse struct {
	Analyses []Summary       `json:"analyses"`
	Full     []*store.Record `json:"full,omitempty"`
	Next     string          `json:"next"`
	NextURL  string          `json:"next_url,omitempty"`
}

// Summary is one analysis in a list: what a row of results shows.
type Summary struct {
	ID       string                 `json:"id"`
	Package  analysis.Package       `json:"package"`
	Spec     string                 `json:"spec,omitempty"`
	Status   store.Status           `json:"status"`
	Error    string                 `json:"error,omitempty"`
	Verdict  analysis.Verdict       `json:"verdict,omitempty"`
	Score    int                    `json:"score"`
	Coverage analysis.CoverageLevel `json:"coverage,omitempty"`
	// Hits are the ids of the rules that hit, most severe first.
	Hits      []string  `json:"hits"`
	Rules     string    `json:"rules_version,omitempty"`
	BatchID   string    `json:"batch_id,omitempty"`
	Submitted time.Time `json:"submitted"`
	Updated   time.Time `json:"updated"`
}

// Summarize makes the summary of a record.
func Summarize(r *store.Record) Summary {
	s := Summary{ID: r.ID, Package: r.Package, Spec: r.Spec, Status: r.Status, Error: r.Error, Verdict: r.Verdict,
		Score: r.Score, Coverage: r.Coverage.Level, Hits: []string{}, Rules: r.Rules, BatchID: r.BatchID,
		Submitted: r.Submitted, Updated: r.Updated}
	for _, h := range r.Hits {
		s.Hits = append(s.Hits, h.Rule)
	}
	return s
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

// Version is one analysed version in a package's history: a registry
// version, or an uploaded artifact (source "upload", uploaded_by the
// token's name) that never replaces it; claims_registry marks an upload
// of a name and version the farm also holds from the registry.
type Version struct {
	ID             string           `json:"id"`
	Version        string           `json:"version"`
	Source         store.Source     `json:"source"`
	UploadedBy     string           `json:"uploaded_by,omitempty"`
	ClaimsRegistry bool             `json:"claims_registry,omitempty"`
	Digest         string           `json:"digest,omitempty"`
	Status         store.Status     `json:"status"`
	Verdict        analysis.Verdict `json:"verdict,omitempty"`
	Score          int              `json:"score"`
	Rules          string           `json:"rules_version,omitempty"`
	Submitted      time.Time        `json:"submitted"`
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
		return Submission{Ecosystem: eco, FileName: name, Upload: f, UploadedBy: tokenOf(r.Context()).Name, Force: force, Webhook: hook},
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
	doc, err := s.analysisDocument(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

// diffAgainst answers GET /v1/analyses/{id}/diff?against=ID: how {id}
// behaves differently from ID.
func (s *server) diffAgainst(w http.ResponseWriter, r *http.Request) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err == nil {
		err = checkParams(v, "against")
	}
	if err == nil && v.Get("against") == "" {
		err = badRequest("against is required: the id of the analysis to compare with")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.diff(r.Context(), v.Get("against"), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// diffPackages answers GET /v1/diff?from=&to=[&ecosystem=&name=].
func (s *server) diffPackages(w http.ResponseWriter, r *http.Request) {
	from, to, err := s.diffQuery(r.Context(), r.URL.RawQuery)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.diff(r.Context(), from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	resp, err := s.listAnalyses(r.Context(), r.URL.RawQuery, "/v1/analyses")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *server) versions(w http.ResponseWriter, r *http.Request) {
	if err := noParams(r); err != nil {
		s.fail(w, r, err)
		return
	}
	resp, err := s.packageHistory(r.Context(), r.PathValue("eco"), r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *server) trace(w http.ResponseWriter, r *http.Request) {
	resp, _, err := s.tracePage(r.Context(), r.PathValue("id"), r.URL.RawQuery)
	if err != nil {
		s.fail(w, r, err)
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
	_, tr, err := s.loadTrace(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := ProcessesResponse{Processes: tr.Processes}
	if resp.Processes == nil {
		resp.Processes = []*trace.Process{}
	}
	writeJSON(w, http.StatusOK, resp)
}

// report answers with what the analysis page shows: the process trees,
// network, files, scripts and timeline (see package report).
func (s *server) report(w http.ResponseWriter, r *http.Request) {
	if err := noParams(r); err != nil {
		s.fail(w, r, err)
		return
	}
	_, rep, err := s.analysisReport(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
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

// osvRecord answers GET /v1/analyses/{id}/osv: the OSV record of a
// malicious or suspicious analysis; 404 for a benign or unfinished one.
func (s *server) osvRecord(w http.ResponseWriter, r *http.Request) {
	if err := noParams(r); err != nil {
		s.fail(w, r, err)
		return
	}
	rec, err := s.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if rec.Status != store.Done {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("analysis %s is %s: an OSV record needs a finished analysis", rec.ID, rec.Status))
		return
	}
	o, err := osv.FromAnalysis(&rec.Analysis, rec.Updated)
	if errors.Is(err, osv.ErrBenign) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("analysis %s is benign: there is no finding to export as OSV", rec.ID))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}
