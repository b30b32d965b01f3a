package rules

import (
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/fumehood/fumehood/trace"
)

// A token used for the service that issued it is not theft: a tool that
// sends the GITHUB_TOKEN it finds in the environment, in the Authorization
// header of a GET, to the GitHub API (to avoid rate limits) uses it as
// intended. Which host issued which token is rule data (the list the
// caller passes, "ENV_NAME host" items) or, for a token of the registry the
// sandbox is configured with, the plant's own record; nothing here
// contacts a host.

// readMethods are the HTTP methods that change nothing at the server.
var readMethods = map[string]bool{"GET": true, "HEAD": true}

// ownServiceUse returns "uses NAME against HOST, METHOD" when e is a
// read-only HTTP request to HOST whose one Authorization header carries,
// whole and in the standard form (Bearer, token, or Basic with the token
// as user or password), a value planted only as the environment variable
// NAME, HOST issued it (the plant names HOST, as the sandbox does for a
// token of its configured registry, or issuers pairs NAME with HOST), no other part of the request
// carries a planted value, and the request went where HOST resolves: one
// of named, the addresses the sinkhole answers every name with, not an
// address the package chose (a custom lookup or a proxy that carries the
// issuer's name in the Host header and SNI to another machine); else "". A token read from a
// file (planted there too), encoded, sent elsewhere or in a write stays
// theft.
func (t *tokens) ownServiceUse(e *trace.Event, issuers, named []any) string {
	if e == nil || e.Kind != trace.KindHTTP || !readMethods[strings.ToUpper(e.Method)] || !t.active() || !slices.Contains(named, any(e.Addr)) {
		return ""
	}
	auth, rest, ok := splitAuth(e.Headers)
	if !ok {
		return ""
	}
	env, issuer := t.envName(authCredential(auth))
	host := strings.ToLower(hostOnly(e.Name))
	if env == "" || host != issuer && !pairs(issuers, env, host) {
		return ""
	}
	if t.find(e.Name, e.URI, strings.Join(rest, "\n"), string(e.Data)) != "" {
		return ""
	}
	return fmt.Sprintf("uses %s against %s, %s", env, host, strings.ToUpper(e.Method))
}

// splitAuth returns the value of the one Authorization header of headers
// and the other headers; ok is false when there is none or more than one.
func splitAuth(headers []string) (auth string, rest []string, ok bool) {
	n := 0
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		if strings.EqualFold(strings.TrimSpace(k), "authorization") {
			auth, n = strings.TrimSpace(v), n+1
			continue
		}
		rest = append(rest, h)
	}
	return auth, rest, n == 1
}

// authCredential returns the credential of an Authorization value in a
// standard scheme: the token of "Bearer T" or "token T", the password
// (or, when that is empty, the user) of "Basic base64(user:password)";
// else "".
func authCredential(v string) string {
	scheme, cred, _ := strings.Cut(v, " ")
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "bearer", "token":
		return cred
	case "basic":
		b, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return ""
		}
		user, pass, _ := strings.Cut(string(b), ":")
		if pass == "" {
			return user
		}
		return pass
	}
	return ""
}

// envName returns NAME when v is planted, and planted only as the
// environment variable NAME, with the host its plant names as its issuer
// (lowercase, "" if none); else "", "".
func (t *tokens) envName(v string) (name, issuer string) {
	for i, val := range t.values {
		if val != v {
			continue
		}
		env, ok := strings.CutPrefix(t.wheres[i], trace.PlantEnv)
		if !ok || name != "" && name != env {
			return "", ""
		}
		name, issuer = env, t.issuer[i]
	}
	return name, issuer
}

// carriesWhole reports whether an Authorization value carries a planted
// value whole in a standard scheme.
func (t *tokens) carriesWhole(auth string) bool {
	c := authCredential(auth)
	for _, v := range t.values {
		if c == v {
			return true
		}
	}
	return false
}

// pairs reports whether issuers holds the item "name host".
func pairs(issuers []any, name, host string) bool {
	want := name + " " + host
	for _, it := range issuers {
		if s, ok := it.(string); ok && strings.EqualFold(strings.Join(strings.Fields(s), " "), want) {
			return true
		}
	}
	return false
}

// hostOnly strips the port of an HTTP Host value.
func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}
