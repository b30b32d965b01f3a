package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"time"

	"github.com/fumehood/fumehood/store"
)

// Browser sessions. A browser signs in once with a token (POST /signin)
// and gets a cookie that names the token by its hash, with an expiry,
// signed with a key the store keeps (store.Store.Secret): any serve
// process of the farm accepts it, also after a restart. Every request
// checks the token again, so revoking a token ends its sessions. The
// token itself never reaches the cookie.
//
//	base64url( version:1 | expires:8 | sha256(token):32 | hmac:16 )
const (
	sessionCookie  = "fumehood_session"
	sessionKeyName = "session-key"
	sessionVersion = 1
	sessionMACLen  = 16
	sessionLen     = 1 + 8 + sha256.Size + sessionMACLen
	// SessionLifetime is how long a browser session lasts.
	SessionLifetime = 12 * time.Hour
)

var errSession = errors.New("invalid session")

// newSession returns the cookie value of a session for the token with
// hash, expiring at exp.
func newSession(key, hash []byte, exp time.Time) string {
	b := make([]byte, 0, sessionLen)
	b = append(b, sessionVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(exp.Unix()))
	b = append(b, hash...)
	b = append(b, sessionMAC(key, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// openSession returns the token hash of a session cookie value that is
// well-formed, signed with key and not expired at now.
func openSession(key []byte, v string, now time.Time) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil || len(b) != sessionLen || b[0] != sessionVersion {
		return nil, errSession
	}
	body, mac := b[:sessionLen-sessionMACLen], b[sessionLen-sessionMACLen:]
	if !hmac.Equal(mac, sessionMAC(key, body)) {
		return nil, errSession
	}
	if exp := int64(binary.BigEndian.Uint64(body[1:9])); now.Unix() >= exp {
		return nil, errSession
	}
	return body[9:], nil
}

func sessionMAC(key, b []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("session\x00"))
	m.Write(b)
	return m.Sum(nil)[:sessionMACLen]
}

// setSession signs the browser in with the token of hash.
func (s *server) setSession(ctx context.Context, w http.ResponseWriter, r *http.Request, hash []byte) error {
	key, err := s.key(ctx, sessionKeyName)
	if err != nil {
		return err
	}
	exp := time.Now().Add(SessionLifetime)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: newSession(key, hash, exp), Path: "/", Expires: exp,
		MaxAge: int(SessionLifetime / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	return nil
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// sessionToken returns the token the request's session cookie
// names; store.ErrNotFound when there is no valid session.
func (s *server) sessionToken(ctx context.Context, r *http.Request) (store.Token, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return store.Token{}, store.ErrNotFound
	}
	key, err := s.key(ctx, sessionKeyName)
	if err != nil {
		return store.Token{}, err
	}
	hash, err := openSession(key, c.Value, time.Now())
	if err != nil {
		return store.Token{}, store.ErrNotFound
	}
	return s.Store.Token(ctx, hash)
}
