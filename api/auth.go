package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/fumehood/fumehood/store"
)

// tokenPrefix marks fumehood tokens so that secret scanners can find them.
const tokenPrefix = "fh_"

// NewToken returns a fresh random token (256 bits) and the hash to store
// for it with store.CreateToken.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the hash under which a token is stored: its sha256. The
// store is searched by hash, so the secret itself is never compared.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// rank orders roles; unknown roles rank below read.
func rank(r store.Role) int {
	switch r {
	case store.RoleRead:
		return 1
	case store.RoleSubmit:
		return 2
	case store.RoleAdmin:
		return 3
	}
	return 0
}

// ValidRole reports whether r is a role a token may have.
func ValidRole(r store.Role) bool { return rank(r) > 0 }

// bearer returns the token of an "Authorization: Bearer TOKEN" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// auth lets requests through whose token has at least role need.
func (s *server) auth(need store.Role, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fumehood"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "a bearer token is required")
			return
		}
		t, err := s.Store.Token(r.Context(), HashToken(tok))
		switch {
		case errors.Is(err, store.ErrNotFound):
			w.Header().Set("WWW-Authenticate", `Bearer realm="fumehood", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "unknown token")
			return
		case err != nil:
			s.fail(w, r, err)
			return
		case rank(t.Role) < rank(need):
			writeError(w, http.StatusForbidden, "forbidden", "this needs the "+string(need)+" role")
			return
		}
		h(w, r.WithContext(withToken(r.Context(), t)))
	})
}

type tokenKey struct{}

func withToken(ctx context.Context, t store.Token) context.Context {
	return context.WithValue(ctx, tokenKey{}, t)
}

// tokenOf is the token auth found for the request.
func tokenOf(ctx context.Context) store.Token {
	t, _ := ctx.Value(tokenKey{}).(store.Token)
	return t
}
