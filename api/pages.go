package api

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/api/ui"
	"github.com/fumehood/fumehood/report"
	"github.com/fumehood/fumehood/store"
	"github.com/fumehood/fumehood/trace"
)

// The analyst pages: server-rendered HTML on the API's listener, each
// built from the query its JSON endpoint runs (model.go).
func (s *server) pageRoutes() {
	m := s.mux
	m.Handle("GET "+ui.StaticPrefix, ui.Static())
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/analyses", http.StatusSeeOther)
	})
	m.HandleFunc("GET /signin", s.signinForm)
	m.HandleFunc("POST /signin", s.signin)
	m.HandleFunc("POST /signout", s.signout)
	m.Handle("GET /analyses", s.page(store.RoleRead, s.listPage))
	m.Handle("GET /analyses/{id}", s.page(store.RoleRead, s.analysisPage))
	m.Handle("GET /analyses/{id}/trace", s.page(store.RoleRead, s.tracePageHTML))
	m.Handle("GET /packages/{eco}/{name...}", s.page(store.RoleRead, s.packagePage))
	m.Handle("GET /batches/{id}", s.page(store.RoleRead, s.batchPage))
	m.Handle("GET /diff", s.page(store.RoleRead, s.diffPage))
}

type pageHandler func(w http.ResponseWriter, r *http.Request, p ui.Page)

// page lets requests through that carry a token (Authorization: Bearer)
// or a session cookie of a token with at least role need. A browser
// without a session is sent to sign in and then back.
func (s *server) page(need store.Role, h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var (
			p   ui.Page
			t   store.Token
			err error
		)
		if tok, ok := bearer(r); ok {
			t, err = s.Store.Token(r.Context(), HashToken(tok))
			if errors.Is(err, store.ErrNotFound) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="fumehood", error="invalid_token"`)
				s.renderError(w, r, p, http.StatusUnauthorized, "unknown token")
				return
			}
		} else {
			p.Session = true
			t, err = s.sessionToken(r.Context(), r)
			if errors.Is(err, store.ErrNotFound) {
				if _, cerr := r.Cookie(sessionCookie); cerr == nil {
					clearSession(w, r) // expired, forged or of a revoked token
				}
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
		}
		if err != nil {
			s.pageFail(w, r, p, err)
			return
		}
		p.Role = string(t.Role)
		p.Firewall = s.Firewall != nil
		if rank(t.Role) < rank(need) {
			s.renderError(w, r, p, http.StatusForbidden, "this page needs the "+string(need)+" role")
			return
		}
		h(w, r.WithContext(withToken(r.Context(), t)), p)
	})
}

// render shows a page, or a 500 when it does not render.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, p ui.Page) {
	if err := s.pages.Render(w, status, name, p); err != nil {
		s.Logger.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "request_id", w.Header().Get("X-Request-Id"), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// errorPage is the data of the error page.
type errorPage struct {
	Status  int
	Message string
}

func (s *server) renderError(w http.ResponseWriter, r *http.Request, p ui.Page, status int, msg string) {
	p.Title = http.StatusText(status)
	p.Data = errorPage{Status: status, Message: msg}
	s.render(w, r, status, "error", p)
}

// pageFail answers err as an error page, classified as the JSON API does.
func (s *server) pageFail(w http.ResponseWriter, r *http.Request, p ui.Page, err error) {
	status, _, msg := s.classify(w, r, err)
	s.renderError(w, r, p, status, msg)
}

// signinPage is the data of the sign-in form.
type signinPage struct {
	Next    string
	Problem string
}

// safeNext returns next when it is a path of this server, else /analyses:
// signing in never sends the browser elsewhere.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/analyses"
	}
	return next
}

func (s *server) signinForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signin", ui.Page{Title: "Sign in",
		Data: signinPage{Next: safeNext(r.URL.Query().Get("next"))}})
}

// sameOrigin reports whether a form post comes from this server's own
// pages (a sign-in forced by another site would sign the browser in with
// the attacker's token).
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	return true
}

func (s *server) signin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		s.renderError(w, r, ui.Page{}, http.StatusForbidden, "sign-in form posted from another site")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, ui.Page{}, http.StatusBadRequest, "unreadable form")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	_, err := s.Store.Token(r.Context(), HashToken(tok))
	if tok == "" || errors.Is(err, store.ErrNotFound) {
		s.render(w, r, http.StatusUnauthorized, "signin", ui.Page{Title: "Sign in",
			Data: signinPage{Next: next, Problem: "unknown token"}})
		return
	}
	if err == nil {
		err = s.setSession(r.Context(), w, r, HashToken(tok))
	}
	if err != nil {
		s.pageFail(w, r, ui.Page{}, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *server) signout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		s.renderError(w, r, ui.Page{}, http.StatusForbidden, "sign-out form posted from another site")
		return
	}
	clearSession(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// listPageData is the data of /analyses: the filters as given and the
// list endpoint's answer.
type listPageData struct {
	Filters  url.Values
	List     ListResponse
	Verdicts []analysis.Verdict
	Statuses []store.Status
}

func (s *server) listPage(w http.ResponseWriter, r *http.Request, p ui.Page) {
	list, err := s.listAnalyses(r.Context(), r.URL.RawQuery, "/analyses")
	if err != nil {
		s.pageFail(w, r, p, err)
		return
	}
	p.Title = "Analyses"
	p.Data = listPageData{Filters: r.URL.Query(), List: list,
		Verdicts: []analysis.Verdict{analysis.Malicious, analysis.Suspicious, analysis.Benign},
		Statuses: []store.Status{store.Queued, store.Running, store.Done, store.Failed}}
	s.render(w, r, http.StatusOK, "analyses", p)
}

// analysisPageData is the data of /analyses/{id}.
type analysisPageData struct {
	Record *store.Record
	Hits   []hitView
	// Report is nil while the analysis has no trace; Network and Files
	// list its processes' network use and files, all in one place.
	Report  *report.Report
	Network []netRow
	Files   []fileRow
	// Changes is how it differs from the previous analysed version.
	Changes *analysis.Changes
}

// netRow is a network item with its process (nil: no known sender).
type netRow struct {
	Phase string
	Proc  *report.Process
	Net   report.Net
}

// fileRow is a file a process wrote.
type fileRow struct {
	Proc *report.Process
	File *report.File
}

// flatten lists the network items and files of every process of rep, in
// trace order.
func flatten(rep *report.Report) ([]netRow, []fileRow) {
	var nets []netRow
	var files []fileRow
	for _, ph := range rep.Phases {
		var visit func(ps []*report.Process)
		visit = func(ps []*report.Process) {
			for _, p := range ps {
				for _, n := range p.Network {
					nets = append(nets, netRow{Phase: ph.Name, Proc: p, Net: n})
				}
				for _, f := range p.Files {
					files = append(files, fileRow{Proc: p, File: f})
				}
				visit(p.Children)
			}
		}
		visit(ph.Roots)
		for _, n := range ph.Unattributed {
			nets = append(nets, netRow{Phase: ph.Name, Net: n})
		}
	}
	slices.SortStableFunc(nets, func(a, b netRow) int { return cmp.Compare(a.Net.Seq, b.Net.Seq) })
	slices.SortStableFunc(files, func(a, b fileRow) int { return cmp.Compare(a.File.FirstSeq, b.File.FirstSeq) })
	return nets, files
}

// hitView is a hit with each evidence line beside the event it cites.
type hitView struct {
	analysis.Hit
	Lines []evidence
}

type evidence struct {
	Text string
	Seq  uint64 // 0 when the line names no event
}

func hitViews(hits []analysis.Hit) []hitView {
	out := make([]hitView, 0, len(hits))
	for _, h := range hits {
		v := hitView{Hit: h}
		for i, line := range h.Evidence {
			ev := evidence{Text: line}
			if len(h.Events) == len(h.Evidence) {
				ev.Seq = h.Events[i]
				// The line starts with its event number, which the link shows.
				ev.Text = strings.TrimPrefix(line, "#"+strconv.FormatUint(ev.Seq, 10)+" ")
			}
			v.Lines = append(v.Lines, ev)
		}
		if len(h.Events) != len(h.Evidence) {
			for _, seq := range h.Events {
				v.Lines = append(v.Lines, evidence{Text: "event #" + strconv.FormatUint(seq, 10), Seq: seq})
			}
		}
		out = append(out, v)
	}
	return out
}

func (s *server) analysisPage(w http.ResponseWriter, r *http.Request, p ui.Page) {
	if err := noParams(r); err != nil {
		s.pageFail(w, r, p, err)
		return
	}
	id := r.PathValue("id")
	doc, err := s.analysisDocument(r.Context(), id)
	if err != nil {
		s.pageFail(w, r, p, err)
		return
	}
	rec := doc.Record
	d := analysisPageData{Record: rec, Hits: hitViews(rec.Hits), Changes: doc.ChangesFromPrevious}
	if rec.TraceDigest != "" {
		if rec, d.Report, err = s.analysisReport(r.Context(), id); err != nil {
			s.pageFail(w, r, p, err)
			return
		}
		d.Record = rec
		d.Network, d.Files = flatten(d.Report)
	}
	p.Title = rec.Package.Name + " " + rec.Package.Version
	p.Data = d
	s.render(w, r, http.StatusOK, "analysis", p)
}

// tracePageData is the data of /analyses/{id}/trace.
type tracePageData struct {
	Record  *store.Record
	Events  []trace.Event
	Filters url.Values
	NextURL string
	Kinds   []trace.Kind
}

func (s *server) tracePageHTML(w http.ResponseWriter, r *http.Request, p ui.Page) {
	id := r.PathValue("id")
	rec, err := s.Store.Get(r.Context(), id)
	if err != nil {
		s.pageFail(w, r, p, err)
		return
	}
	page, q, err := s.tracePage(r.Context(), id, r.URL.RawQuery)
	if err != nil {
		s.pageFail(w, r, p, err)
		return
	}
	d := tracePageData{Record: rec, Events: page.Events, Filters: q.values(), Kinds: trace.Kinds()}
	if page.Next != "" {
		v := q.values()
		v.Set("cursor", page.Next)
		d.NextURL = "/analyses/" + url.PathEscape(id) + "/trace?" + v.Encode()
	}
	p.Title = "Trace of " + rec.Package.Name + " " + rec.Package.Version
	p.Data = d
	s.render(w, r, http.StatusOK, "trace", p)
}

func (s *server) packagePage(w http.ResponseWriter, r *http.Request, p ui.Page) {
	if err := noParams(r); err != nil {
		s.pageFail(w, r, p, err)
		return
	}
	pkg, err := s.packageHistory(r.Context(), r.PathValue("eco"), r.PathValue("name"))
	if err != nil {
		s.pageFail(w, r, p, err)
		return
	}
	p.Title = pkg.Ecosystem + ":" + pkg.Name
	p.Data = pkg
	s.render(w, r, http.StatusOK, "package", p)
}

func (s *server) batchPage(w http.ResponseWriter, r *http.Request, p ui.Page) {
	if err := noParams(r); err != nil {
		s.pageFail(w, r, p, err)
		return
	}
	b, err := s.batchView(r.Context(), r.PathValue("id"))
	if err != nil {
		s.pageFail(w, r, p, err)
		return
	}
	p.Title = "Batch " + b.ID
	p.Data = b
	s.render(w, r, http.StatusOK, "batch", p)
}

// diffPageData is the data of /diff.
type diffPageData struct {
	From, To *store.Record
	Changes  analysis.Changes
}

func (s *server) diffPage(w http.ResponseWriter, r *http.Request, p ui.Page) {
	from, to, err := s.diffQuery(r.Context(), r.URL.RawQuery)
	if err != nil {
		s.pageFail(w, r, p, err)
		return
	}
	d := diffPageData{}
	if d.Changes, err = s.diff(r.Context(), from, to); err == nil {
		if d.From, err = s.Store.Get(r.Context(), from); err == nil {
			d.To, err = s.Store.Get(r.Context(), to)
		}
	}
	if err != nil {
		s.pageFail(w, r, p, err)
		return
	}
	p.Title = "Diff"
	p.Data = d
	s.render(w, r, http.StatusOK, "diff", p)
}
