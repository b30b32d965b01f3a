package multihost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// api is the farm's HTTP API as the run's clients use it, with an admin
// token.
type api struct {
	tb    testing.TB
	url   string // http://127.0.0.1:PORT
	token string
	http  *http.Client
}

// call sends a request and decodes a 2xx JSON answer into out (when not
// nil); it returns the status code, or an error when no answer came. A
// store or Redis restarting makes a call fail for a moment, so callers
// that poll retry.
func (a *api) call(method, path string, body io.Reader, contentType string, out any) (int, error) {
	req, err := http.NewRequest(method, a.url+path, body)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w in %s", method, path, err, b)
		}
	}
	return resp.StatusCode, nil
}

// must is call that fails tb unless the answer is want.
func (a *api) must(want int, method, path string, body io.Reader, contentType string, out any) {
	a.tb.Helper()
	if code, err := a.call(method, path, body, contentType, out); err != nil || code != want {
		a.tb.Fatalf("%s %s: status %d, want %d: %v", method, path, code, want, err)
	}
}

// upload submits an npm tarball by multipart upload and returns the
// analysis id.
func (a *api) upload(file string, tgz []byte) string {
	a.tb.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("ecosystem", "npm")
	w, err := mw.CreateFormFile("artifact", file)
	if err != nil {
		a.tb.Fatal(err)
	}
	w.Write(tgz)
	mw.Close()
	var s struct{ ID string }
	a.must(http.StatusAccepted, http.MethodPost, "/v1/analyses", &body, mw.FormDataContentType(), &s)
	return s.ID
}

// submit submits a registry spec and returns the analysis id.
func (a *api) submit(spec string) string {
	a.tb.Helper()
	b, _ := json.Marshal(map[string]string{"spec": spec})
	var s struct{ ID string }
	a.must(http.StatusAccepted, http.MethodPost, "/v1/analyses", bytes.NewReader(b), "application/json", &s)
	return s.ID
}

// batch is a batch as GET /v1/batches/{id} shows it.
type batch struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	Created  time.Time `json:"created"`
	Progress struct {
		Total, Done, Failed, Pending, Cancelled int
	} `json:"progress"`
}

// submitBatch POSTs a batch request (a JSON object) and returns the batch.
func (a *api) submitBatch(req map[string]any) batch {
	a.tb.Helper()
	b, _ := json.Marshal(req)
	var out batch
	a.must(http.StatusAccepted, http.MethodPost, "/v1/batches", bytes.NewReader(b), "application/json", &out)
	return out
}

// record is what the run checks of an analysis.
type record struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Error   string `json:"error"`
	Package struct {
		Name, Version string
	} `json:"package"`
	Verdict  string    `json:"verdict"`
	Attempts int       `json:"attempts"`
	Updated  time.Time `json:"updated"`
}

// list returns every analysis the farm holds, following the cursor.
func (a *api) list() ([]record, error) {
	var all []record
	q := url.Values{"limit": {"1000"}}
	for {
		var page struct {
			Analyses []record `json:"analyses"`
			Next     string   `json:"next"`
		}
		if _, err := a.call(http.MethodGet, "/v1/analyses?"+q.Encode(), nil, "", &page); err != nil {
			return nil, err
		}
		all = append(all, page.Analyses...)
		if page.Next == "" {
			return all, nil
		}
		q.Set("cursor", page.Next)
	}
}

// traceEvents reads every page of an analysis's trace and returns the
// number of events.
func (a *api) traceEvents(id string) (int, error) {
	n := 0
	q := url.Values{}
	for pages := 0; ; pages++ {
		var page struct {
			Events []json.RawMessage `json:"events"`
			Next   *string           `json:"next"`
		}
		if _, err := a.call(http.MethodGet, "/v1/analyses/"+id+"/trace?"+q.Encode(), nil, "", &page); err != nil {
			return n, err
		}
		if page.Next == nil {
			return n, fmt.Errorf("trace of %s: a page without a next field", id)
		}
		n += len(page.Events)
		if *page.Next == "" {
			return n, nil
		}
		if len(page.Events) == 0 || pages > 10000 {
			return n, fmt.Errorf("trace of %s: page %d empty or past 10,000 pages with a next cursor", id, pages)
		}
		q.Set("cursor", *page.Next)
	}
}
