package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strings"

	"github.com/fumehood/fumehood/store"
)

// maxSpecs bounds the specs of one batch request.
const maxSpecs = 10000

// BatchCreateRequest is the JSON body of POST /v1/batches: exactly one of
// Lockfile (its text, named by LockfileName: package-lock.json,
// npm-shrinkwrap.json or requirements.txt), Specs, Rejudge or Rerun. A
// lockfile can also be uploaded as multipart field "lockfile" (with
// optional fields webhook and force).
type BatchCreateRequest struct {
	Lockfile     string       `json:"lockfile,omitempty"`
	LockfileName string       `json:"lockfile_name,omitempty"`
	Specs        []string     `json:"specs,omitempty"`
	Rejudge      *store.Query `json:"rejudge,omitempty"`
	Rerun        *store.Query `json:"rerun,omitempty"`
	Webhook      string       `json:"webhook,omitempty"`
	Force        bool         `json:"force,omitempty"`
}

// BatchResponse answers the batch endpoints: the batch, its progress and
// its members with their verdicts, worst first (malicious, suspicious,
// failed, benign without coverage, benign, pending; then by score).
// Members are the analyses created so far: while a lockfile batch fans
// out, Progress.Total can be ahead of them.
type BatchResponse struct {
	store.Batch
	Progress store.Progress `json:"progress"`
	Members  []Summary      `json:"members"`
}

func (s *server) createBatch(w http.ResponseWriter, r *http.Request) {
	req, err := s.readBatch(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if (req.Rejudge != nil || req.Rerun != nil) && rank(tokenOf(r.Context()).Role) < rank(store.RoleAdmin) {
		writeError(w, http.StatusForbidden, "forbidden", "re-judging or re-running stored analyses needs the admin role")
		return
	}
	b, err := s.Scheduler.SubmitBatch(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeBatch(w, r, b.ID, http.StatusAccepted)
}

func (s *server) readBatch(w http.ResponseWriter, r *http.Request) (BatchRequest, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var req BatchRequest
	switch mt {
	case "application/json", "":
		var body BatchCreateRequest
		if err := s.decodeJSON(w, r, &body); err != nil {
			return BatchRequest{}, err
		}
		req = BatchRequest{Specs: body.Specs, Rejudge: body.Rejudge, Rerun: body.Rerun, Webhook: body.Webhook, Force: body.Force}
		if body.Lockfile != "" {
			req.Lockfile, req.LockfileName = []byte(body.Lockfile), body.LockfileName
		}
	case "multipart/form-data":
		form, err := s.readMultipart(w, r, s.MaxBody, "lockfile", "webhook", "force")
		if err != nil {
			return BatchRequest{}, err
		}
		defer form.RemoveAll()
		files := form.File["lockfile"]
		if len(files) != 1 {
			return BatchRequest{}, badRequest("multipart batch needs exactly one file field lockfile")
		}
		f, err := files[0].Open()
		if err != nil {
			return BatchRequest{}, fmt.Errorf("open lockfile: %w", err)
		}
		defer f.Close()
		if req.Lockfile, err = io.ReadAll(f); err != nil {
			return BatchRequest{}, fmt.Errorf("read lockfile: %w", err)
		}
		req.LockfileName = path.Base(strings.ReplaceAll(files[0].Filename, `\`, "/"))
		req.Webhook = formValue(form.Value, "webhook")
		if req.Force, err = formBool(form.Value, "force"); err != nil {
			return BatchRequest{}, err
		}
	default:
		return BatchRequest{}, badRequest("content type must be application/json or multipart/form-data")
	}
	n := 0
	for _, set := range []bool{req.Lockfile != nil, req.Specs != nil, req.Rejudge != nil, req.Rerun != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return BatchRequest{}, badRequest("a batch needs exactly one of lockfile, specs, rejudge, rerun")
	}
	if req.Lockfile != nil && req.LockfileName == "" {
		return BatchRequest{}, badRequest("lockfile_name is required with lockfile (package-lock.json, npm-shrinkwrap.json or requirements.txt)")
	}
	if req.Specs != nil && (len(req.Specs) == 0 || len(req.Specs) > maxSpecs) {
		return BatchRequest{}, badRequest("specs must hold 1 to %d specs", maxSpecs)
	}
	for _, sp := range req.Specs {
		if !strings.HasPrefix(sp, "npm:") && !strings.HasPrefix(sp, "pypi:") {
			return BatchRequest{}, badRequest("spec %q must be npm:NAME@VERSION or pypi:NAME==VERSION", sp)
		}
	}
	for _, q := range []*store.Query{req.Rejudge, req.Rerun} {
		if q != nil && (q.Cursor != "" || q.Limit != 0) {
			return BatchRequest{}, badRequest("a batch selection takes filters only, no limit or cursor")
		}
	}
	return req, checkWebhook(req.Webhook)
}

func (s *server) getBatch(w http.ResponseWriter, r *http.Request) {
	if err := noParams(r); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeBatch(w, r, r.PathValue("id"), http.StatusOK)
}

func (s *server) cancelBatch(w http.ResponseWriter, r *http.Request) {
	if err := noParams(r); err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if err := s.Scheduler.CancelBatch(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeBatch(w, r, id, http.StatusOK)
}

func (s *server) writeBatch(w http.ResponseWriter, r *http.Request, id string, status int) {
	b, err := s.batchView(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, status, b)
}

// readMultipart parses a multipart body of at most limit bytes (plus room
// for the form's own framing) holding only the allowed fields, each once.
// Files over 8 MiB spill to temporary files; the caller RemoveAll()s.
func (s *server) readMultipart(w http.ResponseWriter, r *http.Request, limit int64, allowed ...string) (*multipart.Form, error) {
	r.Body = http.MaxBytesReader(w, r.Body, limit+64<<10)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, fmt.Errorf("upload over %d bytes: %w", limit, maxErr)
		}
		return nil, badRequest("multipart body: %v", err)
	}
	form := r.MultipartForm
	check := func(k string, n int) error {
		for _, a := range allowed {
			if k == a {
				if n != 1 {
					return badRequest("multipart field %q given %d times", k, n)
				}
				return nil
			}
		}
		return badRequest("unknown multipart field %q", k)
	}
	for k, v := range form.Value {
		if err := check(k, len(v)); err != nil {
			form.RemoveAll()
			return nil, err
		}
	}
	for k, v := range form.File {
		if err := check(k, len(v)); err != nil {
			form.RemoveAll()
			return nil, err
		}
		for _, fh := range v {
			if fh.Size > limit {
				form.RemoveAll()
				return nil, fmt.Errorf("file %s over %d bytes: %w", k, limit, &http.MaxBytesError{Limit: limit})
			}
		}
	}
	return form, nil
}
