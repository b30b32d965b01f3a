package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fumehood/fumehood/api/ui"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/store"
)

// Firewall is what the API asks of the registry firewall (package proxy):
// its admins' overrides, checked before they are stored (a bad one wraps
// ErrInvalid), and its audit log. proxy.Admin is one.
type Firewall interface {
	AddOverride(ctx context.Context, o *store.Override) error
	Overrides(ctx context.Context, ecosystem, name string) ([]store.Override, error)
	DeleteOverride(ctx context.Context, id string) error
	Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error)
}

// OverrideRequest is the JSON body of POST /v1/policy.
type OverrideRequest struct {
	Ecosystem string `json:"ecosystem,omitempty"` // default npm
	Name      string `json:"name"`
	Versions  string `json:"versions,omitempty"` // a version or semver range; none: every version
	Action    string `json:"action"`             // allow or deny
	Reason    string `json:"reason"`
}

// PolicyResponse answers GET /v1/policy.
type PolicyResponse struct {
	Overrides []store.Override `json:"overrides"`
}

// params reads a query string of the allowed parameters.
func params(r *http.Request, allowed ...string) (url.Values, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("query string: %v", err)
	}
	return v, checkParams(v, allowed...)
}

// AuditResponse answers GET /v1/audit.
type AuditResponse struct {
	Entries []store.AuditEntry `json:"entries"`
}

// addOverride stores an admin's override; who set it is the token's name.
func (s *server) addOverride(w http.ResponseWriter, r *http.Request) {
	var req OverrideRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Ecosystem == "" {
		req.Ecosystem = "npm"
	}
	who := tokenOf(r.Context()).Name
	if who == "" {
		who = "an unnamed admin token"
	}
	o := &store.Override{Ecosystem: req.Ecosystem, Name: req.Name, Versions: req.Versions, Action: req.Action,
		Reason: req.Reason, Who: who}
	if err := s.Firewall.AddOverride(r.Context(), o); err != nil {
		s.fail(w, r, err)
		return
	}
	s.Logger.InfoContext(r.Context(), "firewall override", "id", o.ID, "name", o.Name, "versions", o.Versions, "action", o.Action, "who", o.Who)
	writeJSON(w, http.StatusCreated, o)
}

func (s *server) listOverrides(w http.ResponseWriter, r *http.Request) {
	v, err := params(r, "ecosystem", "name")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	eco := v.Get("ecosystem")
	if eco == "" {
		eco = "npm"
	}
	os, err := s.Firewall.Overrides(r.Context(), eco, v.Get("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if os == nil {
		os = []store.Override{}
	}
	writeJSON(w, http.StatusOK, PolicyResponse{Overrides: os})
}

func (s *server) deleteOverride(w http.ResponseWriter, r *http.Request) {
	if err := noParams(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Firewall.DeleteOverride(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// audit answers the firewall's audit log, newest first: filters
// ecosystem, name, state (admitted, held, blocked), since (RFC 3339, a
// date or a duration back from now) and limit.
func (s *server) audit(w http.ResponseWriter, r *http.Request) {
	v, err := params(r, auditParams...)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := auditQuery(v, time.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	es, err := s.Firewall.Audit(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if es == nil {
		es = []store.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, AuditResponse{Entries: es})
}

// auditParams are the filters of the audit log, in the API and the
// firewall page.
var auditParams = []string{"ecosystem", "name", "state", "since", "limit"}

// auditQuery reads the audit log's filters from v; a bad one is a 400.
func auditQuery(v url.Values, now time.Time) (store.AuditQuery, error) {
	q := store.AuditQuery{Ecosystem: v.Get("ecosystem"), Name: v.Get("name"), State: v.Get("state")}
	switch q.State {
	case "", "admitted", "held", "blocked":
	default:
		return q, badRequest("state must be admitted, held or blocked")
	}
	var err error
	if since := v.Get("since"); since != "" {
		if q.Since, err = ParseSince(since, now); err != nil {
			return q, err
		}
	}
	if l := v.Get("limit"); l != "" {
		if q.Limit, err = strconv.Atoi(l); err != nil || q.Limit < 1 || q.Limit > maxLimit {
			return q, badRequest("limit must be an integer from 1 to %d", maxLimit)
		}
	}
	return q, nil
}

// firewallPageData is the data of /firewall.
type firewallPageData struct {
	Filters   url.Values
	Overrides []store.Override
	Audit     []store.AuditEntry
}

// firewallPage shows the firewall's overrides and its audit log (the
// audit's filters apply to both where they make sense: ecosystem, name).
func (s *server) firewallPage(w http.ResponseWriter, r *http.Request, p ui.Page) {
	v, err := params(r, auditParams...)
	if err != nil {
		s.pageFail(w, r, p, err)
		return
	}
	q, err := auditQuery(v, time.Now())
	if err != nil {
		s.pageFail(w, r, p, err)
		return
	}
	d := firewallPageData{Filters: v}
	// Overrides of a name are asked for per ecosystem (a PyPI name in
	// any spelling); without a name the store lists every ecosystem's.
	ecos := []string{""}
	switch {
	case q.Name != "" && q.Ecosystem != "":
		ecos = []string{q.Ecosystem}
	case q.Name != "":
		ecos = []string{ecosystem.NPM, ecosystem.PyPI}
	}
	for _, eco := range ecos {
		os, err := s.Firewall.Overrides(r.Context(), eco, q.Name)
		if err != nil {
			s.pageFail(w, r, p, err)
			return
		}
		for _, o := range os {
			if q.Ecosystem == "" || o.Ecosystem == q.Ecosystem {
				d.Overrides = append(d.Overrides, o)
			}
		}
	}
	if d.Audit, err = s.Firewall.Audit(r.Context(), q); err != nil {
		s.pageFail(w, r, p, err)
		return
	}
	p.Title = "Registry firewall"
	p.Data = d
	s.render(w, r, http.StatusOK, "firewall", p)
}
